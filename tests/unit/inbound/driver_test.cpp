// The ServerDriver and the DatagramRelay without a network between client
// and server: the client connection is an in-memory Transport handed to
// ServerDriver::accept, the outbound a fake Session whose opens the test
// completes, the flows fake DatagramFlows. Time is virtual (net::ManualClock):
// deadlines and idle timeouts fire when the test advances the clock. Only
// the fallback server is a real TCP listener on 127.0.0.1 (the driver dials
// it); the loop is run for it.
#include <uv.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "inbound/server_driver.hpp"
#include "net/clock.hpp"
#include "net/tcp_listener.hpp"
#include "net/tcp_transport.hpp"
#include "proto/http_connect/proxy_core.hpp"
#include "proto/socks5/server_core.hpp"
#include "proto/trojan/server.hpp"
#include "sluice/log.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

// defer calls |cb(user)| from the loop soon (a zero timer), as an
// asynchronous close must.
void defer(Engine& e, CloseCallback cb, void* user) {
  struct D {
    uv_timer_t t;
    CloseCallback cb;
    void* user;
  };
  auto* d = new D{{}, cb, user};
  uv_timer_init(e.loop(), &d->t);
  d->t.data = d;
  uv_timer_start(
      &d->t,
      [](uv_timer_t* t) {
        auto* d = static_cast<D*>(t->data);
        if (d->cb) d->cb(d->user);
        uv_close(reinterpret_cast<uv_handle_t*>(&d->t),
                 [](uv_handle_t* h) { delete static_cast<D*>(h->data); });
      },
      0, 0);
}

std::string text_of(const Chain& c) {
  std::string s(c.size(), '\0');
  c.copy_out(s.data(), s.size());
  return s;
}

// Record outlives its MemTransport: what the test observes.
struct Record {
  std::string written;
  bool reading = false;
  bool shut = false;
  bool closed = false;
  size_t buffered = 0;  // what write_buffered() reports
  // fail_writes: write() fails at once and reports on_error from inside,
  // as TcpTransport does for a peer that is gone (EPIPE).
  bool fail_writes = false;
  TransportHandler* handler = nullptr;
};

class MemTransport final : public Transport {
 public:
  MemTransport(Engine& e, std::shared_ptr<Record> r) : e_(e), r_(std::move(r)) {}
  void set_handler(TransportHandler* h) noexcept override { r_->handler = h; }
  Status write(Chain&& data) noexcept override {
    if (r_->closed || r_->shut) return Errc::closed;
    if (r_->fail_writes) {
      if (r_->handler) r_->handler->on_error(Errc::connection_reset);
      return Errc::connection_reset;
    }
    r_->written += text_of(data);
    data.clear();
    return {};
  }
  using Transport::write;
  size_t write_buffered() const noexcept override { return r_->buffered; }
  void set_write_watermarks(size_t, size_t) noexcept override {}
  void read_start() noexcept override { r_->reading = true; }
  void read_stop() noexcept override { r_->reading = false; }
  Status unread(Chain&&) noexcept override { return Errc::not_supported; }
  Status shutdown() noexcept override {
    r_->shut = true;
    return {};
  }
  void close(CloseCallback cb, void* user) noexcept override {
    r_->closed = true;
    r_->handler = nullptr;
    defer(e_, cb, user);
  }
  const char* failure_reason() const noexcept override { return ""; }
  TransportStats stats() const noexcept override { return {}; }

 private:
  Engine& e_;
  std::shared_ptr<Record> r_;
};

// give delivers |s| to whoever reads the transport of |r| now.
void give(Engine& e, Record& r, std::string_view s) {
  REQUIRE(r.handler != nullptr);
  auto b = e.pool().copy_from(s.data(), s.size());
  REQUIRE(b);
  r.handler->on_data(std::move(*b));
}

struct FlowRecord {
  std::vector<std::pair<std::string, std::string>> sent;  // "host:port", payload
  DatagramHandler* handler = nullptr;
  bool closed = false;
};

class FakeFlow final : public DatagramFlow {
 public:
  FakeFlow(Engine& e, std::shared_ptr<FlowRecord> r) : e_(e), r_(std::move(r)) {}
  Status send(const Endpoint& to, Slice&& payload) noexcept override {
    r_->sent.emplace_back(
        to.host + ":" + std::to_string(to.port),
        std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
    return {};
  }
  void close(CloseCallback cb, void* user) noexcept override {
    r_->closed = true;
    defer(e_, cb, user);
  }
  DatagramFlowStats stats() const noexcept override { return {}; }

 private:
  Engine& e_;
  std::shared_ptr<FlowRecord> r_;
};

class FakeSession final : public Session {
 public:
  explicit FakeSession(Engine& e) : Session(e, "fake") {}
  const char* type() const noexcept override { return "fake"; }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override {
    pending = h;
    target = std::string(host) + ":" + std::to_string(port);
  }
  void cancel_open(OpenHandler* h) noexcept override {
    if (pending == h) pending = nullptr;
    cancels++;
  }
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override {
    flow->handler = h;
    return std::unique_ptr<DatagramFlow>(new FakeFlow(engine(), flow));
  }
  void engine_close() noexcept override { detach_from_engine(); }

  // complete answers the pending open with a new MemTransport (recorded in
  // |rec|) or |err|.
  void complete(std::shared_ptr<Record> rec, Errc err = Errc::ok) {
    REQUIRE(pending != nullptr);
    OpenHandler* h = pending;
    pending = nullptr;
    if (err != Errc::ok) {
      h->on_open(err, "refused by the test");
      return;
    }
    h->on_open(std::unique_ptr<Stream>(new MemTransport(engine(), std::move(rec))), "");
  }

  OpenHandler* pending = nullptr;
  std::string target;
  int cancels = 0;
  std::shared_ptr<FlowRecord> flow = std::make_shared<FlowRecord>();
};

struct Event {
  DriverEvent ev;
  ServerDecision::Kind kind = ServerDecision::need_more;
  RefusalCause cause = RefusalCause::none;
  Errc error = Errc::ok;
  DatagramRelayResult result;
};

class TestDriver final : public ServerDriver {
 public:
  TestDriver(Engine& e, ServerDriverOptions o, Router* r,
             std::function<std::unique_ptr<ServerCore>()> make)
      : ServerDriver(e, std::move(o), r), make_(std::move(make)) {}
  std::vector<Event> events;

  bool saw(DriverEvent ev) const {
    for (const Event& e : events)
      if (e.ev == ev) return true;
    return false;
  }
  const Event* last(DriverEvent ev) const {
    const Event* found = nullptr;
    for (const Event& e : events)
      if (e.ev == ev) found = &e;
    return found;
  }

 private:
  std::unique_ptr<ServerCore> make_core(TlsTransport*) override { return make_(); }
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override {
    Event e{ev};
    if (d) {
      e.kind = d->kind;
      e.cause = d->cause;
      e.error = d->error;
    }
    if (r) e.result = *r;
    events.push_back(e);
  }
  std::function<std::unique_ptr<ServerCore>()> make_;
};

// Rig: an Engine run from this thread, a fake outbound behind a
// FinalRouter, and a driver built with |o| and |make|.
struct Rig {
  net::ManualClock clock;
  std::unique_ptr<Engine> engine = std::move(*net::create_engine(clock));
  std::unique_ptr<FakeSession> session = std::make_unique<FakeSession>(*engine);
  FinalRouter router{session.get()};
  std::unique_ptr<TestDriver> driver;

  Rig(ServerDriverOptions o, std::function<std::unique_ptr<ServerCore>()> make) {
    driver = std::make_unique<TestDriver>(*engine, std::move(o), &router, std::move(make));
  }
  ~Rig() {
    bool closed = false;
    driver->close([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
    CHECK(run_until([&] { return closed; }));
    driver.reset();
    session.reset();
    engine.reset();  // closes what is left (Relays), running the loop
  }

  // accept hands a new in-memory client connection to the driver.
  std::shared_ptr<Record> accept() {
    auto rec = std::make_shared<Record>();
    driver->accept(std::make_unique<MemTransport>(*engine, rec), AcceptInfo{});
    return rec;
  }
  void give(Record& r, std::string_view s) { ::give(*engine, r, s); }

  // advance moves virtual time on, firing due Timers, and runs the loop once.
  void advance(uint64_t ms) {
    clock.advance(ms);
    uv_run(engine->loop(), UV_RUN_NOWAIT);
  }

  // run_until runs the loop (real I/O, deferred closes) until |pred|,
  // without moving virtual time.
  template <typename P>
  bool run_until(P pred, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      uv_run(engine->loop(), UV_RUN_NOWAIT);
      clock.advance(0);  // deferrals (zero-delay Timers) due now; time stands still
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
};

ServerDriverOptions fast_options() {
  ServerDriverOptions o;
  o.tag = "t";
  o.proto = "test";
  o.handshake_timeout_ms = 40;
  return o;
}

trojan::TrojanUsers& users() {
  static trojan::TrojanUsers u = [] {
    trojan::TrojanUsers t;
    t.add("alice", "driver password");
    return t;
  }();
  return u;
}

std::function<std::unique_ptr<ServerCore>()> trojan_core() {
  return [] { return std::make_unique<trojan::ServerCore>(users()); };
}

std::string trojan_request(trojan::Command cmd, const TargetAddress& t,
                           std::string_view password = "driver password") {
  std::string h(trojan::request_size(t), '\0');
  REQUIRE(trojan::encode_request(trojan::hash_password(password), cmd, t,
                                 {reinterpret_cast<uint8_t*>(h.data()), h.size()}));
  return h;
}

std::string trojan_frame(const TargetAddress& t, std::string_view payload) {
  std::string f(trojan::udp_header_size(t), '\0');
  REQUIRE(trojan::encode_udp_header(t, payload.size(),
                                    {reinterpret_cast<uint8_t*>(f.data()), f.size()}));
  return f + std::string(payload);
}

const TargetAddress kDns = TargetAddress::from_ipv4({127, 0, 0, 1}, 53);

// Collector is a real TCP listener (the fallback server) that keeps what
// its one connection sends.
struct Collector final : net::AcceptHandler, TransportHandler {
  std::unique_ptr<net::TcpListener> listener;
  std::unique_ptr<net::TcpTransport> conn;
  std::string got;
  explicit Collector(Engine& e) {
    std::string why;
    auto l = net::TcpListener::create(e, "127.0.0.1", 0, net::ListenOptions{}, this, &why);
    REQUIRE(l);
    listener = std::move(*l);
  }
  void on_accept(std::unique_ptr<net::TcpTransport> t) override {
    conn = std::move(t);
    conn->set_handler(this);
    conn->read_start();
  }
  void on_data(Slice&& d) override {
    got.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void on_eof() override {}
  void on_error(Errc) override {}
  void close(Rig& rig) {
    bool done = false;
    if (conn) {
      conn->set_handler(nullptr);
      close_and_delete(conn.release());
    }
    listener->close([](void* u) { *static_cast<bool*>(u) = true; }, &done);
    REQUIRE(rig.run_until([&] { return done; }));
  }
};

}  // namespace

TEST_CASE("driver: the deadline with nothing received rejects and closes", "[inbound][driver]") {
  Rig rig(fast_options(), trojan_core());
  auto c = rig.accept();
  CHECK(c->reading);
  rig.advance(39);
  CHECK_FALSE(c->closed);
  rig.advance(1);
  CHECK(c->closed);
  const Event* e = rig.driver->last(DriverEvent::refused);
  REQUIRE(e);
  CHECK(e->kind == ServerDecision::reject);
  CHECK(e->cause == RefusalCause::timeout);
  CHECK(rig.session->target.empty());
  CHECK(c->written.empty());
}

TEST_CASE("driver: the deadline after partial bytes hands every byte to the fallback",
          "[inbound][driver]") {
  ServerDriverOptions o = fast_options();
  Rig rig(o, trojan_core());
  Collector fb(*rig.engine);
  // Options are per driver: build a second one with the fallback set.
  o.fallback.server = "127.0.0.1";
  o.fallback.server_port = fb.listener->port();
  o.handshake_timeout_ms = 60;
  TestDriver d(*rig.engine, o, &rig.router, trojan_core());
  auto rec = std::make_shared<Record>();
  d.accept(std::make_unique<MemTransport>(*rig.engine, rec), AcceptInfo{});
  rig.give(*rec, "d14a028c");   // a valid prefix of a password hash: need more
  CHECK(d.events.size() == 1);  // accepted only
  rig.advance(59);
  CHECK(d.events.size() == 1);
  rig.advance(1);
  REQUIRE(rig.run_until([&] { return fb.got == "d14a028c"; }));
  const Event* e = d.last(DriverEvent::refused);
  REQUIRE(e);
  CHECK(e->kind == ServerDecision::fallback);
  CHECK(e->cause == RefusalCause::timeout);
  CHECK(d.saw(DriverEvent::fallback));
  // The connection is relayed to the fallback from now on.
  REQUIRE(rig.run_until([&] { return rec->handler != nullptr && rec->reading; }));
  rig.give(*rec, " and more");
  REQUIRE(rig.run_until([&] { return fb.got == "d14a028c and more"; }));
  bool closed = false;
  d.close([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  REQUIRE(rig.run_until([&] { return closed; }));
  fb.close(rig);
}

TEST_CASE("driver: a stranger's bytes go to the fallback unchanged at once", "[inbound][driver]") {
  ServerDriverOptions o = fast_options();
  o.handshake_timeout_ms = 5000;
  Rig rig(o, trojan_core());
  Collector fb(*rig.engine);
  o.fallback.server = "127.0.0.1";
  o.fallback.server_port = fb.listener->port();
  TestDriver d(*rig.engine, o, &rig.router, trojan_core());
  auto rec = std::make_shared<Record>();
  d.accept(std::make_unique<MemTransport>(*rig.engine, rec), AcceptInfo{});
  const std::string probe = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  rig.give(*rec, probe);
  REQUIRE(rig.run_until([&] { return fb.got == probe; }));
  const Event* e = d.last(DriverEvent::refused);
  REQUIRE(e);
  CHECK(e->cause == RefusalCause::not_protocol);
  bool closed = false;
  d.close([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  REQUIRE(rig.run_until([&] { return closed; }));
  fb.close(rig);
}

TEST_CASE("driver: an open failure is answered (SOCKS5 REP) and closed", "[inbound][driver]") {
  ServerDriverOptions o = fast_options();
  o.handshake_timeout_ms = 5000;
  Rig rig(o,
          [] { return std::make_unique<socks5::ServerCore>(std::span<const UserPass>(), true); });
  auto c = rig.accept();
  const uint8_t hs[] = {5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80};
  rig.give(*c, {reinterpret_cast<const char*>(hs), sizeof hs});
  CHECK(rig.session->target == "10.0.0.1:80");
  CHECK_FALSE(c->reading);                          // bytes after the request wait for the stream
  CHECK(c->written == std::string("\x05\x00", 2));  // method choice
  rig.session->complete(nullptr, Errc::connection_refused);
  REQUIRE(rig.run_until([&] { return c->closed; }));
  REQUIRE(c->written.size() >= 4);
  CHECK(c->written[2] == 0x05);  // VER
  CHECK(c->written[3] == 0x05);  // REP connection refused
  CHECK(rig.driver->saw(DriverEvent::open_failed));
  CHECK_FALSE(rig.driver->saw(DriverEvent::opened));
}

TEST_CASE("driver: an open relays, the target gets the prefix then the bytes after the header",
          "[inbound][driver]") {
  ServerDriverOptions o = fast_options();
  o.handshake_timeout_ms = 5000;
  Rig rig(o, [] { return std::make_unique<http::ProxyServerCore>(std::span<const UserPass>()); });
  auto c = rig.accept();
  rig.give(*c, "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\nBODY");
  CHECK(rig.session->target == "example.com:80");
  rig.give(*c, "+LATE");  // arrives while the open is pending: kept, in order
  auto target = std::make_shared<Record>();
  rig.session->complete(target);
  CHECK(target->written.rfind("GET /x HTTP/1.1\r\n", 0) == 0);
  CHECK(target->written.size() > 5);
  CHECK(target->written.substr(target->written.size() - 9) == "BODY+LATE");
  CHECK(c->written.empty());  // a forwarded request has no proxy reply
  CHECK(rig.driver->saw(DriverEvent::opened));
  // The Relay reads the client now.
  REQUIRE(c->handler != nullptr);
  rig.give(*c, "!");
  CHECK(target->written.back() == '!');
}

TEST_CASE("driver: the deadline runs on over a pending open (Trojan) and cancels it",
          "[inbound][driver]") {
  Rig rig(fast_options(), trojan_core());
  auto c = rig.accept();
  rig.give(*c, trojan_request(trojan::Command::connect, kDns) + "payload");
  REQUIRE(rig.session->pending != nullptr);
  rig.advance(40);
  CHECK(c->closed);
  CHECK(rig.session->pending == nullptr);
  CHECK(rig.session->cancels == 1);
  CHECK(rig.driver->saw(DriverEvent::timed_out));
}

TEST_CASE("driver: a pending open at the deadline is answered (SOCKS5 REP 6), not dropped",
          "[inbound][driver]") {
  Rig rig(fast_options(),
          [] { return std::make_unique<socks5::ServerCore>(std::span<const UserPass>(), true); });
  auto c = rig.accept();
  const uint8_t hs[] = {5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80};
  rig.give(*c, {reinterpret_cast<const char*>(hs), sizeof hs});
  REQUIRE(rig.session->pending != nullptr);
  rig.advance(40);
  REQUIRE(rig.run_until([&] { return c->closed; }));
  CHECK(rig.session->cancels == 1);
  REQUIRE(c->written.size() >= 4);
  CHECK(c->written[2] == 0x05);  // VER
  CHECK(c->written[3] == 0x06);  // REP TTL expired: the timeout code
  CHECK(rig.driver->saw(DriverEvent::timed_out));
}

TEST_CASE("driver: a reply whose write fails at once (on_error inside write) closes once",
          "[inbound][driver]") {
  // The client went away while its open was pending: the deadline's REP 6
  // fails inside write() and the transport reports on_error from there.
  // The connection closes once (it was freed under the write before).
  Rig rig(fast_options(),
          [] { return std::make_unique<socks5::ServerCore>(std::span<const UserPass>(), true); });
  auto c = rig.accept();
  const uint8_t hs[] = {5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80};
  rig.give(*c, {reinterpret_cast<const char*>(hs), sizeof hs});
  REQUIRE(rig.session->pending != nullptr);
  c->fail_writes = true;
  rig.advance(40);
  REQUIRE(rig.run_until([&] { return c->closed; }));
  CHECK(rig.session->cancels == 1);
  CHECK(rig.driver->saw(DriverEvent::timed_out));
}

TEST_CASE("driver: UDP ASSOCIATE datagrams both ways through the DatagramRelay",
          "[inbound][driver][udp]") {
  ServerDriverOptions o = fast_options();
  o.handshake_timeout_ms = 40;  // stopped once the association starts
  o.udp.idle_timeout_ms = 0;
  Rig rig(o, trojan_core());
  auto c = rig.accept();
  rig.give(*c,
           trojan_request(trojan::Command::udp_associate, kDns) + trojan_frame(kDns, "query one"));
  REQUIRE(rig.session->flow->sent.size() == 1);
  CHECK(rig.session->flow->sent[0].first == "127.0.0.1:53");
  CHECK(rig.session->flow->sent[0].second == "query one");
  CHECK(rig.driver->saw(DriverEvent::datagram));
  // A frame split across reads is reassembled.
  const std::string f2 = trojan_frame(kDns, "query two");
  rig.give(*c, f2.substr(0, 5));
  rig.give(*c, f2.substr(5));
  REQUIRE(rig.session->flow->sent.size() == 2);
  CHECK(rig.session->flow->sent[1].second == "query two");
  // A reply is framed with its source.
  auto reply = rig.engine->pool().copy_from("answer", 6);
  REQUIRE(reply);
  rig.session->flow->handler->on_datagram(Endpoint{"127.0.0.1", 53}, std::move(*reply));
  CHECK(c->written == trojan_frame(kDns, "answer"));
  // The handshake deadline no longer applies (and no idle expiry is set).
  rig.advance(3600 * 1000);
  CHECK_FALSE(c->closed);
  // A malformed frame ends the association.
  rig.give(*c, std::string("\x09garbage", 8));
  REQUIRE(rig.run_until([&] { return c->closed && rig.session->flow->closed; }));
  const Event* e = rig.driver->last(DriverEvent::datagram_end);
  REQUIRE(e);
  CHECK(e->result.malformed);
  CHECK(e->result.to_target == 2);
  CHECK(e->result.to_client == 1);
}

TEST_CASE("driver: UDP replies are dropped while the client's queue is over the limit",
          "[inbound][driver][udp]") {
  ServerDriverOptions o = fast_options();
  o.udp.write_queue = 1000;
  Rig rig(o, trojan_core());
  auto c = rig.accept();
  rig.give(*c, trojan_request(trojan::Command::udp_associate, kDns));
  REQUIRE(rig.session->flow->handler != nullptr);
  c->buffered = 1001;
  for (int i = 0; i < 3; ++i) {
    auto p = rig.engine->pool().copy_from("x", 1);
    REQUIRE(p);
    rig.session->flow->handler->on_datagram(Endpoint{"127.0.0.1", 53}, std::move(*p));
  }
  CHECK(c->written.empty());
  c->buffered = 0;
  auto p = rig.engine->pool().copy_from("y", 1);
  REQUIRE(p);
  rig.session->flow->handler->on_datagram(Endpoint{"127.0.0.1", 53}, std::move(*p));
  CHECK(c->written == trojan_frame(kDns, "y"));
  // The client ends the association cleanly.
  c->handler->on_eof();
  REQUIRE(rig.run_until([&] { return c->closed; }));
  const Event* e = rig.driver->last(DriverEvent::datagram_end);
  REQUIRE(e);
  CHECK_FALSE(e->result.malformed);
  CHECK(e->result.error == Errc::ok);
  CHECK(e->result.dropped == 3);
  CHECK(e->result.to_client == 1);
}

TEST_CASE("driver: an idle UDP association expires, counted from the last datagram",
          "[inbound][driver][udp]") {
  ServerDriverOptions o = fast_options();
  o.udp.idle_timeout_ms = 50;
  Rig rig(o, trojan_core());
  auto c = rig.accept();
  rig.give(*c, trojan_request(trojan::Command::udp_associate, kDns));
  REQUIRE(rig.driver->saw(DriverEvent::datagram));
  // Traffic at 30 ms moves the expiry to 80 ms.
  rig.advance(30);
  rig.give(*c, trojan_frame(kDns, "keepalive"));
  REQUIRE(rig.session->flow->sent.size() == 1);
  rig.advance(49);
  CHECK_FALSE(c->closed);
  rig.advance(1);
  CHECK(c->closed);
  const Event* e = rig.driver->last(DriverEvent::datagram_end);
  REQUIRE(e);
  CHECK(e->result.error == Errc::timed_out);
}

TEST_CASE("driver: a truncated frame at the end of the stream is malformed",
          "[inbound][driver][udp]") {
  Rig rig(fast_options(), trojan_core());
  auto c = rig.accept();
  rig.give(*c, trojan_request(trojan::Command::udp_associate, kDns) +
                   trojan_frame(kDns, "whole").substr(0, 6));
  REQUIRE(c->handler != nullptr);
  c->handler->on_eof();
  REQUIRE(rig.run_until([&] { return c->closed; }));
  const Event* e = rig.driver->last(DriverEvent::datagram_end);
  REQUIRE(e);
  CHECK(e->result.malformed);
  CHECK(e->result.error == Errc::truncated);
}

TEST_CASE("driver: log prefixes name the protocol and the tag, or just the protocol",
          "[inbound][driver]") {
  // Issue #13: an inbound without a tag printed "inbound : ...".
  CHECK(ServerDriver::make_log_prefix("inbound", "") == "inbound");
  CHECK(ServerDriver::make_log_prefix("inbound", "local") == "inbound local");
  CHECK(ServerDriver::make_log_prefix("trojan", "in") == "trojan in");
}

namespace {

struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    set_log_sink([](void* u, LogLevel, const char* msg,
                    size_t len) { static_cast<LogCapture*>(u)->lines.emplace_back(msg, len); },
                 this);
    set_log_level(LogLevel::debug);
  }
  ~LogCapture() {
    set_log_sink(nullptr, nullptr);
    set_log_level(LogLevel::info);
  }
  bool has_prefix(std::string_view p) const {
    for (const std::string& l : lines)
      if (l.rfind(p, 0) == 0) return true;
    return false;
  }
  bool contains(std::string_view p) const {
    for (const std::string& l : lines)
      if (l.find(p) != std::string::npos) return true;
    return false;
  }
};

}  // namespace

TEST_CASE("driver: refusals log with the inbound's context, wrong password included",
          "[inbound][driver]") {
  // Issue #13: the Trojan wrong-password path must carry the same
  // "<proto> <tag>: " context as the others; no "inbound : " without a tag.
  LogCapture log;
  {
    ServerDriverOptions o = fast_options();
    o.proto = "trojan";
    o.tag = "in";
    Rig rig(o, trojan_core());
    auto c = rig.accept();
    rig.give(*c, trojan_request(trojan::Command::connect, kDns, "not the password"));
    CHECK(c->closed);
  }
  CHECK(log.has_prefix("trojan in: unknown password"));
  log.lines.clear();
  {
    ServerDriverOptions o = fast_options();
    o.proto = "inbound";
    o.tag = "";
    Rig rig(o,
            [] { return std::make_unique<socks5::ServerCore>(std::span<const UserPass>(), true); });
    auto c = rig.accept();
    const uint8_t bad[] = {4, 1, 0};
    rig.give(*c, {reinterpret_cast<const char*>(bad), sizeof bad});
    CHECK(c->closed);
  }
  CHECK(log.has_prefix("inbound: socks5 handshake"));
  CHECK_FALSE(log.contains("inbound :"));
}

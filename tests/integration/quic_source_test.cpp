// A protocol server fed by QUIC streams: the Trojan core on the one
// ServerDriver with a QuicStreamSource (no TLS layer: QUIC has its own),
// a sluice QUIC client opening streams, a real TCP echo server and a real
// UDP echo server behind a direct session.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "inbound/quic_source.hpp"
#include "inbound/server_driver.hpp"
#include "proto/trojan/server.hpp"
#include "quic_support.hpp"
#include "session/direct_session.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// QuicTrojanServer: trojan::ServerCore on the driver, fed by a QUIC source.
class QuicTrojanServer final : public ServerDriver {
 public:
  QuicTrojanServer(Engine& e, ServerDriverOptions o, Router* r, const std::string& password)
      : ServerDriver(e, std::move(o), r) {
    users_.add("alice", password);
  }
  std::atomic<int> accepted{0}, opened{0}, refused{0}, datagrams{0};

 private:
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override {
    CHECK(tls == nullptr);
    return std::make_unique<trojan::ServerCore>(users_);
  }
  void on_event(DriverEvent ev, const ServerDecision*, const DatagramRelayResult*) override {
    if (ev == DriverEvent::accepted) accepted++;
    if (ev == DriverEvent::opened) opened++;
    if (ev == DriverEvent::refused) refused++;
    if (ev == DriverEvent::datagram) datagrams++;
  }
  trojan::TrojanUsers users_;
};

// StreamClient writes |send| on a new stream and collects the reply.
struct StreamClient final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  std::string got;
  std::atomic<bool> ended{false};  // EOF or error
  bool error = false;
  void on_data(Slice&& d) override {
    got.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void on_eof() override { ended = true; }
  void on_error(Errc) override {
    error = true;
    ended = true;
  }
};

std::string trojan_header(const std::string& password, trojan::Command cmd, uint16_t port) {
  auto t = TargetAddress::from_ipv4({127, 0, 0, 1}, port);
  std::string h(trojan::request_size(t), '\0');
  REQUIRE(trojan::encode_request(trojan::hash_password(password), cmd, t,
                                 {reinterpret_cast<uint8_t*>(h.data()), h.size()}));
  return h;
}

std::string udp_frame(uint16_t port, const std::string& payload) {
  auto t = TargetAddress::from_ipv4({127, 0, 0, 1}, port);
  std::string f(trojan::udp_header_size(t), '\0');
  REQUIRE(trojan::encode_udp_header(t, payload.size(),
                                    {reinterpret_cast<uint8_t*>(f.data()), f.size()}));
  return f + payload;
}

struct QuicRig {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<QuicTrojanServer> server;
  QuicStreamSource* source = nullptr;
  std::unique_ptr<quic::Endpoint> client;
  ClientHandler ch;
  quic::Connection* conn = nullptr;

  QuicRig() {
    engine = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    direct = std::make_unique<DirectSession>(*engine, "direct", net::DialOptions{});
    router = std::make_unique<FinalRouter>(direct.get());
    REQUIRE(engine->start());
    on_loop(*engine, [&] {
      ServerDriverOptions o;
      o.tag = "quic-in";
      o.proto = "trojan";
      o.handshake_timeout_ms = 5000;
      server = std::make_unique<QuicTrojanServer>(*engine, o, router.get(), "quic password");
      auto src = QuicStreamSource::create(*engine, quic::EndpointOptions{}, server_tls(cert),
                                          server->sink());
      REQUIRE(src);
      source = src->get();
      server->add_source(std::move(*src));
      auto c = quic::Endpoint::create(*engine, quic::EndpointOptions{}, client_tls(), nullptr);
      REQUIRE(c);
      client = std::move(*c);
      auto r = client->connect("127.0.0.1", server->port(), &ch);
      REQUIRE(r);
      conn = *r;
    });
    REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  }

  // exchange opens a stream, writes |send| (then FIN if |fin|) and waits
  // until |want| bytes came back or the stream ended.
  std::string exchange(const std::string& send, size_t want, bool fin, bool* ended = nullptr) {
    StreamClient sc;
    on_loop(*engine, [&] {
      auto s = conn->open_bidi_stream();
      REQUIRE(s);
      sc.s = std::move(*s);
      sc.s->set_handler(&sc);
      sc.s->read_start();
      auto b = engine->pool().copy_from(send.data(), send.size());
      REQUIRE(b);
      REQUIRE(sc.s->write(std::move(*b)));
      if (fin) REQUIRE(sc.s->shutdown());
    });
    wait_until(
        [&] { return on_loop(*engine, [&] { return sc.got.size() >= want || sc.ended.load(); }); },
        10000ms);
    if (ended) {
      wait_until([&] { return sc.ended.load(); }, 10000ms);
      *ended = sc.ended;
    }
    std::string got = on_loop(*engine, [&] {
      std::string g = sc.got;
      sc.s->set_handler(nullptr);
      close_and_delete(sc.s.release());
      return g;
    });
    return got;
  }

  // stop_engine stops the Engine with everything still open: it closes the
  // driver, its QUIC source and the client itself.
  void stop_engine() {
    REQUIRE(engine->stop());
    stopped = true;
  }
  bool stopped = false;

  ~QuicRig() {
    if (stopped) {
      on_loop_after_stop();
      return;
    }
    std::atomic<int> closed{0};
    on_loop(*engine, [&] {
      auto cb = [](void* u) { (*static_cast<std::atomic<int>*>(u))++; };
      client->close(cb, &closed);
      server->close(cb, &closed);
    });
    wait_until([&] { return closed.load() == 2; }, 10000ms);
    REQUIRE(engine->stop());
    on_loop_after_stop();
  }
  void on_loop_after_stop() {
    server.reset();
    client.reset();
    echo.reset();
    direct.reset();
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
};

}  // namespace

TEST_CASE("QUIC stream source: the Trojan core relays a QUIC stream to a TCP echo server",
          "[integration][quic][driver]") {
  QuicRig rig;
  const std::string payload = "hello over a QUIC stream";
  const std::string req =
      trojan_header("quic password", trojan::Command::connect, rig.echo->port()) + payload;
  bool ended = false;
  CHECK(rig.exchange(req, payload.size(), true, &ended) == payload);
  CHECK(ended);  // the echo's FIN came back through the relay
  CHECK(rig.server->accepted == 1);
  CHECK(rig.server->opened == 1);
  CHECK(rig.source->streams_accepted() == 1);

  // Several streams on the same connection, each its own relay.
  for (int i = 0; i < 4; ++i) {
    const std::string p = "stream " + std::to_string(i);
    CHECK(
        rig.exchange(trojan_header("quic password", trojan::Command::connect, rig.echo->port()) + p,
                     p.size(), true) == p);
  }
  CHECK(rig.server->opened == 5);
}

TEST_CASE("QUIC stream source: a wrong password is refused, without fallback closed",
          "[integration][quic][driver]") {
  QuicRig rig;
  bool ended = false;
  const std::string got = rig.exchange(
      trojan_header("wrong", trojan::Command::connect, rig.echo->port()) + "x", 1, false, &ended);
  CHECK(got.empty());
  CHECK(ended);
  CHECK(rig.server->refused == 1);
  CHECK(rig.server->opened == 0);
}

TEST_CASE("QUIC stream source: UDP ASSOCIATE through the DatagramRelay",
          "[integration][quic][driver][udp]") {
  UdpEcho udp;
  QuicRig rig;
  const std::string frame = udp_frame(udp.port, "a datagram in a QUIC stream");
  const std::string req =
      trojan_header("quic password", trojan::Command::udp_associate, udp.port) + frame;
  // The reply names its source (the echo), so it is the same frame.
  CHECK(rig.exchange(req, frame.size(), false) == frame);
  CHECK(rig.server->datagrams == 1);
  CHECK(udp.received == 1);
}

TEST_CASE("QUIC stream source: Engine stop closes the driver and its source",
          "[integration][quic][driver]") {
  QuicRig rig;
  const std::string req =
      trojan_header("quic password", trojan::Command::connect, rig.echo->port()) + "ping";
  CHECK(rig.exchange(req, 4, false) == "ping");
  rig.stop_engine();  // returns only once every object (driver, Endpoints, Relays) closed
  CHECK(rig.engine->stats().objects == 0);
}

// Hysteria v1 end to end on 127.0.0.1: app -> SOCKS5 inbound ->
// Hysteria1Session (QUIC, control-stream hello) -> Hysteria1Inbound ->
// direct -> test servers; wrong auth, XPlus on and off, UDP fragmentation.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "hopping_support.hpp"
#include "inbound/hysteria1_inbound.hpp"
#include "inbound/instance.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "quic_support.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria1_session.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

constexpr uint64_t kMbps = 125000;

struct Hy1Server {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<Hysteria1Inbound> in;
  uint16_t port = 0;

  Hy1Server(const SelfSigned& cert, const std::function<void(Hysteria1InboundConfig&)>& tweak,
            uint16_t want_port = 0) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    Hysteria1InboundConfig c;
    c.tag = "hy1-in";
    c.port = want_port;
    c.users = {{"alice", "alice's auth"}, {"bob", "correct horse"}};
    c.tls.cert_pem = cert.cert_pem;
    c.tls.key_pem = cert.key_pem;
    if (tweak) tweak(c);
    std::string why;
    const bool ok = on_loop(*engine, [&] {
      direct = std::make_unique<DirectSession>(*engine, "direct", net::DialOptions{});
      router = std::make_unique<FinalRouter>(direct.get());
      auto r = Hysteria1Inbound::create(*engine, c, router.get(), &why);
      if (!r) return false;
      in = std::move(*r);
      port = in->port();
      return true;
    });
    INFO(why);
    REQUIRE(ok);
  }
  ~Hy1Server() { stop(); }
  void stop() {
    if (!engine) return;
    REQUIRE(engine->stop());
    in.reset();
    router.reset();
    direct.reset();
    engine.reset();
  }
  Hysteria1InboundStats stats() {
    return on_loop(*engine, [this] { return in->stats(); });
  }
};

struct Hy1Client {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Hysteria1Session> hy;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ProxyInbound> socks;

  Hy1Client(uint16_t server_port, const std::function<void(Hysteria1SessionOptions&)>& tweak) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    Hysteria1SessionOptions o;
    o.server = "127.0.0.1";
    o.server_port = server_port;
    o.auth = "correct horse";
    o.up_bps = 1000 * kMbps;
    o.down_bps = 1000 * kMbps;
    o.tls = client_opts({"hysteria"});
    o.handshake_timeout_ms = 3000;
    if (tweak) tweak(o);
    std::string why;
    const bool ok = on_loop(*engine, [&] {
      auto s = Hysteria1Session::create(*engine, "hy1", o, &why);
      if (!s) return false;
      hy = std::move(*s);
      router = std::make_unique<FinalRouter>(hy.get());
      ProxyInboundOptions po;
      po.kind = ProxyKind::socks;
      po.tag = "socks";
      auto p = ProxyInbound::create(*engine, po, router.get(), &why);
      if (!p) return false;
      socks = std::move(*p);
      return true;
    });
    INFO(why);
    REQUIRE(ok);
  }
  ~Hy1Client() {
    REQUIRE(engine->stop());
    socks.reset();
    router.reset();
    hy.reset();
    engine.reset();
  }
  uint16_t socks_port() {
    return on_loop(*engine, [this] { return socks->port(); });
  }
  int socks_to(uint16_t port) {
    int fd = tcp_connect(socks_port());
    REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
    return fd;
  }
  Hysteria1SessionStats stats() {
    return on_loop(*engine, [this] { return hy->stats(); });
  }
};

struct Targets {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TestServer> echo;
  Targets() {
    engine = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    REQUIRE(engine->start());
  }
  ~Targets() {
    REQUIRE(engine->stop());
    echo.reset();
    engine.reset();
  }
};

struct OpenResult final : OpenHandler {
  std::atomic<bool> done{false};
  Errc error = Errc::ok;
  std::string reason;
  std::unique_ptr<Stream> stream;
  void on_open(Result<std::unique_ptr<Stream>> s, const char* why) override {
    if (s) {
      stream = std::move(*s);
    } else {
      error = s.error();
      reason = why;
    }
    done = true;
  }
};

OpenResult* open_direct(Hy1Client& c, uint16_t port) {
  auto* r = new OpenResult;
  on_loop(*c.engine, [&] { c.hy->open_stream("127.0.0.1", port, r); });
  REQUIRE(wait_until([&] { return r->done.load(); }, std::chrono::seconds(20)));
  return r;
}

void drop_open(Hy1Client& c, OpenResult* r) {
  on_loop(*c.engine, [&] {
    if (r->stream) close_and_delete(r->stream.release());
    delete r;
  });
}

}  // namespace

TEST_CASE("hysteria1: 1 byte to 64 MiB echoed, hash-checked", "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy1Server s(cert, [](Hysteria1InboundConfig& c) { c.up_bps = 2000 * kMbps; });
  Hy1Client c(s.port, nullptr);
  for (size_t n : {size_t{1}, size_t{1000}, size_t{1} << 20}) {
    int fd = c.socks_to(t.echo->port());
    CHECK(echo_transfer(fd, n, 3));
    ::close(fd);
  }
  int fd = c.socks_to(t.echo->port());
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(echo_transfer(fd, 64u << 20, 7));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("hysteria1: 64 MiB echo in %.2f s (%.0f Mbit/s each way)\n", secs,
              64.0 * 8 * 1.048576 / secs);
  ::close(fd);
  auto st = s.stats();
  CHECK(st.authenticated == 1);
  CHECK(st.tcp_relayed == 4);
  CHECK(st.user_connections["bob"] == 1);
  CHECK(st.auth_failures == 0);
  CHECK(c.stats().connections == 1);          // one shared connection
  CHECK(c.stats().send_bps == 1000 * kMbps);  // min(server accepts our 1000, our 1000)
}

TEST_CASE("hysteria1: rates clamp to the server's limits", "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy1Server s(cert, [](Hysteria1InboundConfig& c) { c.down_bps = 50 * kMbps; });
  Hy1Client c(s.port, nullptr);
  int fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 100000, 5));
  ::close(fd);
  CHECK(c.stats().send_bps == 50 * kMbps);
}

TEST_CASE("hysteria1: target refused -> the open fails with the server's message",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Hy1Server s(cert, nullptr);
  Hy1Client c(s.port, nullptr);
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(probe);
  OpenResult* r = open_direct(c, ntohs(a.sin_port));
  CHECK(r->error == Errc::connection_refused);
  CHECK(r->reason.find("the server could not connect") != std::string::npos);
  drop_open(c, r);
  CHECK(s.stats().tcp_open_failures == 1);
}

TEST_CASE("hysteria1: UDP echo 1 B to 60 KB, fragmented", "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  UdpEcho echo;
  Hy1Server s(cert, nullptr);
  Hy1Client c(s.port, nullptr);
  SocksUdpAssociation a(c.socks_port());
  for (size_t n : {size_t{1}, size_t{100}, size_t{1100}, size_t{1200}, size_t{4000}, size_t{20000},
                   size_t{60000}}) {
    std::vector<uint8_t> p(n);
    Pattern(n).fill(p.data(), n);
    INFO("payload " << n);
    CHECK(a.round_trip(echo.port, p.data(), p.size(), 5, 2000));
  }
  auto st = s.stats();
  CHECK(st.udp_sessions == 1);
  CHECK(st.udp_malformed == 0);
}

TEST_CASE("hysteria1: wrong auth -> authentication refused with the server's message",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Hy1Server s(cert, nullptr);
  {
    Hy1Client c(s.port, [](Hysteria1SessionOptions& o) { o.auth = "wrong"; });
    OpenResult* r = open_direct(c, 9);
    CHECK(r->error == Errc::auth_failed);
    CHECK(r->reason.find("authentication refused by the server: auth error") != std::string::npos);
    drop_open(c, r);
    CHECK(c.stats().auth_failures == 1);
  }
  CHECK(s.stats().auth_failures == 1);
  CHECK(s.stats().authenticated == 0);
}

TEST_CASE("hysteria1: XPlus on both ends works; a plain client gets no answer",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy1Server s(cert, [](Hysteria1InboundConfig& c) { c.obfs = "fuck me till the daylight"; });
  {
    Hy1Client c(s.port, [](Hysteria1SessionOptions& o) { o.obfs = "fuck me till the daylight"; });
    int fd = c.socks_to(t.echo->port());
    CHECK(echo_transfer(fd, 4u << 20, 11));
    ::close(fd);
  }
  {
    Hy1Client c(s.port, [](Hysteria1SessionOptions& o) { o.handshake_timeout_ms = 1500; });
    OpenResult* r = open_direct(c, t.echo->port());
    CHECK(r->error == Errc::timed_out);
    drop_open(c, r);
    CHECK(c.stats().connections == 0);
  }
  // The plain client's Initials decode to garbage QUIC drops: the server
  // never saw a connection from it.
  auto st = s.stats();
  CHECK(st.connections == 1);
  CHECK(st.authenticated == 1);
}

TEST_CASE("hysteria1: 100 concurrent streams on one connection", "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy1Server s(cert, nullptr);
  Hy1Client c(s.port, nullptr);
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) fds.push_back(c.socks_to(t.echo->port()));
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], m.data(), m.size()));
  }
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    std::string b(m.size(), '\0');
    if (recv_exact(fds[i], b.data(), b.size()) && b == m) ++ok;
  }
  CHECK(ok == 100);
  for (int f : fds) ::close(f);
  CHECK(c.stats().connections == 1);
  CHECK(s.stats().connections == 1);
}

TEST_CASE("hysteria1: server killed mid-transfer -> clear error, then a working reconnect",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  auto s = std::make_unique<Hy1Server>(cert, nullptr);
  const uint16_t port = s->port;
  Hy1Client c(port, [](Hysteria1SessionOptions& o) { o.idle_timeout_ms = 3000; });
  int fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 1u << 20, 5));
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s->stop();
  });
  CHECK(!echo_transfer(fd, 512u << 20, 6));
  killer.join();
  ::close(fd);
  s = std::make_unique<Hy1Server>(cert, nullptr, port);
  REQUIRE(
      wait_until([&] { return on_loop(*c.engine, [&] { return c.hy->connection() == nullptr; }); },
                 std::chrono::seconds(20)));
  fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 1u << 20, 8));
  ::close(fd);
  CHECK(c.stats().connections == 2);
}

TEST_CASE("hysteria1: UDP on a server with UDP disabled -> the flow fails",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  UdpEcho echo;
  Hy1Server s(cert, [](Hysteria1InboundConfig& c) { c.disable_udp = true; });
  Hy1Client c(s.port, nullptr);
  SocksUdpAssociation a(c.socks_port());
  const uint8_t p[4] = {1, 2, 3, 4};
  CHECK_FALSE(a.round_trip(echo.port, p, sizeof p, 2, 500));
  CHECK(s.stats().udp_sessions == 0);
}

TEST_CASE("hysteria1: a bad hello or a missing control stream closes with code 1",
          "[integration][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Hy1Server s(cert, nullptr);
  // A raw QUIC client on the core: it writes |hello| (or nothing) on its
  // first stream and records the server's close.
  struct Raw final : quic::QuicDialHandler, quic::ConnectionHandler {
    std::vector<uint8_t> hello;
    Engine* engine = nullptr;
    std::unique_ptr<quic::Endpoint> ep;
    std::unique_ptr<quic::QuicStream> st;
    std::atomic<bool> closed{false};
    std::atomic<bool> failed{false};
    uint64_t app_error = 0;
    std::string reason;
    void on_quic_dial(Result<quic::QuicDialed> r, const char*) override {
      if (!r) {
        failed = true;
        return;
      }
      ep = std::move(r->endpoint);
      r->connection->set_handler(this);
      if (hello.empty()) return;
      auto s = r->connection->open_bidi_stream();
      if (!s) {
        failed = true;
        return;
      }
      st = std::move(*s);
      auto b = engine->pool().copy_from(hello.data(), hello.size());
      Chain c;
      if (!b || !c.push_back(std::move(*b)) || !st->write(std::move(c))) failed = true;
    }
    void on_closed(quic::Connection& c, Errc, uint64_t app, const char* why) override {
      app_error = app;
      reason = why ? why : "";
      c.set_handler(nullptr);
      closed = true;
    }
  };
  auto run = [&](std::vector<uint8_t> hello) {
    std::unique_ptr<Engine> e = std::move(*Engine::create());
    REQUIRE(e->start());
    Raw r;
    r.hello = std::move(hello);
    r.engine = e.get();
    on_loop(*e, [&] {
      quic::QuicDialOptions d;
      d.endpoint.connection.idle_timeout_ms = 30000;
      quic::QuicDial::start(*e, "127.0.0.1", s.port, make_tls(client_opts({"hysteria"})), d, &r);
    });
    REQUIRE(
        wait_until([&] { return r.closed.load() || r.failed.load(); }, std::chrono::seconds(20)));
    CHECK_FALSE(r.failed);
    CHECK(r.app_error == 1);
    CHECK(r.reason == "protocol error");
    on_loop(*e, [&] {
      if (r.st) close_and_delete(r.st.release());
      if (r.ep) r.ep->close(nullptr, nullptr);
    });
    REQUIRE(e->stop());
    r.ep.reset();
  };
  run({2, 0, 0, 0});  // Hysteria 0.9's version byte
  // Version 3 with a zero send rate.
  std::vector<uint8_t> zero(19, 0);
  zero[0] = 3;
  zero[16] = 1;
  run(zero);
  run({});  // no control stream: closed after 10 s
  CHECK(s.stats().protocol_errors == 3);
}

TEST_CASE("hysteria1: JSON configs (sing-box fields) through the Instance, TCP and UDP",
          "[integration][hysteria1][config]") {
  SelfSigned cert = make_self_signed();
  const std::string cert_path = write_temp("hy1", "cert.pem", cert.cert_pem);
  const std::string key_path = write_temp("hy1", "key.pem", cert.key_pem);
  Targets t;
  UdpEcho echo;
  {
    Side server(
        R"({"log":{"level":"error"},"inbounds":[{"type":"hysteria","tag":"in","listen":"127.0.0.1",
        "listen_port":0,"users":[{"name":"sekai","auth":"cGFzc3dvcmQ="}],"up":"1 Gbps",
        "down_mbps":1000,"obfs":"shared obfs","recv_window_conn":4194304,
        "tls":{"enabled":true,"certificate_path":")" +
        cert_path + R"(","key_path":")" + key_path + R"("}}],
        "outbounds":[{"type":"direct","tag":"direct"}]})");
    Side client(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"hysteria","tag":"hy","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port("in")) +
        R"(,"auth_str":"password","up_mbps":800,"down":"1000 Mbps","obfs":"shared obfs",
        "recv_window":8388608,"disable_mtu_discovery":true,
        "tls":{"enabled":true,"server_name":"localhost","insecure":true}}]})");
    int fd = tcp_connect(client.port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", t.echo->port()) == 0);
    CHECK(echo_transfer(fd, 8u << 20, 21));
    ::close(fd);
    SocksUdpAssociation a(client.port("in"));
    std::vector<uint8_t> p(3000);
    Pattern(78).fill(p.data(), p.size());
    CHECK(a.round_trip(echo.port, p.data(), p.size(), 5, 2000));
    auto st = on_loop(*server.engine, [&] {
      return static_cast<Hysteria1Inbound*>(server.instance->quic_inbound("in"))->stats();
    });
    CHECK(st.authenticated == 1);
    CHECK(st.user_connections["sekai"] == 1);
    CHECK(st.tcp_relayed == 1);
    CHECK(st.udp_sessions == 1);
    auto cs = on_loop(*client.engine, [&] {
      return static_cast<Hysteria1Session*>(client.instance->session("hy"))->stats();
    });
    CHECK(cs.send_bps == 800 * kMbps);  // our up, under the server's 1000 Mbit/s receive limit
  }
  std::remove(cert_path.c_str());
  std::remove(key_path.c_str());
}

TEST_CASE("hysteria1: a config the outbound or inbound cannot use fails with a reason",
          "[integration][hysteria1][config]") {
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  auto build = [&](const std::string& json) {
    ConfigDiagnostics diag;
    auto cfg = parse_config(json, &diag);
    INFO(diag.error);
    REQUIRE(cfg);
    std::string why;
    const bool ok = on_loop(*e, [&] {
      auto inst = Instance::check(*e, *cfg, &why);
      if (!inst) return false;
      Instance* raw = inst->release();
      raw->close([](void* u) { delete static_cast<Instance*>(u); }, raw);
      return true;
    });
    CHECK(!ok);
    return why;
  };
  std::string why = build(R"({"outbounds":[{"type":"hysteria","tag":"hy","server":"127.0.0.1",
      "server_port":1,"up_mbps":10,"down_mbps":10,
      "tls":{"enabled":true,"certificate_path":"/nonexistent/ca.pem"}}]})");
  CHECK(why.find("tls") != std::string::npos);
  why = build(R"({"inbounds":[{"type":"hysteria","tag":"in","listen":"127.0.0.1","listen_port":0,
      "users":[{"auth_str":"p"}],"tls":{"enabled":true,"certificate_path":"/nonexistent/c.pem",
      "key_path":"/nonexistent/k.pem"}}],"outbounds":[{"type":"direct","tag":"d"}]})");
  CHECK(why.find("inbound") != std::string::npos);
  CHECK(why.find("/nonexistent/c.pem") != std::string::npos);
  REQUIRE(e->stop());
}

TEST_CASE("hysteria1: port hopping from a config: ranges, interval, server_port optional",
          "[integration][hysteria1][config][hopping]") {
  ConfigDiagnostics diag;
  auto cfg = parse_config(
      R"({"outbounds":[{"type":"hysteria","tag":"hy","server":"127.0.0.1",
      "server_ports":["20000:20010","443"],"hop_interval":"10s","up_mbps":10,"down_mbps":10,
      "tls":{"enabled":true}}]})",
      &diag);
  INFO(diag.error);
  REQUIRE(cfg);
  auto& h = std::get<HysteriaOutboundOptions>(cfg->outbounds[0].options);
  std::string why;
  auto so = hysteria1_session_options(h, cfg->outbounds[0].dial, &why);
  INFO(why);
  REQUIRE(so);
  CHECK(so->server_ports == std::vector<std::pair<uint16_t, uint16_t>>{{20000, 20010}, {443, 443}});
  CHECK(so->hop_interval_ms == 10000);
  CHECK(so->server_port == 0);
  // The session builds from them (it used to be refused with "not supported").
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  const bool ok = on_loop(*e, [&] {
    auto s = make_session(*e, cfg->outbounds[0], &why);
    return static_cast<bool>(s);
  });
  CHECK(ok);
  REQUIRE(e->stop());
  // Refused by the config reader, each with the field named.
  for (const char* bad : {
           R"("server_ports":["20010:20000"])",              // reversed range
           R"("server_ports":["443"],"hop_interval":"2s")",  // below 5 s
           R"("server_ports":[])",                           // neither port nor ports
       }) {
    ConfigDiagnostics d;
    const std::string json = std::string(R"({"outbounds":[{"type":"hysteria","tag":"hy",
        "server":"127.0.0.1","up_mbps":10,"down_mbps":10,"tls":{"enabled":true},)") +
                             bad + "}]}";
    CHECK(!parse_config(json, &d));
    INFO(bad << ": " << d.error);
    CHECK((d.error.find("server_ports") != std::string::npos ||
           d.error.find("hop_interval") != std::string::npos ||
           d.error.find("server_port") != std::string::npos));
  }
  // Options built in code skip the reader: the session's conversion names the item.
  h.server_ports = {"443", "9:1"};
  why.clear();
  CHECK(!hysteria1_session_options(h, cfg->outbounds[0].dial, &why));
  CHECK(why.find("server_ports[1]") != std::string::npos);
}

TEST_CASE("hysteria1: port hopping across >= 3 hops during a transfer, one connection",
          "[integration][hysteria1][hopping]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  const std::vector<uint16_t> extra = free_udp_ports(3);
  REQUIRE(extra.size() == 3);
  Hy1Server s(cert, [&](Hysteria1InboundConfig& c) {
    c.extra_ports = extra;
    c.obfs = "hop with xplus";
  });
  Hy1Client c(0, [&](Hysteria1SessionOptions& o) {
    o.server_ports = {{s.port, s.port}};
    for (uint16_t p : extra) o.server_ports.emplace_back(p, p);
    // Far below the config's 5 s floor (options built in code skip it).
    o.hop_interval_ms = 150;
    o.obfs = "hop with xplus";
  });
  int fd = c.socks_to(t.echo->port());
  echo_across_hops("hysteria1", fd, *c.engine, [&] { return c.hy->hops(); });
  ::close(fd);
  // One QUIC connection throughout: no reconnect, no second handshake.
  CHECK(c.stats().connections == 1);
  CHECK(c.stats().dials == 1);
  auto st = s.stats();
  CHECK(st.connections == 1);
  CHECK(st.authenticated == 1);
  CHECK(st.obfs_dropped == 0);
  CHECK(ports_heard(*s.engine, s.in->endpoint()) >= 2);
}

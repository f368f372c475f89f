// Hysteria v2 end to end on 127.0.0.1: app -> SOCKS5 inbound ->
// Hysteria2Session (QUIC, HTTP/3 auth) -> Hysteria2Inbound -> direct ->
// test servers; masquerade, Salamander, server restart.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "../support/peer_process.hpp"
#include "hopping_support.hpp"
#include "inbound/hysteria2_inbound.hpp"
#include "inbound/hysteria2_masquerade.hpp"
#include "inbound/instance.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "quic/brutal.hpp"
#include "quic/cc_hook.hpp"
#include "quic/h3_connection.hpp"
#include "quic/quic_dial.hpp"
#include "quic/udp_socket.hpp"
#include "quic_h3_support.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria2_session.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

// Server: its own Engine with a direct outbound and the inbound.
struct Hy2Server {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<Hysteria2Inbound> in;
  uint16_t port = 0;

  Hy2Server(const SelfSigned& cert, const std::function<void(Hysteria2InboundConfig&)>& tweak,
            uint16_t want_port = 0) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    Hysteria2InboundConfig c;
    c.tag = "hy2-in";
    c.port = want_port;
    c.users = {{"alice", "alice's password"}, {"bob", "correct horse"}};
    c.tls.cert_pem = cert.cert_pem;
    c.tls.key_pem = cert.key_pem;
    if (tweak) tweak(c);
    std::string why;
    const bool ok = on_loop(*engine, [&] {
      direct = std::make_unique<DirectSession>(*engine, "direct", net::DialOptions{});
      router = std::make_unique<FinalRouter>(direct.get());
      auto r = Hysteria2Inbound::create(*engine, c, router.get(), &why);
      if (!r) return false;
      in = std::move(*r);
      port = in->port();
      return true;
    });
    INFO(why);
    REQUIRE(ok);
  }
  ~Hy2Server() { stop(); }
  void stop() {
    if (!engine) return;
    REQUIRE(engine->stop());
    in.reset();
    router.reset();
    direct.reset();
    engine.reset();
  }
  Hysteria2InboundStats stats() {
    return on_loop(*engine, [this] { return in->stats(); });
  }
};

// Client: an Engine with the hysteria2 outbound behind a SOCKS5 inbound.
struct Hy2Client {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Hysteria2Session> hy;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ProxyInbound> socks;

  Hy2Client(uint16_t server_port, const std::function<void(Hysteria2SessionOptions&)>& tweak) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    Hysteria2SessionOptions o;
    o.server = "127.0.0.1";
    o.server_port = server_port;
    o.password = "correct horse";
    o.tls = client_opts({"h3"});
    o.handshake_timeout_ms = 3000;
    if (tweak) tweak(o);
    std::string why;
    const bool ok = on_loop(*engine, [&] {
      auto s = Hysteria2Session::create(*engine, "hy2", o, &why);
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
  ~Hy2Client() {
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
  Hysteria2SessionStats stats() {
    return on_loop(*engine, [this] { return hy->stats(); });
  }
};

// Targets: echo servers on an Engine of their own.
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

// OpenResult records one Session::open_stream answer (on the loop thread).
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

OpenResult* open_direct(Hy2Client& c, uint16_t port) {
  auto* r = new OpenResult;
  on_loop(*c.engine, [&] { c.hy->open_stream("127.0.0.1", port, r); });
  REQUIRE(wait_until([&] { return r->done.load(); }, std::chrono::seconds(20)));
  return r;
}

void drop_open(Hy2Client& c, OpenResult* r) {
  on_loop(*c.engine, [&] {
    if (r->stream) close_and_delete(r->stream.release());
    delete r;
  });
}

}  // namespace

TEST_CASE("hysteria2: 1 byte and 64 MiB echoed, hash-checked", "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy2Server s(cert, nullptr);
  Hy2Client c(s.port, nullptr);
  int fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 1, 3));
  ::close(fd);
  fd = c.socks_to(t.echo->port());
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(echo_transfer(fd, 64u << 20, 7));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("hysteria2: 64 MiB echo in %.2f s (%.0f Mbit/s each way)\n", secs,
              64.0 * 8 * 1.048576 / secs);
  CHECK(wait_eof(fd));
  ::close(fd);
  auto st = s.stats();
  CHECK(st.authenticated == 1);
  CHECK(st.tcp_relayed == 2);
  CHECK(st.users["bob"].tcp_streams == 2);
  CHECK(st.auth_failures == 0);
  CHECK(c.stats().connections == 1);  // one shared connection
}

TEST_CASE("hysteria2: 100 concurrent streams on one connection", "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy2Server s(cert, nullptr);
  Hy2Client c(s.port, nullptr);
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

TEST_CASE("hysteria2: target refused -> the open fails with the server's message",
          "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Hy2Server s(cert, nullptr);
  Hy2Client c(s.port, nullptr);
  // A port nobody listens on: bind one and close it.
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

TEST_CASE("hysteria2: UDP echo 1 B to 60 KB, fragmented", "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  UdpEcho echo;
  Hy2Server s(cert, nullptr);
  Hy2Client c(s.port, nullptr);
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

TEST_CASE("hysteria2: wrong password -> authentication refused; the prober sees the masquerade",
          "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Hy2Server s(cert, [](Hysteria2InboundConfig& c) {
    c.masquerade.type = Hysteria2MasqueradeOptions::Type::string;
    c.masquerade.status_code = 200;
    c.masquerade.content = "<html>just a blog</html>";
    c.masquerade.headers = {{"content-type", "text/html"}};
  });
  {
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.password = "wrong"; });
    OpenResult* r = open_direct(c, 9);
    CHECK(r->error == Errc::auth_failed);
    CHECK(r->reason.find("authentication refused: HTTP 200") != std::string::npos);
    drop_open(c, r);
    CHECK(c.stats().auth_failures == 1);
  }
  CHECK(s.stats().auth_failures == 1);

  // A plain HTTP/3 client (the QUIC core's) asking for a page gets the
  // masquerade's page, and so does a wrong /auth.
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  struct Fetch final : quic::QuicDialHandler, quic::ConnectionHandler, quic::H3StreamHandler {
    std::unique_ptr<quic::Endpoint> ep;
    quic::Connection* c = nullptr;
    std::unique_ptr<quic::H3Connection> h3;
    std::string body;
    int status = 0;
    int done = 0;
    std::atomic<bool> finished{false};
    std::atomic<bool> failed{false};
    void on_quic_dial(Result<quic::QuicDialed> r, const char*) override {
      if (!r) {
        failed = true;
        return;
      }
      ep = std::move(r->endpoint);
      c = r->connection;
      c->set_handler(this);
      h3 = std::move(*quic::H3Connection::create(*c, nullptr));
      for (auto& es : r->early_streams) on_stream(*c, std::move(es));
      (void)h3->request("GET", "localhost", "/", {}, false, this);
    }
    void on_stream(quic::Connection& cc, std::unique_ptr<quic::QuicStream> s) override {
      if (!s->bidi()) {
        h3->accept_stream(std::move(s));
        return;
      }
      quic::ConnectionHandler::on_stream(cc, std::move(s));
    }
    void on_headers(quic::H3Stream& s) override { status = s.status(); }
    void on_body(quic::H3Stream&, Slice&& d) override { body.append(d.view()); }
    void on_close(quic::H3Stream&, Errc) override {
      if (++done == 1) {
        // Then a POST /auth with a wrong password on the same connection.
        status = 0;
        body.clear();
        (void)h3->request("POST", "hysteria", "/auth",
                          {{"hysteria-auth", "nope"}, {"hysteria-cc-rx", "0"}}, false, this);
        return;
      }
      finished = true;
    }
  } f;
  on_loop(*e, [&] {
    quic::QuicDialOptions d;
    d.endpoint.connection.max_datagram_frame_size = 0;
    quic::QuicDial::start(*e, "127.0.0.1", s.port, make_tls(client_opts({"h3"})), d, &f);
  });
  REQUIRE(wait_until([&] { return f.finished.load() || f.failed.load(); }));
  CHECK(!f.failed);
  CHECK(f.status == 200);
  CHECK(f.body == "<html>just a blog</html>");
  on_loop(*e, [&] {
    f.h3.reset();
    if (f.ep) f.ep->close(nullptr, nullptr);
  });
  REQUIRE(e->stop());
  f.ep.reset();
  auto st = s.stats();
  CHECK(st.masquerade == 3);  // the client's refused /auth, the GET, the prober's /auth
  CHECK(st.authenticated == 0);
}

TEST_CASE("hysteria2: default masquerade is Go's 404 page", "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Hy2Server s(cert, nullptr);
  Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.password = "wrong"; });
  OpenResult* r = open_direct(c, 9);
  CHECK(r->error == Errc::auth_failed);
  CHECK(r->reason.find("HTTP 404") != std::string::npos);
  drop_open(c, r);
}

TEST_CASE("hysteria2: Salamander on both ends works; a plain client gets no answer",
          "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy2Server s(cert, [](Hysteria2InboundConfig& c) { c.obfs_password = "cry me a river"; });
  {
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.obfs_password = "cry me a river"; });
    int fd = c.socks_to(t.echo->port());
    CHECK(echo_transfer(fd, 4u << 20, 11));
    ::close(fd);
  }
  {
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.handshake_timeout_ms = 1500; });
    OpenResult* r = open_direct(c, t.echo->port());
    CHECK(r->error == Errc::timed_out);
    drop_open(c, r);
  }
  {
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) {
      o.obfs_password = "another river";
      o.handshake_timeout_ms = 1500;
    });
    OpenResult* r = open_direct(c, t.echo->port());
    CHECK(r->error == Errc::timed_out);
    drop_open(c, r);
  }
  auto st = s.stats();
  CHECK(st.connections == 1);
  CHECK(st.authenticated == 1);
}

TEST_CASE("hysteria2: server killed mid-transfer -> clear error, then a working reconnect",
          "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  auto s = std::make_unique<Hy2Server>(cert, nullptr);
  const uint16_t port = s->port;
  Hy2Client c(port, nullptr);
  int fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 1u << 20, 5));
  // Kill the server while a transfer runs: the app's connection ends.
  std::atomic<bool> stopped{false};
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    s->stop();
    stopped = true;
  });
  CHECK(!echo_transfer(fd, 512u << 20, 6));
  killer.join();
  ::close(fd);
  // The Session saw the connection go; a new server on the same port.
  s = std::make_unique<Hy2Server>(cert, nullptr, port);
  REQUIRE(wait_until(
      [&] { return on_loop(*c.engine, [&] { return c.hy->connection() == nullptr; }); }));
  fd = c.socks_to(t.echo->port());
  CHECK(echo_transfer(fd, 1u << 20, 8));
  ::close(fd);
  CHECK(c.stats().connections == 2);
}

TEST_CASE("hysteria2: JSON configs (sing-box fields) through the Instance, TCP and UDP",
          "[integration][hysteria2][config]") {
  SelfSigned cert = make_self_signed();
  const std::string cert_path = write_temp("hy2", "cert.pem", cert.cert_pem);
  const std::string key_path = write_temp("hy2", "key.pem", cert.key_pem);
  Targets t;
  UdpEcho echo;
  {
    Side server(
        R"({"log":{"level":"error"},"inbounds":[{"type":"hysteria2","tag":"in","listen":"127.0.0.1",
        "listen_port":0,"users":[{"name":"carol","password":"pw for carol"}],"up_mbps":1000,
        "obfs":{"type":"salamander","password":"shared obfs"},
        "tls":{"enabled":true,"certificate_path":")" +
        cert_path + R"(","key_path":")" + key_path + R"("}}],
        "outbounds":[{"type":"direct","tag":"direct"}]})");
    Side client(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"hysteria2","tag":"hy","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port("in")) +
        R"(,"password":"pw for carol","up_mbps":800,"down_mbps":1000,
        "obfs":{"type":"salamander","password":"shared obfs"},
        "tls":{"enabled":true,"server_name":"localhost","insecure":true}}]})");
    int fd = tcp_connect(client.port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", t.echo->port()) == 0);
    CHECK(echo_transfer(fd, 8u << 20, 12));
    ::close(fd);
    SocksUdpAssociation a(client.port("in"));
    std::vector<uint8_t> p(3000);
    Pattern(77).fill(p.data(), p.size());
    CHECK(a.round_trip(echo.port, p.data(), p.size(), 5, 2000));
    auto st = on_loop(*server.engine, [&] {
      return static_cast<Hysteria2Inbound*>(server.instance->quic_inbound("in"))->stats();
    });
    CHECK(st.authenticated == 1);
    CHECK(st.users["carol"].tcp_streams == 1);
    CHECK(st.users["carol"].udp_sessions == 1);
  }
  std::remove(cert_path.c_str());
  std::remove(key_path.c_str());
}

TEST_CASE("hysteria2: a config the outbound cannot use fails with a reason",
          "[integration][hysteria2][config]") {
  // Port hopping from a config builds (it used to be refused at start).
  auto cfg = parse_config(
      R"({"outbounds":[{"type":"hysteria2","tag":"hy","server":"127.0.0.1","server_port":1,
      "server_ports":"20000:20010","password":"p","tls":{"enabled":true}}]})",
      nullptr);
  REQUIRE(cfg);
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  std::string why;
  const bool ok = on_loop(*e, [&] {
    auto s = make_session(*e, cfg->outbounds[0], &why);
    return static_cast<bool>(s);
  });
  INFO(why);
  CHECK(ok);
  REQUIRE(e->stop());
  auto& h = std::get<Hysteria2OutboundOptions>(cfg->outbounds[0].options);
  auto so = hysteria2_session_options(h, cfg->outbounds[0].dial, &why);
  REQUIRE(so);
  CHECK(so->server_ports == std::vector<std::pair<uint16_t, uint16_t>>{{20000, 20010}});
  CHECK(so->hop_interval_ms == 30000);
  // Options built in code skip the config parser's checks: the session's
  // own conversion names the bad item.
  h.server_ports = {"443", "9:1"};
  why.clear();
  CHECK(!hysteria2_session_options(h, cfg->outbounds[0].dial, &why));
  CHECK(why.find("server_ports[1]") != std::string::npos);
  h.server_ports.clear();
  h.tls.ech.enabled = true;
  why.clear();
  CHECK(!hysteria2_session_options(h, cfg->outbounds[0].dial, &why));
  CHECK(why.find("tls.ech: no config") != std::string::npos);
}

TEST_CASE("hysteria2: port hopping across >= 3 hops during a transfer, one connection",
          "[integration][hysteria2][hopping]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  const std::vector<uint16_t> extra = free_udp_ports(3);
  Hy2Server s(cert, [&](Hysteria2InboundConfig& c) { c.extra_ports = extra; });
  const size_t legs = on_loop(*s.engine, [&] { return s.in->endpoint().socket().leg_count(); });
  REQUIRE(legs == 4);
  Hy2Client c(0, [&](Hysteria2SessionOptions& o) {
    o.server_ports = {{s.port, s.port}};
    for (uint16_t p : extra) o.server_ports.emplace_back(p, p);
    o.hop_interval_ms = 150;
    o.hop_interval_max_ms = 250;
  });
  int fd = c.socks_to(t.echo->port());
  echo_across_hops("hysteria2", fd, *c.engine, [&] { return c.hy->hops(); });
  ::close(fd);
  // One QUIC connection throughout: no reconnect, no second handshake.
  CHECK(c.stats().connections == 1);
  CHECK(c.stats().dials == 1);
  auto st = s.stats();
  CHECK(st.connections == 1);
  CHECK(st.authenticated == 1);
  // The server heard the client on several of its ports.
  CHECK(ports_heard(*s.engine, s.in->endpoint()) >= 2);
}

TEST_CASE("hysteria2: a server on several ports answers each peer from the port it used",
          "[integration][hysteria2][hopping]") {
  // The UDP layer alone: an echo handler on a three-port UdpSocket, and
  // plain sockets as peers, each checking the source port of its answer.
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  struct Echo final : quic::UdpSocketHandler {
    quic::UdpSocket* sock = nullptr;
    void on_datagram(const sockaddr* from, const uint8_t* d, size_t n) override {
      (void)sock->send(from, d, n, 0);
    }
    void on_batch_end() override {}
  } echo;
  std::unique_ptr<quic::UdpSocket> sock;
  const std::vector<uint16_t> extra = free_udp_ports(2);
  on_loop(*e, [&] {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto r = quic::UdpSocket::create(e->loop(), reinterpret_cast<sockaddr*>(&a), &echo);
    REQUIRE(r);
    sock = std::move(*r);
    echo.sock = sock.get();
    for (uint16_t p : extra) {
      a.sin_port = htons(p);
      REQUIRE(sock->add_leg(reinterpret_cast<sockaddr*>(&a)));
    }
    // A port in use is the bind's error, and the socket is unchanged.
    a.sin_port = htons(extra[0]);
    CHECK(sock->add_leg(reinterpret_cast<sockaddr*>(&a)).error() == Errc::address_in_use);
  });
  std::vector<uint16_t> ports = {on_loop(*e, [&] { return sock->leg_port(0); })};
  ports.insert(ports.end(), extra.begin(), extra.end());
  CHECK(on_loop(*e, [&] { return sock->leg_count(); }) == 3);
  int peer = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{2, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The same peer moves between the ports, as a hopping client's server
  // side sees it through one source address; each answer comes back from
  // the port it aimed at.
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < ports.size(); ++i) {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(ports[i]);
      const char msg[] = "hop";
      REQUIRE(::sendto(peer, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
              static_cast<ssize_t>(sizeof msg));
      char buf[16];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      const ssize_t n =
          ::recvfrom(peer, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      REQUIRE(n == static_cast<ssize_t>(sizeof msg));
      CHECK(ntohs(from.sin_port) == ports[i]);
    }
  }
  ::close(peer);
  on_loop(*e, [&] {
    for (size_t i = 0; i < 3; ++i) CHECK(sock->leg_received(i) == 2);
  });
  std::atomic<bool> closed{false};
  on_loop(*e, [&] {
    sock->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &closed);
  });
  REQUIRE(wait_until([&] { return closed.load(); }));
  sock.reset();
  REQUIRE(e->stop());
}

TEST_CASE("hysteria2: a hopping UDP socket sends from a new port each hop and hears the last two",
          "[integration][hysteria2][hopping]") {
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  struct Sink final : quic::UdpSocketHandler {
    std::atomic<int> got{0};
    sockaddr_storage last_from{};
    void on_datagram(const sockaddr* from, const uint8_t*, size_t) override {
      std::memcpy(&last_from, from, sizeof(sockaddr_in));
      got++;
    }
    void on_batch_end() override {}
  } sink;
  // Two "server ports": plain sockets.
  int srv[2];
  sockaddr_in srv_addr[2];
  for (int i = 0; i < 2; ++i) {
    srv[i] = ::socket(AF_INET, SOCK_DGRAM, 0);
    srv_addr[i] = {};
    srv_addr[i].sin_family = AF_INET;
    srv_addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(srv[i], reinterpret_cast<sockaddr*>(&srv_addr[i]), sizeof srv_addr[i]) == 0);
    socklen_t l = sizeof srv_addr[i];
    ::getsockname(srv[i], reinterpret_cast<sockaddr*>(&srv_addr[i]), &l);
    timeval tv{2, 0};
    ::setsockopt(srv[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  std::unique_ptr<quic::UdpSocket> sock;
  on_loop(*e, [&] {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto r = quic::UdpSocket::create(e->loop(), reinterpret_cast<sockaddr*>(&a), &sink);
    REQUIRE(r);
    sock = std::move(*r);
    sock->set_hop_peer(reinterpret_cast<sockaddr*>(&srv_addr[0]));
  });
  // send_from_socket: the socket sends "x" to the (virtual) peer; returns
  // the source port the server port |i| saw.
  auto send_and_see = [&](int i) -> uint16_t {
    on_loop(*e, [&] {
      const uint8_t x = 'x';
      CHECK(sock->send(reinterpret_cast<sockaddr*>(&srv_addr[0]), &x, 1, 0));
    });
    char b[4];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    if (::recvfrom(srv[i], b, sizeof b, 0, reinterpret_cast<sockaddr*>(&from), &fl) != 1) return 0;
    return ntohs(from.sin_port);
  };
  const uint16_t p0 = send_and_see(0);
  CHECK(p0 == on_loop(*e, [&] { return sock->leg_port(0); }));
  on_loop(*e, [&] { REQUIRE(sock->hop(reinterpret_cast<sockaddr*>(&srv_addr[1]))); });
  const uint16_t p1 = send_and_see(1);
  CHECK(p1 != 0);
  CHECK(p1 != p0);
  CHECK(on_loop(*e, [&] { return sock->leg_count(); }) == 2);
  // A late answer to the previous port still arrives, reported as from
  // the peer QUIC knows, whoever sent it.
  auto answer = [&](int from_srv, uint16_t to_port) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(to_port);
    const char m = 'y';
    ::sendto(srv[from_srv], &m, 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  };
  answer(0, p0);
  answer(1, p1);
  REQUIRE(wait_until([&] { return sink.got.load() == 2; }));
  on_loop(*e, [&] {
    CHECK(std::memcmp(&sink.last_from, &srv_addr[0], sizeof(sockaddr_in)) == 0);
    // The second hop closes the first socket.
    REQUIRE(sock->hop(reinterpret_cast<sockaddr*>(&srv_addr[0])));
    CHECK(sock->leg_count() == 2);
    CHECK(sock->stats().hops == 2);
    // QUIC's local address stays the first socket's.
    CHECK(ntohs(reinterpret_cast<const sockaddr_in*>(&sock->local_address())->sin_port) == p0);
  });
  const uint16_t p2 = send_and_see(0);
  CHECK(p2 != p0);
  CHECK(p2 != p1);
  answer(1, p1);  // the previous socket still hears
  REQUIRE(wait_until([&] { return sink.got.load() == 3; }));
  std::atomic<bool> closed{false};
  on_loop(*e, [&] {
    sock->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &closed);
  });
  REQUIRE(wait_until([&] { return closed.load(); }));
  sock.reset();
  REQUIRE(e->stop());
  for (int fd : srv) ::close(fd);
}

namespace {

// lossy_goodput echoes |bytes| through a client and server whose QUIC
// packets cross a relay dropping |loss_pct| % each way; Brutal at
// |rate_mbps| on both ends (0: BBR). Returns the goodput in Mbit/s (0 if
// the transfer failed).
double lossy_goodput(uint32_t rate_mbps, int loss_pct, size_t bytes) {
  SelfSigned cert = make_self_signed();
  Targets t;
  Hy2Server s(cert, [&](Hysteria2InboundConfig& c) { c.up_bps = uint64_t{rate_mbps} * 125000; });
  LossyRelay* relay =
      on_loop(*t.engine, [&] { return new LossyRelay(t.engine->loop(), s.port, loss_pct, 0); });
  const uint16_t relay_port = on_loop(*t.engine, [&] { return relay->port(); });
  double mbps = 0;
  {
    Hy2Client c(relay_port, [&](Hysteria2SessionOptions& o) {
      o.up_bps = uint64_t{rate_mbps} * 125000;
      o.down_bps = uint64_t{rate_mbps} * 125000;
      o.handshake_timeout_ms = 10000;
    });
    int fd = c.socks_to(t.echo->port());
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = echo_transfer(fd, bytes, 99, false);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    if (ok) mbps = static_cast<double>(bytes) * 8 / secs / 1e6;
  }
  std::atomic<bool> closed{false};
  on_loop(*t.engine, [&] { relay->close([&] { closed = true; }); });
  REQUIRE(wait_until([&] { return closed.load(); }));
  delete relay;
  return mbps;
}

}  // namespace

TEST_CASE("hysteria2: Brutal holds its rate at 5 % loss; BBR measured beside it",
          "[integration][hysteria2][brutal]") {
  REQUIRE(quic::cc_hook::available());
  const uint32_t rate = 20;  // Mbit/s each way, well below what loopback carries
  const double clean = lossy_goodput(rate, 0, 4u << 20);
  const double lossy = lossy_goodput(rate, 5, 4u << 20);
  const double bbr = lossy_goodput(0, 5, 4u << 20);
  std::printf(
      "hysteria2 echo goodput: Brutal(%u Mbit/s) %.1f Mbit/s at 0%% loss, %.1f at 5%%; "
      "BBR %.1f at 5%%\n",
      rate, clean, lossy, bbr);
  // Stated band: Brutal delivers 50 %..110 % of its configured rate (about
  // 90 % on an idle machine; a loaded one wakes the loop late), and 5 %
  // loss costs it at most a fifth of its loss-free goodput (loss
  // compensation sends rate / ackRate; without it 5 % of every window
  // would wait for retransmission).
  CHECK(clean >= 0.5 * rate);
  CHECK(clean <= 1.1 * rate);
  CHECK(lossy >= 0.5 * rate);
  CHECK(lossy <= 1.1 * rate);
  CHECK(lossy >= 0.8 * clean);
  CHECK(bbr > 0);
}

namespace {

// H3Get fetches one path with the QUIC core's HTTP/3 client.
struct H3Get final : quic::QuicDialHandler, quic::ConnectionHandler, quic::H3StreamHandler {
  std::string path;
  std::string method = "GET";
  std::string authority = "localhost";
  quic::H3Fields fields;
  std::string req_body;
  quic::H3Fields resp_fields;
  Engine* engine = nullptr;  // its pool holds the request body
  std::unique_ptr<quic::Endpoint> ep;
  quic::Connection* c = nullptr;
  std::unique_ptr<quic::H3Connection> h3;
  std::string body;
  int status = 0;
  std::string content_type;
  std::atomic<bool> finished{false};
  void on_quic_dial(Result<quic::QuicDialed> r, const char*) override {
    if (!r) {
      finished = true;
      return;
    }
    ep = std::move(r->endpoint);
    c = r->connection;
    c->set_handler(this);
    h3 = std::move(*quic::H3Connection::create(*c, nullptr));
    for (auto& es : r->early_streams) on_stream(*c, std::move(es));
    auto st = h3->request(method, authority, path, fields, !req_body.empty(), this);
    if (!st) {
      finished = true;
      return;
    }
    if (!req_body.empty()) {
      auto sl = engine->pool().copy_from(req_body.data(), req_body.size());
      if (!sl || !(*st)->write_body(std::move(*sl)) || !(*st)->end_body()) finished = true;
    }
  }
  void on_stream(quic::Connection& cc, std::unique_ptr<quic::QuicStream> s) override {
    if (!s->bidi()) {
      h3->accept_stream(std::move(s));
      return;
    }
    quic::ConnectionHandler::on_stream(cc, std::move(s));
  }
  void on_headers(quic::H3Stream& s) override {
    status = s.status();
    content_type = std::string(s.field("content-type"));
    resp_fields = s.fields();
  }
  void on_body(quic::H3Stream&, Slice&& d) override { body.append(d.view()); }
  void on_close(quic::H3Stream&, Errc) override { finished = true; }
};

struct Fetched {
  int status = 0;
  std::string body, content_type;
  quic::H3Fields fields;
  std::string field(std::string_view name) const {
    for (const auto& f : fields)
      if (f.name == name) return f.value;
    return "";
  }
};

Fetched fetch(uint16_t port, const std::string& path, const std::string& method = "GET",
              const quic::H3Fields& fields = {}, const std::string& body = "") {
  H3Get g;
  g.path = path;
  g.method = method;
  g.fields = fields;
  g.req_body = body;
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  g.engine = e.get();
  on_loop(*e, [&] {
    quic::QuicDialOptions d;
    quic::QuicDial::start(*e, "127.0.0.1", port, make_tls(client_opts({"h3"})), d, &g);
  });
  REQUIRE(wait_until([&] { return g.finished.load(); }));
  on_loop(*e, [&] {
    g.h3.reset();
    if (g.ep) g.ep->close(nullptr, nullptr);
  });
  REQUIRE(e->stop());
  g.ep.reset();
  return Fetched{g.status, g.body, g.content_type, g.resp_fields};
}

}  // namespace

TEST_CASE("hysteria2: file masquerade serves a directory, nothing outside it",
          "[integration][hysteria2]") {
  SelfSigned cert = make_self_signed();
  const std::string index = write_temp("hy2masq", "index.html", "<html>home</html>");
  const std::string dir = index.substr(0, index.rfind('/'));
  const std::string secret = write_temp("hy2masq", "secret.txt", "do not serve");
  // Serve a subdirectory holding only the page, next to the secret.
  const std::string root = dir + "/sluice_hy2masq_root_" + std::to_string(::getpid());
  REQUIRE(::mkdir(root.c_str(), 0700) == 0);
  const std::string page = root + "/index.html";
  REQUIRE(std::rename(index.c_str(), page.c_str()) == 0);
  Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
    c.masquerade.type = Hysteria2MasqueradeOptions::Type::file;
    c.masquerade.directory = root;
  });
  Fetched a = fetch(s.port, "/index.html");
  CHECK(a.status == 200);
  CHECK(a.body == "<html>home</html>");
  CHECK(a.content_type.find("text/html") == 0);
  Fetched b = fetch(s.port, "/");
  CHECK(b.status == 200);
  CHECK(b.body == "<html>home</html>");
  const std::string escape = "/../" + secret.substr(secret.rfind('/') + 1);
  Fetched c = fetch(s.port, escape);
  CHECK(c.status == 404);
  CHECK(c.body.find("do not serve") == std::string::npos);
  Fetched d = fetch(s.port, "/%2e%2e/x");
  CHECK(d.status == 404);
  Fetched e = fetch(s.port, "/missing.html");
  CHECK(e.status == 404);
  CHECK(e.body == "404 page not found\n");
  std::remove(page.c_str());
  ::rmdir(root.c_str());
  std::remove(secret.c_str());
}

namespace {

// Upstream: a plain HTTP/1.1 server on its own thread, one connection at a
// time: it reads a request (head and Content-Length body), keeps it, and
// answers with the next canned response (raw bytes), then closes.
struct Upstream {
  int fd = -1;
  uint16_t port = 0;
  std::vector<std::string> responses;  // in order; the last one repeats
  std::mutex mu;
  std::vector<std::string> requests;
  std::thread thread;
  std::atomic<bool> stop{false};

  explicit Upstream(std::vector<std::string> r) : responses(std::move(r)) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] { run(); });
  }
  ~Upstream() {
    stop = true;
    ::shutdown(fd, SHUT_RDWR);
    thread.join();
    ::close(fd);
  }
  void run() {
    for (size_t n = 0; !stop; ++n) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      size_t want = std::string::npos;
      while (want == std::string::npos || req.size() < want) {
        const ssize_t k = ::recv(c, buf, sizeof buf, 0);
        if (k <= 0) break;
        req.append(buf, static_cast<size_t>(k));
        const size_t end = req.find("\r\n\r\n");
        if (want == std::string::npos && end != std::string::npos) {
          size_t body = 0;
          const size_t cl = req.find("Content-Length: ");
          if (cl != std::string::npos && cl < end) body = std::stoul(req.substr(cl + 16));
          want = end + 4 + body;
        }
      }
      {
        std::lock_guard<std::mutex> g(mu);
        requests.push_back(req);
      }
      const std::string& r = responses[std::min(n, responses.size() - 1)];
      (void)send_all(c, r.data(), r.size());
      ::close(c);
    }
  }
  std::string request(size_t i) {
    std::lock_guard<std::mutex> g(mu);
    return i < requests.size() ? requests[i] : std::string();
  }
};

}  // namespace

TEST_CASE("hysteria2: proxy masquerade forwards to an HTTP/1.1 upstream, wrong auth included",
          "[integration][hysteria2][masquerade]") {
  SelfSigned cert = make_self_signed();
  const std::string teapot =
      "HTTP/1.1 418 I'm a teapot\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\n"
      "Connection: keep-alive\r\nContent-Length: 11\r\n\r\nshort and stout";
  Upstream up({teapot});
  Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
    c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
    c.masquerade.url = "http://127.0.0.1:" + std::to_string(up.port) + "/base?k=v";
  });
  {
    // A client with a wrong password gets exactly the upstream's answer.
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.password = "wrong"; });
    OpenResult* r = open_direct(c, 9);
    CHECK(r->error == Errc::auth_failed);
    CHECK(r->reason.find("authentication refused: HTTP 418") != std::string::npos);
    drop_open(c, r);
  }
  const std::string auth = up.request(0);
  CHECK(auth.rfind("POST /base/auth?k=v HTTP/1.1\r\n", 0) == 0);
  CHECK(auth.find("\r\nHost: hysteria\r\n") != std::string::npos);  // not rewritten
  CHECK(auth.find("\r\nhysteria-auth: wrong\r\n") != std::string::npos);
  CHECK(auth.find("\r\nContent-Length: 0\r\n") != std::string::npos);
  CHECK(auth.find("\r\nConnection: close\r\n") != std::string::npos);
  // A prober's GET: status, fields and body as the upstream sent them
  // (the body cut at Content-Length), hop-by-hop fields dropped both ways.
  // (HTTP/3 itself forbids connection-specific fields in the request.)
  Fetched g =
      fetch(s.port, "/page?x=1", "GET", {{"accept", "text/html"}, {"x-forwarded-for", "6.6.6.6"}});
  CHECK(g.status == 418);
  CHECK(g.body == "short and s");
  CHECK(g.field("x-upstream") == "yes");
  CHECK(g.field("content-type") == "text/plain");
  CHECK(g.field("connection").empty());
  const std::string get = up.request(1);
  CHECK(get.rfind("GET /base/page?k=v&x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(get.find("\r\nHost: localhost\r\n") != std::string::npos);
  CHECK(get.find("\r\naccept: text/html\r\n") != std::string::npos);
  CHECK(get.find("keep-alive") == std::string::npos);
  CHECK(get.find("6.6.6.6") == std::string::npos);
  // A POST body goes up with its length.
  Fetched p = fetch(s.port, "/form", "POST", {{"content-type", "text/plain"}}, "a=1&b=2");
  CHECK(p.status == 418);
  const std::string post = up.request(2);
  CHECK(post.find("\r\nContent-Length: 7\r\n") != std::string::npos);
  CHECK(post.substr(post.size() - 7) == "a=1&b=2");
  auto st = s.stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.masquerade == 3);
  CHECK(st.authenticated == 0);
}

TEST_CASE("hysteria2: proxy masquerade: chunked and close-delimited bodies, rewrite_host, 502",
          "[integration][hysteria2][masquerade]") {
  SelfSigned cert = make_self_signed();
  std::string big(300000, '\0');
  Pattern(big.size()).fill(reinterpret_cast<uint8_t*>(big.data()), big.size());
  Upstream up(
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n"
       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + big});
  Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
    c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
    c.masquerade.url = "http://127.0.0.1:" + std::to_string(up.port);
    c.masquerade.rewrite_host = true;
  });
  Fetched a = fetch(s.port, "/");
  CHECK(a.status == 200);
  CHECK(a.body == "hello world");
  CHECK(a.field("transfer-encoding").empty());
  CHECK(up.request(0).find("\r\nHost: 127.0.0.1:" + std::to_string(up.port) + "\r\n") !=
        std::string::npos);
  Fetched b = fetch(s.port, "/big");
  CHECK(b.status == 200);
  CHECK(b.body.size() == big.size());
  CHECK(b.body == big);
  // An upstream that is gone: 502, no body (the official ErrorHandler).
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a4{};
  a4.sin_family = AF_INET;
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&a4), sizeof a4) == 0);
  socklen_t len = sizeof a4;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&a4), &len);
  ::close(probe);
  Hy2Server dead(cert, [&](Hysteria2InboundConfig& c) {
    c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
    c.masquerade.url = "http://127.0.0.1:" + std::to_string(ntohs(a4.sin_port)) + "/";
  });
  Fetched d = fetch(dead.port, "/");
  CHECK(d.status == 502);
  CHECK(d.body.empty());
}

TEST_CASE("hysteria2: proxy masquerade to an https upstream (openssl s_server), verified or not",
          "[integration][hysteria2][masquerade]") {
  // openssl s_server -www answers any GET with an HTTP/1.0 status page
  // (ending at the close) over TLS, with the self-signed test certificate.
  const std::string openssl = require_binary("openssl", "openssl");
  SelfSigned cert = make_self_signed();
  TempDir dir("sluice_hy2_masq_");
  const std::string crt = dir.write("up.crt", cert.cert_pem);
  const std::string key = dir.write("up.key", cert.key_pem);
  std::vector<uint16_t> ports;
  auto peer = start_peer(
      "s_server", dir, 1,
      [&](const std::vector<uint16_t>& pp) {
        return std::vector<std::string>{openssl, "s_server", "-accept", std::to_string(pp[0]),
                                        "-cert", crt,        "-key",    key,
                                        "-www",  "-quiet"};
      },
      &ports);
  const std::string url = "https://127.0.0.1:" + std::to_string(ports[0]) + "/";
  {
    Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
      c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
      c.masquerade.url = url;
      c.masquerade.insecure = true;
    });
    Fetched f = fetch(s.port, "/");
    INFO(peer->describe());
    CHECK(f.status == 200);
    CHECK(f.body.find("<HTML>") != std::string::npos);
    CHECK(f.body.find("</HTML>") != std::string::npos);  // the whole page, up to the close
  }
  {
    // Verified against the system store: the self-signed upstream fails
    // its handshake, and the prober gets 502.
    Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
      c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
      c.masquerade.url = url;
    });
    Fetched f = fetch(s.port, "/");
    CHECK(f.status == 502);
    CHECK(f.body.empty());
  }
}

TEST_CASE("hysteria2: proxy masquerade: a bad URL fails the inbound with a reason",
          "[integration][hysteria2][masquerade]") {
  std::string why;
  CHECK(!parse_masquerade_url("ftp://x/", &why));
  CHECK(why.find("expected http:// or https://") != std::string::npos);
  CHECK(!parse_masquerade_url("http://user@x/", &why));
  CHECK(!parse_masquerade_url("http://x:99999/", &why));
  CHECK(why.find("bad port") != std::string::npos);
  CHECK(!parse_masquerade_url("http:///path", &why));
  CHECK(!parse_masquerade_url("http://[::1/", &why));
  CHECK(!parse_masquerade_url("http://x/a b", &why));
  auto u = parse_masquerade_url("https://[::1]:8443/a/b?q=1", &why);
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "::1");
  CHECK(u->port == 8443);
  CHECK(u->authority == "[::1]:8443");
  CHECK(u->path == "/a/b");
  CHECK(u->query == "q=1");
  auto v = parse_masquerade_url("http://example.com", &why);
  REQUIRE(v);
  CHECK(v->port == 80);
  CHECK(v->path.empty());
  // Through the inbound: the reason reaches the caller.
  SelfSigned cert = make_self_signed();
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  REQUIRE(e->start());
  Hysteria2InboundConfig c;
  c.users = {{"a", "b"}};
  c.tls.cert_pem = cert.cert_pem;
  c.tls.key_pem = cert.key_pem;
  c.masquerade.type = Hysteria2MasqueradeOptions::Type::proxy;
  c.masquerade.url = "http://host:0/";
  DirectSession direct(*e, "direct", net::DialOptions{});
  FinalRouter router(&direct);
  const bool ok = on_loop(*e, [&] {
    auto r = Hysteria2Inbound::create(*e, c, &router, &why);
    return static_cast<bool>(r);
  });
  CHECK(!ok);
  CHECK(why.find("masquerade url") != std::string::npos);
  REQUIRE(e->stop());
}

TEST_CASE("hysteria2: chunked decoder: any split, and malformed bodies",
          "[integration][hysteria2][masquerade]") {
  BufferPool pool;
  // decode feeds |wire| cut into pieces of |step| bytes; "!" on an error,
  // "+" appended when the body ended.
  auto decode = [&](std::string_view wire, size_t step) {
    http::ChunkedDecoder d;
    std::string out;
    for (size_t off = 0; off < wire.size(); off += step) {
      const size_t n = std::min(step, wire.size() - off);
      auto sl = pool.copy_from(wire.data() + off, n);
      REQUIRE(sl);
      Slice in = std::move(*sl);
      while (!in.empty() && !d.done()) {
        Slice piece;
        if (!d.feed(in, &piece)) return out + "!";
        out.append(piece.view());
      }
    }
    return d.done() ? out + "+" : out;
  };
  const std::string ok =
      "5\r\nhello\r\n6;name=value\r\n world\r\nA\n0123456789\n0\r\nTrailer: x\r\n\r\n";
  for (size_t step = 1; step <= ok.size(); ++step) {
    INFO("step " << step);
    CHECK(decode(ok, step) == "hello world0123456789+");
  }
  CHECK(decode("0\r\n\r\n", 64) == "+");
  CHECK(decode("5\r\nhel", 64) == "hel");  // incomplete, no error yet
  CHECK(decode("x\r\n", 64) == "!");
  CHECK(decode("\r\n", 64) == "!");
  CHECK(decode("5\r\nhelloX\r\n", 64) == "hello!");
  CHECK(decode("5\rX", 64) == "!");
  CHECK(decode("1000000000000000\r\n", 64) == "!");  // 16 hex digits
  CHECK(decode("5;" + std::string(5000, 'e') + "\r\n", 8192) == "!");
  CHECK(decode("0\r\n" + std::string(5000, 't') + "\r\n\r\n", 8192) == "!");
}

TEST_CASE("hysteria2: the server's cc-rx auto hands a Brutal client to BBR; a lower rx caps it",
          "[integration][hysteria2][brutal]") {
  SelfSigned cert = make_self_signed();
  Targets t;
  struct Cc {
    bool brutal = false, fallen_back = false;
    uint64_t rate = 0, sent = 0;
  };
  auto cc_of = [](Hy2Client& c) {
    return on_loop(*c.engine, [&] {
      Cc r;
      auto* b = dynamic_cast<quic::Brutal*>(c.hy->connection()->rate_controller());
      if (b == nullptr) return r;
      r.brutal = true;
      r.fallen_back = quic::cc_hook::fallen_back(b);
      r.rate = b->rate();
      r.sent = b->sent_bytes();
      return r;
    });
  };
  {
    // ignore_client_bandwidth: the server answers "auto".
    Hy2Server s(cert, [](Hysteria2InboundConfig& c) { c.ignore_client_bandwidth = true; });
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.up_bps = 100 * 125000; });
    int fd = c.socks_to(t.echo->port());
    CHECK(echo_transfer(fd, 1000, 21, false));
    CHECK(on_loop(*c.engine, [&] { return c.hy->server_rx(); }) == "auto");
    const Cc before = cc_of(c);
    REQUIRE(before.brutal);
    CHECK(before.fallen_back);
    // BBR carries the transfer: Brutal hears none of its packets.
    CHECK(echo_transfer(fd, 8u << 20, 22));
    ::close(fd);
    const Cc after = cc_of(c);
    CHECK(after.fallen_back);
    CHECK(after.sent == before.sent);
  }
  {
    // A server receiving at most 10 Mbit/s: Brutal stays, at that rate.
    Hy2Server s(cert, [](Hysteria2InboundConfig& c) { c.down_bps = 10 * 125000; });
    Hy2Client c(s.port, [](Hysteria2SessionOptions& o) { o.up_bps = 100 * 125000; });
    int fd = c.socks_to(t.echo->port());
    CHECK(echo_transfer(fd, 1000, 23, false));
    const Cc before = cc_of(c);
    REQUIRE(before.brutal);
    CHECK_FALSE(before.fallen_back);
    CHECK(before.rate == 10 * 125000);
    CHECK(echo_transfer(fd, 1u << 20, 24));
    ::close(fd);
    CHECK(cc_of(c).sent > before.sent + (1u << 20));
  }
}

TEST_CASE("hysteria2: the server sends with Brutal at the client's announced rate, else BBR",
          "[integration][hysteria2][brutal]") {
  // The official server's rule (core/server/server.go): Brutal at the
  // client's hysteria-cc-rx capped by the server's own up limit; BBR when
  // the client announces 0 or the server ignores client bandwidth.
  SelfSigned cert = make_self_signed();
  Targets t;
  struct Row {
    const char* what;
    uint64_t server_up, client_down;
    bool ignore;
    uint64_t want_rate;  // 0 = BBR
  };
  const Row rows[] = {
      {"no server limit: the client's rate", 0, 50 * 125000, false, 50 * 125000},
      {"a lower server limit caps it", 20 * 125000, 50 * 125000, false, 20 * 125000},
      {"a higher server limit: the client's rate", 200 * 125000, 50 * 125000, false, 50 * 125000},
      {"the client announces 0: BBR", 20 * 125000, 0, false, 0},
      {"ignore_client_bandwidth: BBR", 20 * 125000, 50 * 125000, true, 0},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    Hy2Server s(cert, [&](Hysteria2InboundConfig& c) {
      c.up_bps = r.server_up;
      c.ignore_client_bandwidth = r.ignore;
    });
    Hy2Client c(s.port, [&](Hysteria2SessionOptions& o) { o.down_bps = r.client_down; });
    int fd = c.socks_to(t.echo->port());
    // Both directions carry data under whichever controller was chosen.
    CHECK(echo_transfer(fd, 1u << 20, 31, false));
    ::close(fd);
    const auto st = s.stats();
    CHECK(st.authenticated == 1);
    CHECK(st.brutal == (r.want_rate != 0 ? 1u : 0u));
    CHECK(st.brutal_rate == r.want_rate);
  }
}

// QuicDial end to end on the loopback (sluice client <-> sluice server):
// resolving and dialing with ECH accepted, the single ECH retry after the
// server rotated its keys, a rejection without retry configs, a handshake
// timeout against a silent UDP port, cancel(), the Engine stopping mid-dial,
// and the EchRetry rules the dial shares with TlsDial.
#include <netdb.h>

#include <catch2/catch.hpp>

#include "crypto/tls_ech.hpp"
#include "quic/quic_dial.hpp"
#include "quic_support.hpp"
#include "transport/ech_retry.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// DialResult records what the dial delivered.
struct DialResult final : quic::QuicDialHandler {
  std::atomic<int> calls{0};
  std::atomic<bool> heard{false};
  Errc error = Errc::ok;
  std::string reason;
  quic::QuicDialed out;
  void on_quic_dial(Result<quic::QuicDialed> r, const char* why) override {
    reason = why;
    if (r) {
      error = Errc::ok;
      out = std::move(*r);
    } else {
      error = r.error();
    }
    calls++;
    heard = true;
  }
};

struct ClientConn final : quic::ConnectionHandler {
  std::atomic<bool> closed{false};
  void on_closed(quic::Connection&, Errc, uint64_t, const char*) override { closed = true; }
};

// Blackhole is a bound UDP socket that reads and never answers.
struct Blackhole {
  uv_udp_t udp{};
  std::atomic<int> datagrams{0};
  uint8_t buf[2048];
  explicit Blackhole(uv_loop_t* loop) {
    uv_udp_init(loop, &udp);
    udp.data = this;
    sockaddr_in a{};
    uv_ip4_addr("127.0.0.1", 0, &a);
    REQUIRE(uv_udp_bind(&udp, reinterpret_cast<sockaddr*>(&a), 0) == 0);
    uv_udp_recv_start(
        &udp,
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* self = static_cast<Blackhole*>(h->data);
          *b = uv_buf_init(reinterpret_cast<char*>(self->buf), sizeof self->buf);
        },
        [](uv_udp_t* u, ssize_t n, const uv_buf_t*, const sockaddr* from, unsigned) {
          if (n > 0 && from) static_cast<Blackhole*>(u->data)->datagrams++;
        });
  }
  uint16_t port() {
    sockaddr_in a{};
    int len = sizeof a;
    uv_udp_getsockname(&udp, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
};

std::vector<uint8_t> config_list(const tls::EchKeyPairPem& kp) {
  std::string why;
  auto l = tls::ech_config_list_from_text(kp.configs, &why);
  INFO(why);
  REQUIRE(l);
  return *l;
}

struct Env {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  EchoServer server_handler;
  std::unique_ptr<quic::Endpoint> server;
  DialResult dial;
  std::unique_ptr<Blackhole> hole;

  Env() {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
  }
  void start_server(const quic::QuicTlsOptions& so, const std::string& bind = "127.0.0.1") {
    auto ctx = make_tls(so);
    quic::EndpointOptions eo;
    eo.bind_host = bind;
    on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, eo, ctx, &server_handler);
      REQUIRE(s);
      server = std::move(*s);
    });
  }
  uint16_t port() {
    return on_loop(*engine, [&] { return server->port(); });
  }
  quic::EndpointStats server_stats() {
    return on_loop(*engine, [&] { return server->stats(); });
  }
  // start_dial starts a dial; returns the QuicDial (nullptr if it ended at once).
  quic::QuicDial* start_dial(const std::string& host, uint16_t port, const quic::QuicTlsOptions& co,
                             const quic::QuicDialOptions& o = {}) {
    auto ctx = make_tls(co);
    return on_loop(*engine,
                   [&] { return quic::QuicDial::start(*engine, host, port, ctx, o, &dial); });
  }
  Errc wait_dial() {
    REQUIRE(wait_until([&] { return dial.heard.load(); }, 20000ms));
    CHECK(dial.calls.load() == 1);
    INFO(dial.reason);
    return dial.error;
  }
  void close_endpoint(std::unique_ptr<quic::Endpoint>& ep) { test::close_endpoint(*engine, ep); }
  // open_blackhole starts a silent UDP port; returns it.
  uint16_t open_blackhole() {
    return on_loop(*engine, [&] {
      hole = std::make_unique<Blackhole>(engine->loop());
      return hole->port();
    });
  }
  // objects counts the Engine's live objects.
  size_t objects() {
    return on_loop(*engine, [&] { return engine->stats().objects; });
  }
  void close_blackhole() {
    if (!hole) return;
    std::atomic<bool> closed{false};
    on_loop(*engine, [&] {
      hole->udp.data = &closed;
      uv_close(reinterpret_cast<uv_handle_t*>(&hole->udp),
               [](uv_handle_t* h) { *static_cast<std::atomic<bool>*>(h->data) = true; });
    });
    REQUIRE(wait_until([&] { return closed.load(); }, 10000ms));
    hole.reset();
  }
  ~Env() {
    close_blackhole();
    close_endpoint(dial.out.endpoint);
    close_endpoint(server);
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
};

// echo_check sends 64 KiB on a new stream of the dialed connection and
// checks the hash-verified echo: the delivered connection is usable.
void echo_check(Env& env, ClientConn& h) {
  std::atomic<bool> done{false};
  Transfer* t = nullptr;
  on_loop(*env.engine, [&] {
    quic::Connection* c = env.dial.out.connection;
    c->set_handler(&h);
    auto s = c->open_bidi_stream();
    REQUIRE(s);
    t = new Transfer(std::move(*s), env.engine->pool(), 64 * 1024, 11);
    t->on_done = [&](Transfer*) { done = true; };
  });
  REQUIRE(wait_until([&] { return done.load(); }, 20000ms));
  CHECK(on_loop(*env.engine, [&] {
    const bool ok = t->ok();
    t->s->set_handler(nullptr);
    t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    return ok;
  }));
}

// first_localhost_address is where "localhost" resolves first, as the dial
// will see it (an IP literal).
std::string first_localhost_address() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  REQUIRE(getaddrinfo("localhost", nullptr, &hints, &res) == 0);
  REQUIRE(res);
  char text[INET6_ADDRSTRLEN] = {};
  if (res->ai_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, text,
              sizeof text);
  else
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
  freeaddrinfo(res);
  return text;
}

}  // namespace

TEST_CASE("QuicDial resolves the name and connects with ECH accepted",
          "[integration][quic][quic_dial][ech]") {
  Env env;
  auto kp = tls::generate_ech_keypair("public.example");
  REQUIRE(kp);
  auto so = server_opts(env.cert);
  so.ech_keys_pem = kp->keys;
  // The server listens where "localhost" resolves first, so the dial's
  // resolution and its wildcard bind of that family are exercised.
  env.start_server(so, first_localhost_address());
  auto co = client_opts();
  co.verify_peer = true;
  co.ca_pem = env.cert.cert_pem;  // the inner name "localhost" is authenticated
  co.ech_config_list = config_list(*kp);
  env.start_dial("localhost", env.port(), co);
  REQUIRE(env.wait_dial() == Errc::ok);
  REQUIRE(env.dial.out.endpoint);
  REQUIRE(env.dial.out.connection);
  CHECK(on_loop(*env.engine, [&] {
    return env.dial.out.connection->ech_accepted() &&
           env.dial.out.connection->handshake_completed();
  }));
  ClientConn h;
  echo_check(env, h);
  CHECK(env.server_stats().connections_accepted == 1);
  const EngineStats st = env.engine->stats();
  CHECK(st.ech_accepted == 1);
  CHECK(st.ech_rejected == 0);
  CHECK(st.ech_retried == 0);
}

TEST_CASE("QuicDial retries once with the retry configs of a server that rotated its ECH keys",
          "[integration][quic][quic_dial][ech]") {
  Env env;
  auto current = tls::generate_ech_keypair("public.example");
  auto stale = tls::generate_ech_keypair("public.example");
  REQUIRE(current);
  REQUIRE(stale);
  auto so = server_opts(env.cert);
  so.ech_keys_pem = current->keys;
  env.start_server(so);
  auto co = client_opts();  // insecure: the outer certificate is not for public.example
  co.ech_config_list = config_list(*stale);
  env.start_dial("127.0.0.1", env.port(), co);
  REQUIRE(env.wait_dial() == Errc::ok);
  CHECK(on_loop(*env.engine, [&] { return env.dial.out.connection->ech_accepted(); }));
  ClientConn h;
  echo_check(env, h);
  // Two connections reached the server: the rejected one and the retry.
  CHECK(env.server_stats().connections_accepted == 2);
  CHECK(env.server_handler.accepted.load() == 2);
  const EngineStats st = env.engine->stats();
  CHECK(st.ech_rejected == 1);
  CHECK(st.ech_retried == 1);
  CHECK(st.ech_accepted == 1);
}

TEST_CASE("QuicDial fails on an ECH rejection without retry configs and does not retry",
          "[integration][quic][quic_dial][ech]") {
  Env env;
  auto kp = tls::generate_ech_keypair("public.example");
  REQUIRE(kp);
  env.start_server(server_opts(env.cert));  // no ECH keys: it "securely disables" ECH
  auto co = client_opts();
  co.ech_config_list = config_list(*kp);
  env.start_dial("127.0.0.1", env.port(), co);
  CHECK(env.wait_dial() == Errc::ech_rejected);
  CHECK_FALSE(env.dial.out.endpoint);
  INFO(env.dial.reason);
  CHECK(env.dial.reason.find("without retry configs") != std::string::npos);
  CHECK(env.server_stats().connections_accepted == 1);
  const EngineStats st = env.engine->stats();
  CHECK(st.ech_rejected == 1);
  CHECK(st.ech_retried == 0);
  CHECK(st.ech_accepted == 0);
}

TEST_CASE("QuicDial times out against a UDP port that never answers",
          "[integration][quic][quic_dial]") {
  Env env;
  const uint16_t port = env.open_blackhole();
  const size_t objects = env.objects();
  quic::QuicDialOptions o;
  o.handshake_timeout_ms = 300;
  // No ticket cache or token store: the Engine keeps those in an Engine
  // object of their own, which would outlive the dial.
  o.endpoint.resume_sessions = false;
  o.endpoint.use_new_tokens = false;
  env.start_dial("127.0.0.1", port, client_opts(), o);
  CHECK(env.wait_dial() == Errc::timed_out);
  CHECK(env.hole->datagrams.load() >= 1);  // the Initial went out
  INFO(env.dial.reason);
  CHECK(env.dial.reason.find("timed out") != std::string::npos);
  // The attempt's Endpoint closed itself.
  CHECK(wait_until([&] { return env.objects() == objects; }, 10000ms));
}

TEST_CASE("QuicDial cancel() calls nothing back and frees everything",
          "[integration][quic][quic_dial]") {
  Env env;
  const uint16_t port = env.open_blackhole();
  const size_t objects = env.objects();
  quic::QuicDialOptions o;
  o.handshake_timeout_ms = 30000;
  // No ticket cache or token store: the Engine keeps those in an Engine
  // object of their own, which would outlive the dial.
  o.endpoint.resume_sessions = false;
  o.endpoint.use_new_tokens = false;

  SECTION("while the handshake is in flight") {
    quic::QuicDial* d = env.start_dial("127.0.0.1", port, client_opts(), o);
    REQUIRE(d);
    REQUIRE(wait_until([&] { return env.hole->datagrams.load() >= 1; }, 10000ms));
    CHECK(env.objects() > objects);  // the dial and its Endpoint
    on_loop(*env.engine, [&] { d->cancel(); });
  }
  SECTION("while the name is being resolved") {
    auto ctx = make_tls(client_opts());
    on_loop(*env.engine, [&] {
      quic::QuicDial* d = quic::QuicDial::start(*env.engine, "localhost", port, ctx, o, &env.dial);
      REQUIRE(d);
      d->cancel();
    });
  }
  // The Endpoint (if any) and the dial's Engine registration are gone and
  // the dial's timer is closed: nothing is left that could call back.
  REQUIRE(wait_until([&] { return env.objects() == objects; }, 10000ms));
  on_loop(*env.engine, [] {});
  CHECK(env.dial.calls.load() == 0);
}

TEST_CASE("QuicDial hears Errc::closed when the Engine stops during the handshake",
          "[integration][quic][quic_dial]") {
  Env env;
  const uint16_t port = env.open_blackhole();
  quic::QuicDialOptions o;
  o.handshake_timeout_ms = 30000;
  REQUIRE(env.start_dial("127.0.0.1", port, client_opts(), o));
  REQUIRE(wait_until([&] { return env.hole->datagrams.load() >= 1; }, 10000ms));
  env.close_blackhole();
  // stop() closes every object; the dial reports and frees its Endpoint
  // (ASan: nothing leaks).
  REQUIRE(env.engine->stop());
  CHECK(env.dial.calls.load() == 1);
  CHECK(env.dial.error == Errc::closed);
  CHECK(env.dial.reason == "engine stopping");
}

TEST_CASE("QuicDial rejects a server TLS context and port 0 at once",
          "[integration][quic][quic_dial]") {
  Env env;
  SECTION("server context") {
    quic::QuicDial* d = on_loop(*env.engine, [&] {
      auto ctx = make_tls(server_opts(env.cert));
      return quic::QuicDial::start(*env.engine, "127.0.0.1", 443, ctx, {}, &env.dial);
    });
    CHECK(d == nullptr);
  }
  SECTION("port 0") {
    quic::QuicDial* d = env.start_dial("127.0.0.1", 0, client_opts());
    CHECK(d == nullptr);
  }
  CHECK(env.dial.calls.load() == 1);
  CHECK(env.dial.error == Errc::invalid_argument);
}

TEST_CASE("EchRetry allows one retry with usable retry configs and counts the outcomes",
          "[integration][quic_dial][ech]") {
  // The rules TlsDial and QuicDial share, without sockets: an Engine that
  // never starts (its loop thread is this one) holds the counters.
  auto engine = std::move(*Engine::create());
  auto kp = tls::generate_ech_keypair("public.example");
  REQUIRE(kp);
  const std::vector<uint8_t> good = config_list(*kp);
  EchRetry ech(*engine, "quic", "server.example", 443);

  SECTION("other errors pass through") {
    auto v = ech.failed(Errc::cert_verify_failed, "verify failed", good);
    CHECK_FALSE(v.retry);
    CHECK(v.reason == "verify failed");
    CHECK(engine->stats().ech_rejected == 0);
  }
  SECTION("a rejection without retry configs is final") {
    auto v = ech.failed(Errc::ech_rejected, "rejected", {});
    CHECK_FALSE(v.retry);
    CHECK(v.reason == "rejected");
    CHECK(engine->stats().ech_rejected == 1);
    CHECK(engine->stats().ech_retried == 0);
  }
  SECTION("unusable retry configs are final, with the reason") {
    const std::vector<uint8_t> junk = {0x00, 0x05, 0xfe, 0x0d, 0x00, 0x01, 0x00};
    auto v = ech.failed(Errc::ech_rejected, "rejected", junk);
    CHECK_FALSE(v.retry);
    CHECK(v.reason.find("rejected; retry configs unusable: ") == 0);
    CHECK(engine->stats().ech_retried == 0);
    CHECK_FALSE(ech.retried());
  }
  SECTION("one retry, then a second rejection is final") {
    auto v = ech.failed(Errc::ech_rejected, "rejected", good);
    REQUIRE(v.retry);
    CHECK(v.configs == good);  // already filtered: unchanged
    CHECK(ech.retried());
    auto v2 = ech.failed(Errc::ech_rejected, "rejected", good);
    CHECK_FALSE(v2.retry);
    CHECK(v2.reason == "rejected (after one retry with the server's configs)");
    CHECK(engine->stats().ech_rejected == 2);
    CHECK(engine->stats().ech_retried == 1);
  }
  SECTION("an accepted handshake counts once") {
    ech.established(true, true);
    ech.established(false, false);
    CHECK(engine->stats().ech_accepted == 1);
  }
}

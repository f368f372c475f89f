// A QUIC client that completes the handshake with the right ALPN and then
// sends nothing, against each QUIC inbound (TUIC, Hysteria2, Hysteria v1):
// the server closes it at its authentication deadline (TUIC auth_timeout,
// default 3 s from the handshake; Hysteria2 auth_timeout_ms, 10 s from the
// handshake or the latest HTTP/3 request; Hysteria v1 auth_timeout_ms, 10 s
// from accept for the control stream's ClientHello), gives back what the
// connection held (the server's pool and connection count return to where
// they were), and an authenticated client of the same inbound relays
// meanwhile and afterwards. The deadlines are set short here through the
// inbounds' options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "inbound/hysteria1_inbound.hpp"
#include "inbound/hysteria2_inbound.hpp"
#include "inbound/router.hpp"
#include "inbound/tuic_inbound.hpp"
#include "quic_support.hpp"
#include "session/direct_session.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kDeadlineMs = 1500;
constexpr int kSilent = 4;  // silent connections per inbound

// Server is one QUIC inbound on its own Engine with a direct outbound.
struct Server {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ServerDriver> in;
  quic::Endpoint* endpoint = nullptr;
  uint16_t port = 0;
  // timeouts: the inbound's count of connections closed at the deadline.
  std::function<uint64_t()> timeouts;

  // Server builds the inbound with |make| on the loop.
  explicit Server(const std::function<Result<std::unique_ptr<ServerDriver>>(Engine&, Router*,
                                                                            std::string*)>& make) {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
    std::string why;
    const bool ok = on_loop(*engine, [&] {
      direct = std::make_unique<DirectSession>(*engine, "direct", net::DialOptions{});
      router = std::make_unique<FinalRouter>(direct.get());
      auto r = make(*engine, router.get(), &why);
      if (!r) return false;
      in = std::move(*r);
      port = in->port();
      return true;
    });
    INFO(why);
    REQUIRE(ok);
  }
  ~Server() {
    REQUIRE(engine->stop());
    in.reset();
    router.reset();
    direct.reset();
    engine.reset();
  }
  size_t connections() {
    return on_loop(*engine, [this] { return endpoint->connection_count(); });
  }
  uint64_t chunks() {
    return on_loop(*engine, [this] { return engine->stats().pool.chunks_outstanding; });
  }
  uint64_t timed_out() {
    return on_loop(*engine, [this] { return timeouts(); });
  }
};

// SilentHandler hears a client connection that completes QUIC and sends
// nothing: the streams the server opens (HTTP/3's control and QPACK
// streams) are kept unread rather than reset, since resetting a critical
// stream is an HTTP/3 error of its own.
struct SilentHandler final : quic::ConnectionHandler {
  std::atomic<bool> up{false};
  std::atomic<bool> closed{false};
  uint64_t app_error = 0;
  std::string reason;
  std::vector<std::unique_ptr<quic::QuicStream>> kept;
  void on_handshake_done(quic::Connection&) override { up = true; }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    kept.push_back(std::move(s));
  }
  void on_closed(quic::Connection&, Errc, uint64_t code, const char* why) override {
    app_error = code;
    reason = why ? why : "";
    closed = true;
  }
  // drop closes the kept streams (on the loop).
  void drop() {
    for (auto& s : kept) close_and_delete(s.release());
    kept.clear();
  }
};

// Silent is one such connection, on its own client Endpoint.
struct Silent {
  std::unique_ptr<quic::Endpoint> ep;
  SilentHandler h;
  Clock::time_point started;
  Clock::time_point closed_at;
};

// quiet_chunks waits until the server's outstanding pool chunks hold still
// (two equal readings 100 ms apart) and returns them.
uint64_t quiet_chunks(Server& s) {
  uint64_t last = s.chunks();
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const uint64_t now = s.chunks();
    if (now == last) return now;
    last = now;
  }
  return last;
}

// Expect is how an inbound closes a connection at its deadline.
struct Expect {
  const char* name;
  std::vector<std::string> alpn;
  uint64_t app_error;
  std::string reason;
};

void run(Server& server, const std::string& client_outbound, const Expect& x) {
  INFO(x.name);
  LogCapture log;  // the closes are logged at info: keep the output to warnings
  auto targets = std::move(*Engine::create());
  TestServer echo(*targets, TestServer::Mode::echo);
  REQUIRE(targets->start());
  {
    Side client(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1",
            "listen_port":0}],"outbounds":[{"tag":"up","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port) + "," + client_outbound + "}]}");
    auto tunnel = [&](size_t n, uint64_t seed) {
      int fd = tcp_connect(client.port("in"));
      const bool ok =
          socks5_connect(fd, "127.0.0.1", echo.port()) == 0 && echo_transfer(fd, n, seed, true);
      ::close(fd);
      return ok;
    };
    // The authenticated client's connection, idle between tunnels, is the
    // baseline.
    REQUIRE(tunnel(256 << 10, 1));
    REQUIRE(wait_until([&] { return server.connections() == 1; }, std::chrono::seconds(10)));
    const uint64_t base = quiet_chunks(server);
    const uint64_t timeouts0 = server.timed_out();

    auto tls = client_tls(x.alpn);
    std::vector<std::unique_ptr<Silent>> silent;
    for (int i = 0; i < kSilent; ++i) {
      auto s = std::make_unique<Silent>();
      s->started = Clock::now();
      Silent* raw = s.get();
      REQUIRE(on_loop(*client.engine, [&] {
        auto e = quic::Endpoint::create(*client.engine, quic::EndpointOptions{}, tls, nullptr);
        if (!e) return false;
        raw->ep = std::move(*e);
        return raw->ep->connect("127.0.0.1", server.port, &raw->h).has_value();
      }));
      silent.push_back(std::move(s));
    }
    for (auto& s : silent)
      CHECK(wait_until([&] { return s->h.up.load() || s->h.closed.load(); },
                       std::chrono::seconds(10)));
    for (auto& s : silent) CHECK(s->h.up);
    CHECK(server.connections() == 1 + kSilent);
    // Meanwhile the authenticated client relays.
    const bool all_open = std::none_of(silent.begin(), silent.end(),
                                       [](const auto& s) { return s->h.closed.load(); });
    CHECK(tunnel(1 << 20, 2));
    INFO("the silent connections were all open during the tunnel: " << all_open);
    // Each is closed by the server at its deadline, with the protocol's code.
    for (auto& s : silent) {
      CHECK(wait_until([&] { return s->h.closed.load(); },
                       std::chrono::milliseconds(kDeadlineMs + 10000)));
      s->closed_at = Clock::now();
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (auto& s : silent) {
      CHECK(s->h.app_error == x.app_error);
      CHECK(s->h.reason == x.reason);
      const auto ms = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(s->closed_at - s->started).count());
      lo = std::min(lo, ms);
      hi = std::max(hi, ms);
    }
    // Not before the deadline (the server's clock starts after the client's
    // connect); the upper bound only catches a deadline that never fired.
    CHECK(lo >= kDeadlineMs);
    CHECK(hi < kDeadlineMs + 10000);
    std::printf("%s: deadline %llu ms: %d silent connections closed %llu-%llu ms after connect\n",
                x.name, static_cast<unsigned long long>(kDeadlineMs), kSilent,
                static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    CHECK(server.timed_out() - timeouts0 == kSilent);
    // Their state is gone: connections and pool back to the baseline.
    CHECK(wait_until([&] { return server.connections() == 1; }, std::chrono::seconds(10)));
    CHECK(wait_until([&] { return server.chunks() == base; }, std::chrono::seconds(10)));
    INFO("pool chunks: baseline " << base << ", now " << server.chunks());
    // The authenticated client goes on.
    CHECK(tunnel(1 << 20, 3));
    for (auto& s : silent) {
      on_loop(*client.engine, [&] { s->h.drop(); });
      close_endpoint(*client.engine, s->ep);
    }
  }
  REQUIRE(targets->stop());
}

}  // namespace

TEST_CASE("quic auth deadline: TUIC closes a connection that never authenticates",
          "[integration][quic_auth_deadline][tuic]") {
  SelfSigned cert = make_self_signed();
  const std::string uuid = "fe35d05b-8803-45c4-bae6-723ad2cd5d3d";
  const tuic::Uuid id = {0xfe, 0x35, 0xd0, 0x5b, 0x88, 0x03, 0x45, 0xc4,
                         0xba, 0xe6, 0x72, 0x3a, 0xd2, 0xcd, 0x5d, 0x3d};
  Server server([&](Engine& e, Router* r, std::string* why) {
    TuicInboundConfig c;
    c.tag = "in";
    c.users = {{"bob", id, "tuic"}};
    c.tls.cert_pem = cert.cert_pem;
    c.tls.key_pem = cert.key_pem;
    c.tls.alpn = {"h3"};
    c.auth_timeout_ms = kDeadlineMs;
    auto in = TuicInbound::create(e, c, r, why);
    if (!in) return Result<std::unique_ptr<ServerDriver>>(in.error());
    return Result<std::unique_ptr<ServerDriver>>(std::unique_ptr<ServerDriver>(std::move(*in)));
  });
  auto* in = static_cast<TuicInbound*>(server.in.get());
  server.timeouts = [in] { return in->stats().auth_timeouts; };
  server.endpoint = &in->source().endpoint();
  run(server,
      R"("type":"tuic","uuid":")" + uuid +
          R"(","password":"tuic","tls":{"enabled":true,"server_name":"localhost","insecure":true,
          "alpn":["h3"]})",
      {"tuic", {"h3"}, 0, "tuic: authentication timed out"});
}

TEST_CASE("quic auth deadline: Hysteria2 closes a connection that never authenticates",
          "[integration][quic_auth_deadline][hysteria2]") {
  SelfSigned cert = make_self_signed();
  Server server([&](Engine& e, Router* r, std::string* why) {
    Hysteria2InboundConfig c;
    c.tag = "in";
    c.users = {{"alice", "alice's password"}};
    c.tls.cert_pem = cert.cert_pem;
    c.tls.key_pem = cert.key_pem;
    c.auth_timeout_ms = kDeadlineMs;
    auto in = Hysteria2Inbound::create(e, c, r, why);
    if (!in) return Result<std::unique_ptr<ServerDriver>>(in.error());
    return Result<std::unique_ptr<ServerDriver>>(std::unique_ptr<ServerDriver>(std::move(*in)));
  });
  auto* in = static_cast<Hysteria2Inbound*>(server.in.get());
  server.timeouts = [in] { return in->stats().auth_timeouts; };
  server.endpoint = &in->endpoint();
  run(server,
      R"("type":"hysteria2","password":"alice's password","tls":{"enabled":true,
          "server_name":"localhost","insecure":true})",
      {"hysteria2", {"h3"}, quic::kH3NoError, ""});
}

TEST_CASE("quic auth deadline: Hysteria v1 closes a connection that never authenticates",
          "[integration][quic_auth_deadline][hysteria1]") {
  SelfSigned cert = make_self_signed();
  Server server([&](Engine& e, Router* r, std::string* why) {
    Hysteria1InboundConfig c;
    c.tag = "in";
    c.users = {{"sekai", "password"}};
    c.tls.cert_pem = cert.cert_pem;
    c.tls.key_pem = cert.key_pem;
    c.auth_timeout_ms = kDeadlineMs;
    auto in = Hysteria1Inbound::create(e, c, r, why);
    if (!in) return Result<std::unique_ptr<ServerDriver>>(in.error());
    return Result<std::unique_ptr<ServerDriver>>(std::unique_ptr<ServerDriver>(std::move(*in)));
  });
  auto* in = static_cast<Hysteria1Inbound*>(server.in.get());
  server.timeouts = [in] { return in->stats().protocol_errors; };
  server.endpoint = &in->endpoint();
  run(server,
      R"("type":"hysteria","auth_str":"password","up_mbps":100,"down_mbps":100,
          "tls":{"enabled":true,"server_name":"localhost","insecure":true})",
      {"hysteria1",
       {"hysteria"},
       hysteria1::kCloseProtocolError,
       std::string(hysteria1::kReasonProtocolError)});
}

// Defects found by probing `sluice run` from outside, reproduced end to end on
// 127.0.0.1 through the Instance (JSON config -> sessions and inbounds).
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

// Servers is an Engine with test servers on it.
struct Servers {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TestServer> server;
  explicit Servers(TestServer::Mode m) {
    engine = std::move(*Engine::create());
    server = std::make_unique<TestServer>(*engine, m);
    REQUIRE(engine->start());
  }
  ~Servers() {
    REQUIRE(engine->stop());
    server.reset();
    engine.reset();
  }
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

TEST_CASE("a hanging upstream TLS handshake gets SOCKS5 REP 6 and HTTP 504, not a silent close",
          "[integration][reliability]") {
  // The "Trojan server" accepts TCP and never answers the ClientHello.
  Servers hang(TestServer::Mode::sink);
  Side client(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
      std::to_string(hang.server->port()) +
      R"(,"password":"p","tls":{"enabled":true,"server_name":"hang.test","insecure":true}}]})");
  const uint16_t port = client.port("in");
  const auto start = Clock::now();
  auto socks = std::async(std::launch::async, [&] {
    // By hand: socks5_connect's reads give up after 10 s, the deadline.
    int fd = tcp_connect(port);
    const uint8_t hello[] = {5, 1, 0};
    const uint8_t req[] = {5, 1, 0, 1, 127, 0, 0, 1, 0, 9};
    uint8_t choice[2] = {}, rep[10] = {};
    REQUIRE(send_all(fd, hello, sizeof hello));
    REQUIRE(recv_exact(fd, choice, 2));
    REQUIRE(send_all(fd, req, sizeof req));
    const bool got = recv_exact(fd, rep, sizeof rep, 20000);
    ::close(fd);
    return got ? int{rep[1]} : -1;
  });
  auto http = std::async(std::launch::async, [&] {
    int fd = tcp_connect(port);
    const std::string req = "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n";
    REQUIRE(send_all(fd, req.data(), req.size()));
    std::string got = recv_some(fd, 20000);
    ::close(fd);
    return got;
  });
  CHECK(socks.get() == 6);  // TTL expired: the timeout code
  const std::string reply = http.get();
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 504", 0) == 0);
  const double took = seconds_since(start);
  // The inbound's deadline is 10 s from accept; the reply comes at it.
  CHECK(took >= 4.5);
  CHECK(took < 15);
}

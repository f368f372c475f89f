// TlsTransport end to end on 127.0.0.1: plain TCP -> TlsDial/Relay ->
// TLS server (TlsTransport) that echoes, with real sockets.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

#include "../unit/transport/tls_test_util.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct TlsRig {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TlsEchoServer> echo;
  std::unique_ptr<TlsForwarder> fwd;
  Pki pki = make_pki("localhost");

  explicit TlsRig(TlsClientOptions co = {}, bool use_pki = true) {
    engine = std::move(*Engine::create());
    if (use_pki) co = client_options(pki.ca.certificate, "localhost");
    echo = std::make_unique<TlsEchoServer>(*engine, server_ctx(server_options(pki.leaf)));
    fwd = std::make_unique<TlsForwarder>(*engine, client_ctx(co), echo->port());
    REQUIRE(engine->start());
  }
  ~TlsRig() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    fwd.reset();
    echo.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    engine.reset();
  }
};

// echo_transfer sends |total| pattern bytes and checks they come back.
bool echo_transfer(int fd, size_t total, uint64_t seed) {
  std::thread writer([fd, total, seed] {
    Pattern p(seed);
    std::vector<uint8_t> buf(256 * 1024);
    for (size_t sent = 0; sent < total;) {
      const size_t n = std::min(buf.size(), total - sent);
      p.fill(buf.data(), n);
      if (!send_all(fd, buf.data(), n)) return;
      sent += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
  Pattern expect(seed);
  std::vector<uint8_t> got(256 * 1024), want(256 * 1024);
  size_t received = 0;
  bool same = true;
  while (received < total) {
    const size_t n = std::min(got.size(), total - received);
    if (!recv_exact(fd, got.data(), n, 30000)) break;
    expect.fill(want.data(), n);
    same = same && std::memcmp(got.data(), want.data(), n) == 0;
    received += n;
  }
  writer.join();
  return received == total && same;
}

size_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("64 MiB through TLS and back, hash-checked, with half-close", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  CHECK(echo_transfer(fd, 64u << 20, 11));
  CHECK(wait_eof(fd));  // the server's close_notify + FIN came back as EOF
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::ok);
  CHECK(r[0].info.version == "TLSv1.3");
}

TEST_CASE("one byte through TLS", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  CHECK(echo_transfer(fd, 1, 3));
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("half-close over TLS: the client ends, the reply still arrives", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  REQUIRE(send_all(fd, "ping", 4));
  ::shutdown(fd, SHUT_WR);
  char buf[4];
  REQUIRE(recv_exact(fd, buf, 4));
  CHECK(std::string(buf, 4) == "ping");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("resumption: the second connection uses a ticket", "[integration][tls]") {
  TlsRig rig;
  for (int i = 0; i < 3; ++i) {
    int fd = tcp_connect(rig.fwd->port());
    // Data from the server carries the tickets (BoringSSL sends them with
    // its first write), and a BoringSSL client drops tickets that arrive
    // after its own close_notify: answer first, then half-close.
    REQUIRE(send_all(fd, "hello", 5));
    char buf[5];
    REQUIRE(recv_exact(fd, buf, 5));
    ::shutdown(fd, SHUT_WR);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 3);
  CHECK_FALSE(r[0].info.resumed);
  CHECK(r[1].info.resumed);
  CHECK(r[2].info.resumed);
  std::printf("tls handshake (loopback, client side): full %llu us, resumed %llu us\n",
              static_cast<unsigned long long>(r[0].info.handshake_us),
              static_cast<unsigned long long>(r[1].info.handshake_us));
  auto s = rig.echo->seen();
  REQUIRE(s.size() == 3);
  CHECK(s[2].resumed);
}

TEST_CASE("a verification failure reaches the dialer with its reason", "[integration][tls]") {
  Pki other = make_pki("localhost");
  TlsRig rig(client_options(other.ca.certificate, "localhost"), false);
  int fd = tcp_connect(rig.fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::cert_verify_failed);
  CHECK_THAT(r[0].reason, Catch::Contains("unable to get local issuer certificate"));
  for (int i = 0; i < 100 && rig.echo->seen().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto s = rig.echo->seen();
  REQUIRE(s.size() == 1);
  CHECK(s[0].error == Errc::tls_alert);
  CHECK_THAT(s[0].reason, Catch::Contains("bad certificate"));
}

TEST_CASE("200 concurrent TLS streams; idle memory per connection", "[integration][tls]") {
  TlsRig rig;
  constexpr int kStreams = 200;
  const size_t rss0 = rss_kib();
  const uint64_t pool0 =
      on_loop(*rig.engine, [&] { return rig.engine->stats().pool.bytes_outstanding; });
  std::vector<int> fds;
  for (int i = 0; i < kStreams; ++i) fds.push_back(tcp_connect(rig.fwd->port()));
  int ok = 0;
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], msg.data(), msg.size()));
  }
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    std::string buf(msg.size(), '\0');
    if (recv_exact(fds[i], buf.data(), buf.size()) && buf == msg) ++ok;
  }
  CHECK(ok == kStreams);
  // Idle now: every tunnel is two TLS endpoints (client and server side of
  // this process) plus two plain sockets.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const size_t rss1 = rss_kib();
  const uint64_t pool1 =
      on_loop(*rig.engine, [&] { return rig.engine->stats().pool.bytes_outstanding; });
  std::printf(
      "idle TLS tunnels: %d, RSS +%zu KiB (%.1f KiB per tunnel = 2 TLS endpoints), pool "
      "bytes outstanding %llu\n",
      kStreams, rss1 - rss0, double(rss1 - rss0) / kStreams,
      static_cast<unsigned long long>(pool1 - pool0));
  CHECK(pool1 - pool0 == 0);  // idle connections hold no pool buffers
  for (int fd : fds) ::close(fd);
}

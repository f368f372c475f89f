// Defects found by probing `sluice run` from outside, reproduced end to end on
// 127.0.0.1 through the Instance (JSON config -> sessions and inbounds).
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>

#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "proto/trojan/trojan.hpp"
#include "support.hpp"
#include "tls_support.hpp"

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

// end_of_stream reads |fd| until it ends: 0 for a clean EOF, the errno of a
// failed read (ECONNRESET for a reset), ETIMEDOUT if nothing ends it.
int end_of_stream(int fd, int timeout_ms = 10000) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return 0;
    if (n < 0) return errno;
  }
  return ETIMEDOUT;
}

// socks_to_reset opens a SOCKS5 CONNECT through |port| to |target| (a
// server that resets after the first bytes) and sends those bytes.
int socks_to_reset(uint16_t port, uint16_t target) {
  int fd = tcp_connect(port);
  REQUIRE(socks5_connect(fd, "127.0.0.1", target) == 0);
  REQUIRE(send_all(fd, "hello", 5));
  return fd;
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

TEST_CASE("a target's RST reaches a SOCKS5 client as a reset (socks -> direct)",
          "[integration][reliability][rst]") {
  Servers target(TestServer::Mode::reset);
  Side proxy(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"direct","tag":"direct"}]})");
  int fd = socks_to_reset(proxy.port("in"), target.server->port());
  CHECK(end_of_stream(fd) == ECONNRESET);
  ::close(fd);
}

TEST_CASE("a target's RST reaches the client as a reset through Trojan",
          "[integration][reliability][rst]") {
  Pki pki = make_pki("rst.test");
  const std::string cert = write_temp("reliability_test", "cert.pem", pki.leaf.certificate);
  const std::string key = write_temp("reliability_test", "key.pem", pki.leaf.private_key);
  const std::string ca = write_temp("reliability_test", "ca.pem", pki.ca.certificate);
  Servers target(TestServer::Mode::reset);
  {
    Side server(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
        "users":[{"name":"u","password":"pw"}],
        "tls":{"enabled":true,"server_name":"rst.test","certificate_path":")" +
        cert + R"(","key_path":")" + key +
        R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    Side client(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port("in")) +
        R"(,"password":"pw","tls":{"enabled":true,"server_name":"rst.test","certificate_path":")" +
        ca + R"("}}]})");
    int fd = socks_to_reset(client.port("in"), target.server->port());
    CHECK(end_of_stream(fd) == ECONNRESET);
    ::close(fd);
  }
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

TEST_CASE("a target's RST reaches the client as a reset through VLESS, plain and Vision",
          "[integration][reliability][rst]") {
  Pki pki = make_pki("rst.test");
  const std::string cert = write_temp("reliability_test", "v_cert.pem", pki.leaf.certificate);
  const std::string key = write_temp("reliability_test", "v_key.pem", pki.leaf.private_key);
  const std::string ca = write_temp("reliability_test", "v_ca.pem", pki.ca.certificate);
  const std::string uuid = "b831381d-6324-4d53-ad4f-8cda48b30811";
  Servers target(TestServer::Mode::reset);
  for (const std::string flow : {"", "xtls-rprx-vision"}) {
    INFO("flow: " << flow);
    const std::string flow_field = flow.empty() ? "" : R"(,"flow":")" + flow + R"(")";
    Side server(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,
        "users":[{"name":"u","uuid":")" +
        uuid + R"(")" + flow_field +
        R"(}],"tls":{"enabled":true,"server_name":"rst.test","certificate_path":")" + cert +
        R"(","key_path":")" + key + R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    Side client(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
        "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(server.port("in")) + R"(,"uuid":")" + uuid + R"(")" + flow_field +
        R"(,"tls":{"enabled":true,"server_name":"rst.test","certificate_path":")" + ca +
        R"("}}]})");
    int fd = socks_to_reset(client.port("in"), target.server->port());
    CHECK(end_of_stream(fd) == ECONNRESET);
    ::close(fd);
  }
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

TEST_CASE("a clean end stays a clean end (no reset without one)",
          "[integration][reliability][rst]") {
  Servers target(TestServer::Mode::greeter);
  Side proxy(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"direct","tag":"direct"}]})");
  int fd = tcp_connect(proxy.port("in"));
  REQUIRE(socks5_connect(fd, "127.0.0.1", target.server->port()) == 0);
  CHECK(end_of_stream(fd) == 0);
  ::close(fd);
}

TEST_CASE("max_connections: a refusal is counted in the inbound's and the Engine's stats",
          "[integration][reliability][limit]") {
  Side proxy(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":0,
      "max_connections":1}],"outbounds":[{"type":"direct","tag":"direct"}]})");
  int first = tcp_connect(proxy.port("in"));
  REQUIRE(send_all(first, "\x05\x01\x00", 3));
  char choice[2];
  REQUIRE(recv_exact(first, choice, 2));  // admitted and in its handshake
  int second = tcp_connect(proxy.port("in"));
  CHECK(end_of_stream(second, 5000) != ETIMEDOUT);  // closed at accept
  ::close(second);
  auto counters = on_loop(*proxy.engine, [&] { return proxy.instance->inbound("in")->counters(); });
  CHECK(counters.refused_by_limit == 1);
  CHECK(counters.open_connections == 1);
  CHECK(on_loop(*proxy.engine, [&] { return proxy.engine->stats().connections_refused; }) == 1);
  ::close(first);
  CHECK(wait_until([&] {
    return on_loop(*proxy.engine,
                   [&] { return proxy.instance->inbound("in")->counters().open_connections; }) == 0;
  }));
}

TEST_CASE("Trojan: a request with an upper-case password hash goes to the fallback",
          "[integration][reliability][trojan]") {
  Pki pki = make_pki("case.test");
  const std::string cert = write_temp("reliability_test", "case_cert.pem", pki.leaf.certificate);
  const std::string key = write_temp("reliability_test", "case_key.pem", pki.leaf.private_key);
  Servers fallback(TestServer::Mode::echo);  // an "ordinary web server" that echoes
  {
    Side server(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
        "users":[{"name":"u","password":"pw"}],
        "tls":{"enabled":true,"server_name":"case.test","certificate_path":")" +
        cert + R"(","key_path":")" + key + R"("},"fallback":{"server":"127.0.0.1","server_port":)" +
        std::to_string(fallback.server->port()) +
        R"(}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    auto client = std::move(*Engine::create());
    TlsForwarder fwd(*client, client_ctx(client_options(pki.ca.certificate, "case.test")),
                     server.port("in"));
    REQUIRE(client->start());
    // hex(SHA224("pw")) in upper case, then a well-formed CONNECT request.
    const auto hash = trojan::hash_password("pw");
    std::string req(hash.begin(), hash.end());
    for (char& c : req)
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    // CRLF, CONNECT, IPv4 127.0.0.1 port 9, CRLF.
    req += std::string("\r\n\x01\x01\x7f\x00\x00\x01\x00\x09\r\n", 12);
    int fd = tcp_connect(fwd.port());
    REQUIRE(send_all(fd, req.data(), req.size()));
    std::string back(req.size(), '\0');
    // The fallback got the request byte for byte and echoed it: not a Trojan client.
    CHECK(recv_exact(fd, back.data(), back.size()));
    CHECK(back == req);
    ::close(fd);
    CHECK(wait_until([&] { return server.trojan_stats().fallbacks == 1; }));
    CHECK(server.trojan_stats().relayed == 0);
    REQUIRE(client->stop());
  }
  for (const std::string& p : {cert, key}) std::remove(p.c_str());
}

namespace {

// chunks_out: the pool chunks |side|'s Engine has handed out just now.
uint64_t chunks_out(Side& side) {
  return on_loop(*side.engine, [&] { return side.engine->stats().pool.chunks_outstanding; });
}

// dribble writes |bytes| to |fd| one byte per send, pausing so that each
// byte tends to arrive in a read of its own (TCP_NODELAY).
void dribble(int fd, const std::string& bytes) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  for (char c : bytes) {
    REQUIRE(send_all(fd, &c, 1));
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace

TEST_CASE("a peer dribbling an HTTP head one byte per read pins a bounded number of chunks",
          "[integration][reliability][dribble]") {
  // Each read lands in a fresh 16 KiB chunk; the head is gathered until it
  // is whole. Kept one chunk per read, 3,000 reads would pin 3,000 chunks
  // (47 MiB); gathered, the head fits one.
  Side proxy(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"mixed","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"direct","tag":"direct"}]})");
  const uint64_t before = chunks_out(proxy);
  int fd = tcp_connect(proxy.port("in"));
  dribble(fd, "CONNECT 127.0.0.1:9 HTTP/1.1\r\nX-Pad: " + std::string(3000, 'p'));
  const uint64_t during = chunks_out(proxy);
  std::printf("dribbled HTTP head: pool chunks out %llu before, %llu after 3,030 bytes\n",
              static_cast<unsigned long long>(before), static_cast<unsigned long long>(during));
  CHECK(during <= before + 4);
  ::close(fd);
}

TEST_CASE("a peer dribbling a TLS record one byte per read pins a bounded number of chunks",
          "[integration][reliability][dribble]") {
  // A real TLS client (BoringSSL on a blocking socket) completes its
  // handshake with a Trojan inbound, then seals one 12,000-byte record into
  // memory and sends its bytes one at a time: the server gathers the record
  // before it can open it.
  Pki pki = make_pki("dribble.test");
  const std::string cert = write_temp("reliability_test", "dribble_cert.pem", pki.leaf.certificate);
  const std::string key = write_temp("reliability_test", "dribble_key.pem", pki.leaf.private_key);
  {
    Side server(
        R"({"log":{"level":"fatal"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
        "users":[{"name":"u","password":"pw"}],
        "tls":{"enabled":true,"server_name":"dribble.test","certificate_path":")" +
        cert + R"(","key_path":")" + key +
        R"("}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    const uint64_t before = chunks_out(server);
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
    REQUIRE(ctx);
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
    REQUIRE(ssl);
    int fd = tcp_connect(server.port("in"));
    SSL_set_fd(ssl.get(), fd);
    SSL_set_tlsext_host_name(ssl.get(), "dribble.test");
    REQUIRE(SSL_connect(ssl.get()) == 1);  // the certificate is not checked: not the point
    // Seal the record into memory instead of the socket.
    BIO* mem = BIO_new(BIO_s_mem());
    REQUIRE(mem != nullptr);
    SSL_set0_wbio(ssl.get(), mem);
    const std::string plain(12000, 'r');
    REQUIRE(SSL_write(ssl.get(), plain.data(), static_cast<int>(plain.size())) ==
            static_cast<int>(plain.size()));
    const uint8_t* wire = nullptr;
    size_t wire_len = 0;
    REQUIRE(BIO_mem_contents(mem, &wire, &wire_len));
    REQUIRE(wire_len > plain.size());
    // All but the last byte: the record stays incomplete on the server.
    dribble(fd, std::string(reinterpret_cast<const char*>(wire), wire_len - 1));
    const uint64_t during = chunks_out(server);
    std::printf("dribbled TLS record: pool chunks out %llu before, %llu after %zu bytes\n",
                static_cast<unsigned long long>(before), static_cast<unsigned long long>(during),
                wire_len - 1);
    CHECK(during <= before + 6);
    ::close(fd);
  }
  for (const std::string& p : {cert, key}) std::remove(p.c_str());
}

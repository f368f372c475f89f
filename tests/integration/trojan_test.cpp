// Trojan end to end on 127.0.0.1, built from JSON configs like `sluice run`:
// app -> socks inbound -> trojan outbound -> TLS -> trojan inbound -> direct
// -> test servers; and probers that are not Trojan clients -> fallback.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "proto/trojan/trojan.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/sluice_trojan_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

// Side is an Instance on its own Engine thread.
struct Side {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;
  explicit Side(const std::string& json) {
    ConfigDiagnostics diag;
    auto cfg = parse_config(json, &diag);
    INFO(diag.error);
    REQUIRE(cfg);
    engine = std::move(*Engine::create());
    std::string why;
    auto inst = Instance::create(*engine, *cfg, &why);
    INFO(why);
    REQUIRE(inst);
    instance = std::move(*inst);
    REQUIRE(engine->start());
  }
  ~Side() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    instance.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    engine.reset();
  }
  uint16_t port(const char* tag) { return instance->inbound_port(tag); }
};

struct TrojanRig {
  Pki pki = make_pki("trojan.test");
  std::string cert_path, key_path, ca_path;
  std::unique_ptr<Engine> servers;  // echo + fallback targets
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<TestServer> fallback;  // an "ordinary web server": echoes what it gets
  std::unique_ptr<Side> server;
  std::unique_ptr<Side> client;

  explicit TrojanRig(const std::string& client_password = "correct horse") {
    cert_path = write_temp("cert.pem", pki.leaf.certificate);
    key_path = write_temp("key.pem", pki.leaf.private_key);
    ca_path = write_temp("ca.pem", pki.ca.certificate);
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    fallback = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
    server = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"name":"alice","password":"other user"},{"name":"bob","password":"correct horse"}],
            "tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
        cert_path + R"(","key_path":")" + key_path + R"("},
            "fallback":{"server":"127.0.0.1","server_port":)" +
        std::to_string(fallback->port()) + R"(}}],
          "outbounds":[{"type":"direct","tag":"direct"}]})");
    client = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
        std::to_string(server->port("in")) + R"(,"password":")" + client_password +
        R"(","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" + ca_path +
        R"("}}]})");
  }
  ~TrojanRig() {
    client.reset();
    server.reset();
    REQUIRE(servers->stop());
    echo.reset();
    fallback.reset();
    servers.reset();
    for (const std::string& p : {cert_path, key_path, ca_path}) std::remove(p.c_str());
  }
  int socks_to(uint16_t port) {
    int fd = tcp_connect(client->port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", port) == 0);
    return fd;
  }
  TrojanInboundStats server_stats() {
    return on_loop(*server->engine,
                   [this] { return server->instance->trojan_inbound("in")->stats(); });
  }
};

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

}  // namespace

TEST_CASE("trojan: 64 MiB through socks -> trojan+tls -> echo, hash-checked",
          "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 64u << 20, 21));
  CHECK(wait_eof(fd));
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.relayed == 1);
  CHECK(st.fallbacks == 0);
}

TEST_CASE("trojan: 1 byte and many concurrent streams", "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  CHECK(echo_transfer(fd, 1, 2));
  ::close(fd);
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) fds.push_back(rig.socks_to(rig.echo->port()));
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], m.data(), m.size()));
  }
  for (int i = 0; i < 100; ++i) {
    const std::string m = "stream " + std::to_string(i);
    std::string b(m.size(), '\0');
    if (recv_exact(fds[i], b.data(), b.size()) && b == m) ++ok;
  }
  CHECK(ok == 100);
  for (int f : fds) ::close(f);
}

TEST_CASE("trojan: half-close in both directions", "[integration][trojan]") {
  TrojanRig rig;
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "abc", 3));
  ::shutdown(fd, SHUT_WR);
  char buf[3];
  REQUIRE(recv_exact(fd, buf, 3));
  CHECK(std::string(buf, 3) == "abc");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("trojan: a wrong password goes to the fallback, bytes unchanged",
          "[integration][trojan]") {
  TrojanRig rig("wrong password");
  int fd = rig.socks_to(rig.echo->port());
  REQUIRE(send_all(fd, "GET / HTTP/1.1\r\n\r\n", 18));
  // The fallback (an echo server here) received the whole Trojan header
  // with the wrong hash, then the payload, in order: it sends them back.
  auto hash = trojan::hash_password("wrong password");
  auto target = TargetAddress::from_ipv4({127, 0, 0, 1}, rig.echo->port());
  const size_t hlen = trojan::request_size(target);
  std::string got(hlen + 18, '\0');
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  CHECK(got.substr(0, 56) == std::string(hash.begin(), hash.end()));
  CHECK(got.substr(hlen) == "GET / HTTP/1.1\r\n\r\n");
  ::close(fd);
  auto st = rig.server_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(st.relayed == 0);
  CHECK(rig.echo->received == 0);
}

TEST_CASE("trojan: a TLS prober sending HTTP sees the fallback web server",
          "[integration][trojan]") {
  TrojanRig rig;
  // A TLS client that is not a Trojan client: plain socket -> TlsForwarder.
  TlsClientOptions co = client_options(rig.pki.ca.certificate, "trojan.test");
  auto eng = std::move(*Engine::create());
  auto fwd = std::make_unique<TlsForwarder>(*eng, client_ctx(co), rig.server->port("in"));
  REQUIRE(eng->start());
  int fd = tcp_connect(fwd->port());
  const std::string probe = "GET /index.html HTTP/1.1\r\nHost: trojan.test\r\n\r\n";
  REQUIRE(send_all(fd, probe.data(), probe.size()));
  std::string got(probe.size(), '\0');
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  CHECK(got == probe);
  // The prober's end-of-stream travels to the fallback and back.
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);
  REQUIRE(eng->stop());
  fwd.reset();
  eng.reset();
  auto st = rig.server_stats();
  CHECK(st.fallbacks == 1);
}

TEST_CASE("trojan: an untrusted server certificate fails the open with the reason",
          "[integration][trojan]") {
  TrojanRig rig;
  Pki other = make_pki("trojan.test");
  const std::string other_ca = write_temp("other_ca.pem", other.ca.certificate);
  Side client(
      R"({"log":{"level":"fatal"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
      "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
      std::to_string(rig.server->port("in")) +
      R"(,"password":"correct horse","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
      other_ca + R"("}}]})");
  int fd = tcp_connect(client.port("in"));
  CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
  ::close(fd);
  std::remove(other_ca.c_str());
}

// Trojan interop with independent implementations as Debian ships them:
// trojan-gfw 1.16 (`trojan`, C++/Boost.Asio/OpenSSL, the reference
// implementation) and v2ray 4.34 (`v2ray`, Go, crypto/tls). Every direction
// moves 8 MiB of a seeded pattern through an echo server on 127.0.0.1, both
// directions of the stream at once, and compares every byte that comes back:
//
//  (a) sluice client -> trojan-gfw server (run_type server);
//  (b) trojan-gfw client (run_type client, its SOCKS5 port) -> sluice server;
//  (c) sluice client -> v2ray trojan inbound over TLS;
//  (d) v2ray socks inbound -> v2ray trojan outbound over TLS -> sluice server;
//
// plus wrong passwords both ways with trojan-gfw: a sluice client's bytes,
// header included, are relayed to trojan-gfw's remote_addr (an echo server
// here), a trojan-gfw client's to the sluice server's fallback, never to
// the requested target; and
// UDP ASSOCIATE in the same four directions (the peers' clients take UDP
// through their SOCKS5 UDP relay, sluice's through its socks inbound), 30
// datagrams of growing size each, echoed and compared.
//
// The peers are required: a missing binary FAILS these tests (run
// scripts/bootstrap), it never skips them. Each peer runs as a child process
// with its output in a temp dir; it is killed at scope end on every path and
// its output is part of any failure message.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "../integration/support.hpp"
#include "../support/peer_process.hpp"
#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "proto/trojan/trojan.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

constexpr size_t kPayload = 8u << 20;
// trojan-gfw reads UDP (SOCKS5 relay and target sockets) into 8 KiB buffers.
constexpr size_t kGfwMaxUdpPayload = 8000;
// v2ray 4.34 frames each Trojan UDP packet in one 2048-byte buf.Buffer and
// silently truncates what does not fit while the length field keeps the full
// size, which desynchronises the stream (sluice then closes it as
// malformed). With an IPv4 address that leaves 2037 payload bytes.
constexpr size_t kV2rayMaxUdpPayload = 2000;

// Servers are the targets: an echo server and the fallback "web server"
// (an echo server too, so what it received comes back verifiably).
struct Servers {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TestServer> echo, fallback;
  Servers() {
    engine = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    fallback = std::make_unique<TestServer>(*engine, TestServer::Mode::echo);
    REQUIRE(engine->start());
  }
  ~Servers() {
    REQUIRE(engine->stop());
    echo.reset();
    fallback.reset();
    engine.reset();
  }
};

// Rig holds what every direction needs: a PKI written to PEM files, the
// target servers and a temp dir.
struct Rig {
  TempDir dir{"sluice_trojan_interop_"};
  Pki pki = make_pki("trojan.test");
  std::string cert, key, ca;
  Servers servers;
  Rig() {
    cert = dir.write("cert.pem", pki.leaf.certificate);
    key = dir.write("key.pem", pki.leaf.private_key);
    ca = dir.write("ca.pem", pki.ca.certificate);
  }

  // sluice_client: socks inbound -> trojan outbound to 127.0.0.1:|port|.
  std::unique_ptr<Side> sluice_client(uint16_t port, const std::string& password) {
    return std::make_unique<Side>(
        R"({"log":{"level":"error"},
            "inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
        std::to_string(port) + R"(,"password":")" + password +
        R"(","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" + ca +
        R"("}}]})");
  }
  // sluice_server: trojan inbound (fallback to the fallback server) -> direct.
  std::unique_ptr<Side> sluice_server(const std::string& password) {
    return std::make_unique<Side>(
        R"({"log":{"level":"error"},
            "inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
              "users":[{"name":"peer","password":")" +
        password + R"("}],
              "tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
        cert + R"(","key_path":")" + key + R"("},
              "fallback":{"server":"127.0.0.1","server_port":)" +
        std::to_string(servers.fallback->port()) + R"(}}],
            "outbounds":[{"type":"direct","tag":"direct"}]})");
  }

  // trojan_gfw_server: run_type server on a fresh port; remote_addr is the
  // fallback server.
  std::unique_ptr<Peer> trojan_gfw_server(const std::string& password, uint16_t* port) {
    const std::string bin = require_binary("trojan", "trojan");
    std::vector<uint16_t> ports;
    auto p = start_peer(
        "trojan-gfw-server", dir, 1,
        [&](const std::vector<uint16_t>& ps) {
          const std::string cfg =
              dir.write("trojan-server.json",
                        R"({"run_type":"server","local_addr":"127.0.0.1","local_port":)" +
                            std::to_string(ps[0]) + R"(,"remote_addr":"127.0.0.1","remote_port":)" +
                            std::to_string(servers.fallback->port()) + R"(,"password":[")" +
                            password + R"("],"log_level":1,"ssl":{"cert":")" + cert +
                            R"(","key":")" + key + R"(","alpn":["http/1.1"]}})");
          return std::vector<std::string>{bin, "-c", cfg};
        },
        &ports);
    *port = ports[0];
    return p;
  }

  // trojan_gfw_client: run_type client (a SOCKS5 server on a fresh port,
  // TCP and UDP) towards 127.0.0.1:|server_port|, verifying the server
  // against the test CA and the name trojan.test.
  std::unique_ptr<Peer> trojan_gfw_client(uint16_t server_port, const std::string& password,
                                          uint16_t* socks_port) {
    const std::string bin = require_binary("trojan", "trojan");
    std::vector<uint16_t> ports;
    auto p = start_peer(
        "trojan-gfw-client", dir, 1,
        [&](const std::vector<uint16_t>& ps) {
          const std::string cfg = dir.write(
              "trojan-client.json",
              R"({"run_type":"client","local_addr":"127.0.0.1","local_port":)" +
                  std::to_string(ps[0]) + R"(,"remote_addr":"127.0.0.1","remote_port":)" +
                  std::to_string(server_port) + R"(,"password":[")" + password +
                  R"("],"log_level":1,"ssl":{"verify":true,"verify_hostname":true,"cert":")" + ca +
                  R"(","sni":"trojan.test","alpn":["http/1.1"]}})");
          return std::vector<std::string>{bin, "-c", cfg};
        },
        &ports);
    *socks_port = ports[0];
    return p;
  }

  // v2ray_server: a trojan inbound over TLS with a freedom outbound.
  std::unique_ptr<Peer> v2ray_server(const std::string& password, uint16_t* port) {
    const std::string bin = require_binary("v2ray", "v2ray");
    std::vector<uint16_t> ports;
    auto p = start_peer(
        "v2ray-server", dir, 1,
        [&](const std::vector<uint16_t>& ps) {
          const std::string cfg = dir.write("v2ray-server.json",
                                            R"({"log":{"loglevel":"info"},
                  "inbounds":[{"listen":"127.0.0.1","port":)" +
                                                std::to_string(ps[0]) + R"(,"protocol":"trojan",
                    "settings":{"clients":[{"password":")" +
                                                password + R"("}]},
                    "streamSettings":{"network":"tcp","security":"tls",
                      "tlsSettings":{"certificates":[{"certificateFile":")" +
                                                cert + R"(","keyFile":")" + key + R"("}]}}}],
                  "outbounds":[{"protocol":"freedom"}]})");
          return std::vector<std::string>{bin, "-config", cfg};
        },
        &ports);
    *port = ports[0];
    return p;
  }

  // v2ray_client: a socks inbound (TCP and UDP) and a trojan outbound over
  // TLS to 127.0.0.1:|server_port|, verifying against the test CA.
  std::unique_ptr<Peer> v2ray_client(uint16_t server_port, const std::string& password,
                                     uint16_t* socks_port) {
    const std::string bin = require_binary("v2ray", "v2ray");
    std::vector<uint16_t> ports;
    auto p = start_peer(
        "v2ray-client", dir, 1,
        [&](const std::vector<uint16_t>& ps) {
          const std::string cfg =
              dir.write("v2ray-client.json",
                        R"({"log":{"loglevel":"info"},
                  "inbounds":[{"listen":"127.0.0.1","port":)" +
                            std::to_string(ps[0]) + R"(,"protocol":"socks",
                    "settings":{"auth":"noauth","udp":true,"ip":"127.0.0.1"}}],
                  "outbounds":[{"protocol":"trojan",
                    "settings":{"servers":[{"address":"127.0.0.1","port":)" +
                            std::to_string(server_port) + R"(,"password":")" + password + R"("}]},
                    "streamSettings":{"network":"tcp","security":"tls",
                      "tlsSettings":{"serverName":"trojan.test","disableSystemRoot":true,
                        "certificates":[{"usage":"verify","certificateFile":")" +
                            ca + R"("}]}}}]})");
          return std::vector<std::string>{bin, "-config", cfg};
        },
        &ports);
    *socks_port = ports[0];
    return p;
  }
};

// through_socks connects to a SOCKS5 server on |socks_port| and CONNECTs to
// the echo server; -1 (with the REP code in the message) on failure.
int through_socks(uint16_t socks_port, uint16_t target_port, int* rep) {
  int fd = tcp_connect(socks_port);
  *rep = socks5_connect(fd, "127.0.0.1", target_port);
  if (*rep != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void check_echo_through(uint16_t socks_port, Servers& s, Peer& peer, uint64_t seed) {
  int rep = 0;
  int fd = through_socks(socks_port, s.echo->port(), &rep);
  {
    INFO("SOCKS5 CONNECT REP " << rep << "; " << peer.describe());
    REQUIRE(fd >= 0);
  }
  // No half-close before the echo is complete: trojan-gfw (client and
  // server) tears the whole session down when either side sends
  // end-of-stream.
  const bool ok = echo_transfer(fd, kPayload, seed, /*half_close=*/false);
  ::close(fd);
  INFO(peer.describe());
  CHECK(ok);
}

// --- UDP through a SOCKS5 UDP ASSOCIATE --------------------------------------

// check_udp_through: 30 datagrams of up to |max_payload| bytes through the
// SOCKS5 UDP relay on |socks_port| to |echo| must all come back intact.
void check_udp_through(uint16_t socks_port, const UdpEcho& echo, Peer& peer, size_t max_payload) {
  std::string why;
  const int ok = udp_round_trips(socks_port, echo.port, 30, max_payload, &why);
  INFO(why << "; " << peer.describe());
  CHECK(ok == 30);
}

}  // namespace

TEST_CASE("trojan interop: sluice client -> trojan-gfw server", "[interop][trojan]") {
  Rig rig;
  uint16_t port = 0;
  auto peer = rig.trojan_gfw_server("gfw password", &port);
  auto client = rig.sluice_client(port, "gfw password");
  check_echo_through(client->port("in"), rig.servers, *peer, 1);
  CHECK(rig.servers.fallback->received == 0);
}

TEST_CASE("trojan interop: a wrong password reaches trojan-gfw's remote_addr, not the target",
          "[interop][trojan]") {
  Rig rig;
  uint16_t port = 0;
  auto peer = rig.trojan_gfw_server("gfw password", &port);
  auto client = rig.sluice_client(port, "not the password");
  int rep = 0;
  int fd = through_socks(client->port("in"), rig.servers.echo->port(), &rep);
  REQUIRE(fd >= 0);  // Trojan has no reply: the sluice client cannot know yet
  const std::string probe = "GET / HTTP/1.1\r\nHost: trojan.test\r\n\r\n";
  REQUIRE(send_all(fd, probe.data(), probe.size()));
  // trojan-gfw relays what it read, unchanged, to remote_addr (an echo
  // server): the Trojan header with the wrong hash, then the payload.
  const auto hash = trojan::hash_password("not the password");
  const size_t hlen =
      trojan::request_size(TargetAddress::from_ipv4({127, 0, 0, 1}, rig.servers.echo->port()));
  std::string got(hlen + probe.size(), '\0');
  const bool received = recv_exact(fd, got.data(), got.size());
  ::close(fd);
  INFO(peer->describe());
  REQUIRE(received);
  CHECK(got.substr(0, trojan::kHashLen) == std::string(hash.begin(), hash.end()));
  CHECK(got.substr(hlen) == probe);
  CHECK(rig.servers.echo->received == 0);
}

TEST_CASE("trojan interop: trojan-gfw client -> sluice server", "[interop][trojan]") {
  Rig rig;
  auto server = rig.sluice_server("gfw client password");
  uint16_t socks = 0;
  auto peer = rig.trojan_gfw_client(server->port("in"), "gfw client password", &socks);
  check_echo_through(socks, rig.servers, *peer, 2);
  auto st = server->trojan_stats();
  CHECK(st.relayed >= 1);
  CHECK(st.auth_failures == 0);
}

TEST_CASE("trojan interop: trojan-gfw client with a wrong password gets the sluice fallback",
          "[interop][trojan]") {
  Rig rig;
  auto server = rig.sluice_server("the real password");
  uint16_t socks = 0;
  auto peer = rig.trojan_gfw_client(server->port("in"), "a wrong password", &socks);
  int rep = 0;
  int fd = through_socks(socks, rig.servers.echo->port(), &rep);
  {
    INFO("SOCKS5 CONNECT REP " << rep << "; " << peer->describe());
    REQUIRE(fd >= 0);
  }
  const std::string probe = "GET / HTTP/1.1\r\nHost: trojan.test\r\n\r\n";
  REQUIRE(send_all(fd, probe.data(), probe.size()));
  // The sluice server relays everything trojan-gfw sent (its header with the
  // wrong hash, then the payload) to the fallback, an echo server.
  const auto hash = trojan::hash_password("a wrong password");
  const size_t hlen =
      trojan::request_size(TargetAddress::from_ipv4({127, 0, 0, 1}, rig.servers.echo->port()));
  std::string got(hlen + probe.size(), '\0');
  const bool received = recv_exact(fd, got.data(), got.size());
  ::close(fd);
  INFO(peer->describe());
  REQUIRE(received);
  CHECK(got.substr(0, trojan::kHashLen) == std::string(hash.begin(), hash.end()));
  CHECK(got.substr(hlen) == probe);
  CHECK(rig.servers.echo->received == 0);
  auto st = server->trojan_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(st.relayed == 0);
}

TEST_CASE("trojan interop: sluice client -> v2ray trojan inbound", "[interop][trojan]") {
  Rig rig;
  uint16_t port = 0;
  auto peer = rig.v2ray_server("v2ray password", &port);
  auto client = rig.sluice_client(port, "v2ray password");
  check_echo_through(client->port("in"), rig.servers, *peer, 3);
}

TEST_CASE("trojan interop: v2ray trojan outbound -> sluice server", "[interop][trojan]") {
  Rig rig;
  auto server = rig.sluice_server("v2ray client password");
  uint16_t socks = 0;
  auto peer = rig.v2ray_client(server->port("in"), "v2ray client password", &socks);
  check_echo_through(socks, rig.servers, *peer, 4);
  auto st = server->trojan_stats();
  CHECK(st.relayed >= 1);
  CHECK(st.auth_failures == 0);
}

TEST_CASE("trojan interop: UDP from trojan-gfw client's SOCKS5 relay -> sluice server",
          "[interop][trojan][udp]") {
  Rig rig;
  UdpEcho echo;
  auto server = rig.sluice_server("gfw udp password");
  uint16_t socks = 0;
  auto peer = rig.trojan_gfw_client(server->port("in"), "gfw udp password", &socks);
  check_udp_through(socks, echo, *peer, kGfwMaxUdpPayload);
  CHECK(server->trojan_stats().udp_associations >= 1);
}

TEST_CASE("trojan interop: UDP from the sluice client -> trojan-gfw server",
          "[interop][trojan][udp]") {
  Rig rig;
  UdpEcho echo;
  uint16_t port = 0;
  auto peer = rig.trojan_gfw_server("gfw udp password", &port);
  auto client = rig.sluice_client(port, "gfw udp password");
  check_udp_through(client->port("in"), echo, *peer, kGfwMaxUdpPayload);
}

TEST_CASE("trojan interop: UDP from v2ray's trojan outbound -> sluice server",
          "[interop][trojan][udp]") {
  Rig rig;
  UdpEcho echo;
  auto server = rig.sluice_server("v2ray udp password");
  uint16_t socks = 0;
  auto peer = rig.v2ray_client(server->port("in"), "v2ray udp password", &socks);
  check_udp_through(socks, echo, *peer, kV2rayMaxUdpPayload);
  CHECK(server->trojan_stats().udp_associations >= 1);
}

TEST_CASE("trojan interop: UDP from the sluice client -> v2ray trojan inbound",
          "[interop][trojan][udp]") {
  Rig rig;
  UdpEcho echo;
  uint16_t port = 0;
  auto peer = rig.v2ray_server("v2ray udp password", &port);
  auto client = rig.sluice_client(port, "v2ray udp password");
  check_udp_through(client->port("in"), echo, *peer, kV2rayMaxUdpPayload);
}

// VLESS interop with v2ray 4.34 as Debian ships it (`v2ray`, Go,
// crypto/tls; VLESS with flow "" — it predates Vision and XUDP). Every
// direction moves a hash-checked payload through an echo server on
// 127.0.0.1, both directions of the stream at once, over TLS verified
// against a test CA:
//
//  (a) sluice client (socks inbound -> vless outbound) -> v2ray vless inbound;
//  (b) v2ray socks inbound -> v2ray vless outbound -> sluice vless inbound;
//
// and UDP with command 0x02 both ways through SOCKS5 UDP ASSOCIATE, plus the
// fallback: v2ray's VLESS client with an id the sluice server does not know
// is handed to the fallback server with its bytes unchanged.
//
// v2ray is required: a missing binary FAILS these tests (run
// scripts/bootstrap), it never skips them. It runs as a child process with
// its output in a temp dir, killed at scope end on every path; its output
// is part of any failure message.
#include <poll.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>

#include "../integration/support.hpp"
#include "../support/peer_process.hpp"
#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

constexpr size_t kPayload = 8u << 20;
constexpr const char* kId = "27848739-7e62-4138-9fd3-098a63964b6b";

// V2ray is `v2ray -config <file>` listening on one fresh port; a port lost
// to a race between free_tcp_port and v2ray's bind is retried (start_peer).
struct V2ray {
  std::unique_ptr<Peer> peer;
  uint16_t port = 0;

  // |make_config| writes the config for a port and returns its path.
  template <typename Make>
  V2ray(TempDir& dir, const std::string& name, Make make_config) {
    const std::string bin = require_binary("v2ray", "v2ray");
    std::vector<uint16_t> ports;
    peer = start_peer(
        name, dir, 1,
        [&](const std::vector<uint16_t>& ps) {
          return std::vector<std::string>{bin, "-config", make_config(ps[0])};
        },
        &ports);
    port = ports[0];
  }
  std::string describe() { return peer->describe(); }
};

struct Rig {
  TempDir dir{"sluice_vless_interop_"};
  Pki pki = make_pki("vless.test");
  std::string cert, key, ca;
  std::unique_ptr<Engine> servers;
  std::unique_ptr<TestServer> echo, fallback;
  Rig() {
    cert = dir.write("cert.pem", pki.leaf.certificate);
    key = dir.write("key.pem", pki.leaf.private_key);
    ca = dir.write("ca.pem", pki.ca.certificate);
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    fallback = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
  }
  ~Rig() {
    REQUIRE(servers->stop());
    echo.reset();
    fallback.reset();
    servers.reset();
  }

  std::unique_ptr<Side> sluice_client(uint16_t port) {
    return std::make_unique<Side>(
        R"({"log":{"level":"error"},
            "inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(port) + R"(,"uuid":")" + kId +
        R"(","packet_encoding":"","tls":{"enabled":true,"server_name":"vless.test","certificate_path":")" +
        ca + R"("}}]})");
  }
  std::unique_ptr<Side> sluice_server() {
    return std::make_unique<Side>(
        R"({"log":{"level":"error"},
            "inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,
              "users":[{"name":"peer","uuid":")" +
        std::string(kId) + R"("}],
              "tls":{"enabled":true,"server_name":"vless.test","certificate_path":")" +
        cert + R"(","key_path":")" + key + R"("},
              "fallback":{"server":"127.0.0.1","server_port":)" +
        std::to_string(fallback->port()) + R"(}}],
            "outbounds":[{"type":"direct","tag":"direct"}]})");
  }
  // v2ray_server: a vless inbound over TLS (decryption none) -> freedom.
  std::unique_ptr<V2ray> v2ray_server() {
    return std::make_unique<V2ray>(dir, "v2ray-server", [&](uint16_t port) {
      return dir.write("v2ray-server.json", R"({"log":{"loglevel":"info"},
          "inbounds":[{"listen":"127.0.0.1","port":)" +
                                                std::to_string(port) +
                                                R"(,"protocol":"vless",
            "settings":{"clients":[{"id":")" + kId +
                                                R"("}],"decryption":"none"},
            "streamSettings":{"network":"tcp","security":"tls",
              "tlsSettings":{"certificates":[{"certificateFile":")" +
                                                cert + R"(","keyFile":")" + key + R"("}]}}}],
          "outbounds":[{"protocol":"freedom"}]})");
    });
  }
  // v2ray_client: socks inbound (TCP and UDP) -> vless outbound over TLS to
  // 127.0.0.1:|server_port|, verifying against the test CA.
  std::unique_ptr<V2ray> v2ray_client(uint16_t server_port, const std::string& id = kId) {
    return std::make_unique<V2ray>(dir, "v2ray-client", [&](uint16_t port) {
      return dir.write("v2ray-client.json", R"({"log":{"loglevel":"info"},
          "inbounds":[{"listen":"127.0.0.1","port":)" +
                                                std::to_string(port) +
                                                R"(,"protocol":"socks",
            "settings":{"auth":"noauth","udp":true,"ip":"127.0.0.1"}}],
          "outbounds":[{"protocol":"vless",
            "settings":{"vnext":[{"address":"127.0.0.1","port":)" +
                                                std::to_string(server_port) +
                                                R"(,"users":[{"id":")" + id +
                                                R"(","encryption":"none"}]}]},
            "streamSettings":{"network":"tcp","security":"tls",
              "tlsSettings":{"serverName":"vless.test","disableSystemRoot":true,
                "certificates":[{"usage":"verify","certificateFile":")" +
                                                ca + R"("}]}}}]})");
    });
  }
};

void check_echo_through(uint16_t socks_port, uint16_t echo_port, V2ray& peer, uint64_t seed) {
  int fd = tcp_connect(socks_port);
  const int rep = socks5_connect(fd, "127.0.0.1", echo_port);
  {
    INFO("SOCKS5 CONNECT REP " << rep << "; " << peer.describe());
    REQUIRE(rep == 0);
  }
  const bool ok = echo_transfer(fd, kPayload, seed);
  ::close(fd);
  INFO(peer.describe());
  CHECK(ok);
}

// kV2rayMaxUdp: v2ray 4.34 reads UDP (its SOCKS5 relay and its freedom
// outbound) into 2048-byte buffers and truncates anything longer, so the
// datagrams stay below that.
constexpr size_t kV2rayMaxUdp = 1944;

}  // namespace

TEST_CASE("vless interop: v2ray is version 4.x with VLESS", "[interop][vless]") {
  const std::string bin = require_binary("v2ray", "v2ray");
  TempDir dir{"sluice_vless_interop_"};
  const std::string out = dir.file("version.txt");
  const std::string cmd = bin + " -version > " + out + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string v = slurp(out);
  INFO(v);
  CHECK(v.rfind("V2Ray 4.", 0) == 0);
}

TEST_CASE("vless interop: sluice client -> v2ray vless inbound (TLS)", "[interop][vless]") {
  Rig rig;
  auto peer = rig.v2ray_server();
  auto client = rig.sluice_client(peer->port);
  check_echo_through(client->port("in"), rig.echo->port(), *peer, 11);
  CHECK(rig.fallback->received == 0);
}

TEST_CASE("vless interop: v2ray vless outbound -> sluice server (TLS)", "[interop][vless]") {
  Rig rig;
  auto server = rig.sluice_server();
  auto peer = rig.v2ray_client(server->port("in"));
  check_echo_through(peer->port, rig.echo->port(), *peer, 12);
  auto st = server->vless_stats();
  CHECK(st.relayed >= 1);
  CHECK(st.auth_failures == 0);
  CHECK(st.malformed + st.rejected == 0);
}

TEST_CASE("vless interop: UDP 0x02 from the sluice client -> v2ray vless inbound",
          "[interop][vless][udp]") {
  Rig rig;
  UdpEcho echo;
  auto peer = rig.v2ray_server();
  auto client = rig.sluice_client(peer->port);
  std::string why;
  const int ok = udp_round_trips(client->port("in"), echo.port, 30, kV2rayMaxUdp, &why);
  INFO(why << "; " << peer->describe());
  CHECK(ok == 30);
}

TEST_CASE("vless interop: UDP 0x02 from v2ray's vless outbound -> sluice server",
          "[interop][vless][udp]") {
  Rig rig;
  UdpEcho echo;
  auto server = rig.sluice_server();
  auto peer = rig.v2ray_client(server->port("in"));
  std::string why;
  const int ok = udp_round_trips(peer->port, echo.port, 30, kV2rayMaxUdp, &why);
  INFO(why << "; " << peer->describe());
  CHECK(ok == 30);
  CHECK(server->vless_stats().udp >= 1);
}

TEST_CASE("vless interop: v2ray with an unknown id reaches the sluice fallback",
          "[interop][vless]") {
  Rig rig;
  auto server = rig.sluice_server();
  const std::string stranger = "00000000-1111-4222-8333-444444444444";
  auto peer = rig.v2ray_client(server->port("in"), stranger);
  int fd = tcp_connect(peer->port);
  const int rep = socks5_connect(fd, "127.0.0.1", rig.echo->port());
  INFO("REP " << rep << "; " << peer->describe());
  REQUIRE(rep == 0);  // v2ray answers SOCKS before the VLESS server does
  const std::string probe = "GET / HTTP/1.1\r\nHost: vless.test\r\n\r\n";
  REQUIRE(send_all(fd, probe.data(), probe.size()));
  // The fallback (an echo server) got v2ray's header with the stranger's id
  // and the payload, unchanged, and sends them back. v2ray's client then
  // reads the echoed version byte 00 and the id's first byte (00) as a
  // response header, and delivers the rest: id[1..], A=0, command, port,
  // address, payload.
  std::string got(15 + 1 + 1 + 2 + 1 + 4 + probe.size(), '\0');
  const bool received = recv_exact(fd, got.data(), got.size());
  ::close(fd);
  REQUIRE(received);
  CHECK(got.substr(got.size() - probe.size()) == probe);
  CHECK(static_cast<uint8_t>(got[15]) == 0);  // addons length
  CHECK(static_cast<uint8_t>(got[16]) == 1);  // command TCP
  auto st = server->vless_stats();
  CHECK(st.auth_failures == 1);
  CHECK(st.fallbacks == 1);
  CHECK(rig.echo->received == 0);
}

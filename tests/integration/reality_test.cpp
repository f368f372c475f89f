// REALITY end to end on 127.0.0.1, built from JSON configs like `sluice run`:
// app -> socks inbound -> vless outbound with tls.reality -> the REALITY gate
// of a vless inbound -> direct -> echo, with the handshake target a real TLS
// 1.3 server (`openssl s_server -tls1_3 -www`, a separate process); probes
// that are not authorised clients (wrong key, stale clock, unknown short id,
// unlisted SNI, a replayed hello, an old version, plain `openssl s_client`)
// each see the target's certificate and leave their reason; and the sluice
// client against the target itself is refused without sending VLESS.
//
// Without the openssl program the whole binary is skipped (exit code 77).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../unit/transport/tls_test_util.hpp"
#include "crypto/signature.hpp"
#include "inbound/instance.hpp"
#include "inbound/reality_source.hpp"
#include "inbound/vless_inbound.hpp"
#include "proto/base64.hpp"
#include "proto/reality/auth.hpp"
#include "proto/reality/client_auth.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "support.hpp"
#include "support/peer_process.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kUser = "bf000d23-0752-40b4-affe-68f7707a9661";
constexpr const char* kPrivate = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
constexpr const char* kPublic = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw";
constexpr const char* kShortId = "0123456789abcdef";
constexpr const char* kSni = "reality.test";

std::string openssl_or_skip() {
  std::string o = find_binary("openssl");
  if (o.empty()) {
    std::printf("SKIP: the openssl program is not installed (Debian package openssl)\n");
    std::exit(77);
  }
  return o;
}

Bytes der_of(const std::string& pem) {
  std::string b64;
  const size_t end = pem.find("-----END");
  for (size_t i = pem.find('\n') + 1; i < end; ++i)
    if (pem[i] != '\n' && pem[i] != '\r') b64 += pem[i];
  auto d = base64_decode(b64);
  REQUIRE(d.has_value());
  return Bytes(d->begin(), d->end());
}

// Target is the real site: openssl s_server with a certificate for kSni
// issued by a test CA, or (|rsa_bits|) a self-signed RSA one made by the
// openssl program (RSA-PSS signatures have one length: records of fixed
// size, for the record-mirroring test).
struct Target {
  TempDir dir{"sluice_reality_"};
  Pki pki = make_pki(kSni);
  std::string ca_path, cert_path, key_path;
  std::unique_ptr<Peer> peer;
  uint16_t port = 0;
  Bytes leaf_der;

  explicit Target(int rsa_bits = 0) {
    const std::string openssl = openssl_or_skip();
    ca_path = dir.write("ca.pem", pki.ca.certificate);
    cert_path = dir.write("cert.pem", pki.leaf.certificate);
    key_path = dir.write("key.pem", pki.leaf.private_key);
    if (rsa_bits != 0) {
      const std::string cmd = openssl + " req -x509 -newkey rsa:" + std::to_string(rsa_bits) +
                              " -nodes -keyout " + key_path + " -out " + cert_path +
                              " -subj /CN=" + kSni + " -days 1 >/dev/null 2>&1";
      REQUIRE(std::system(cmd.c_str()) == 0);
      pki.leaf.certificate = slurp(cert_path);
    }
    leaf_der = der_of(pki.leaf.certificate);
    std::vector<uint16_t> ports;
    peer = start_peer(
        "s_server", dir, 1,
        [&](const std::vector<uint16_t>& pp) {
          return std::vector<std::string>{
              openssl, "s_server", "-tls1_3", "-www",  "-accept", std::to_string(pp[0]),
              "-cert", cert_path,  "-key",    key_path};
        },
        &ports);
    port = ports[0];
  }
};

struct RealityRig {
  Target target;
  std::unique_ptr<Engine> servers;
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<TlsEchoServer> inner_tls;
  std::unique_ptr<Side> server;
  std::unique_ptr<Side> client;

  // |flow|: the client's flow and the user's ("" or xtls-rprx-vision).
  explicit RealityRig(const std::string& client_reality_extra = "",
                      const std::string& server_reality_extra = "", const std::string& flow = "",
                      uint16_t target_port = 0, int target_rsa_bits = 0)
      : target(target_rsa_bits) {
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
    if (target_port == 0) target_port = target.port;
    server = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"vless","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"name":"alice","uuid":")" +
        std::string(kUser) + R"(","flow":")" + flow +
        R"("}],"tls":{"enabled":true,"server_name":")" + kSni +
        R"(","reality":{"enabled":true,"handshake":{"server":"127.0.0.1","server_port":)" +
        std::to_string(target_port) + R"(},"private_key":")" + kPrivate + R"(","short_id":[")" +
        kShortId + R"("],"max_time_difference":"1m")" + server_reality_extra +
        R"(}}}],"outbounds":[{"type":"direct","tag":"direct"}]})");
    const uint16_t to = server->port("in");
    client = std::make_unique<Side>(
        R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
        std::to_string(to) + R"(,"uuid":")" + kUser + R"(","flow":")" + flow +
        R"(","tls":{"enabled":true,"server_name":")" + kSni + R"(","certificate_path":")" +
        target.ca_path + R"(","reality":{"enabled":true,"public_key":")" + kPublic +
        R"(","short_id":")" + kShortId + R"(")" + client_reality_extra + R"(}}}]})");
  }
  ~RealityRig() {
    client.reset();
    server.reset();
    REQUIRE(servers->stop());
    echo.reset();
    inner_tls.reset();
    servers.reset();
  }
  // start_inner_tls runs a TLS echo server behind the tunnel (Vision tests).
  uint16_t start_inner_tls() {
    auto ctx = test::server_ctx(server_options(target.pki.leaf));
    on_loop(*servers, [&] { inner_tls = std::make_unique<TlsEchoServer>(*servers, ctx); });
    return inner_tls->port();
  }
  VisionCounters vision() {
    return on_loop(*server->engine,
                   [this] { return server->instance->vless_inbound("in")->vision(); });
  }
  RealitySourceStats gate() {
    return on_loop(*server->engine,
                   [this] { return server->instance->vless_inbound("in")->reality()->stats(); });
  }
};

uint32_t now_s() {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// ProbeResult is what an engine client saw of the server: the leaf it was
// shown and whether it was REALITY's.
struct ProbeResult {
  bool connected = false;
  bool reality = false;
  Bytes leaf;
  std::string error;
};

// probe runs a Chrome-shaped engine client with a REALITY token made from
// |co| (and |unix|, |sni|) against 127.0.0.1:|port| until its handshake ends.
ProbeResult probe(uint16_t port, const reality::ClientOptions& co, uint32_t unix,
                  const std::string& sni = kSni) {
  ProbeResult r;
  auto auth = std::make_shared<reality::ClientAuth>(co, unix);
  tls13::ClientConfig cfg;
  cfg.server_name = sni;
  reality::install(auth, cfg,
                   [&r](std::span<const tls13::CertificateEntry> chain, std::string_view) {
                     if (!chain.empty())
                       r.leaf.assign(chain[0].cert_data.begin(), chain[0].cert_data.end());
                     return tls13::Outcome::success();
                   });
  tls13::Client c(std::move(cfg));
  const int fd = tcp_connect(port);
  REQUIRE(c.start().ok());
  for (int i = 0; i < 200 && !c.connected() && !c.failed(); ++i) {
    auto out = c.output();
    if (!out.empty()) {
      REQUIRE(send_all(fd, out.data(), out.size()));
      c.drain(out.size());
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    uint8_t buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    (void)c.receive({buf, static_cast<size_t>(n)});
  }
  ::close(fd);
  r.connected = c.connected();
  r.reality = auth->verified();
  if (c.failed()) r.error = c.error().what();
  if (r.leaf.empty() && auth->verified()) r.leaf = {1};
  return r;
}

// tls_echo_through runs a BoringSSL TLS 1.3 client on |fd| (through the
// tunnel) against the inner TLS echo server and moves |total| pattern bytes
// in 64 KiB ping-pongs after a small request; true if all came back.
bool tls_echo_through(int fd, size_t total, uint64_t seed) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), kSni);
  if (SSL_connect(ssl.get()) != 1) return false;
  Pattern out(seed), expect(seed);
  std::vector<uint8_t> buf(64 * 1024), got(64 * 1024), want(64 * 1024);
  for (size_t done = 0; done < total;) {
    const size_t n = std::min(buf.size(), total - done);
    out.fill(buf.data(), n);
    if (SSL_write(ssl.get(), buf.data(), static_cast<int>(n)) != static_cast<int>(n)) return false;
    for (size_t back = 0; back < n;) {
      const int r = SSL_read(ssl.get(), got.data() + back, static_cast<int>(n - back));
      if (r <= 0) return false;
      back += static_cast<size_t>(r);
    }
    expect.fill(want.data(), n);
    if (std::memcmp(got.data(), want.data(), n) != 0) return false;
    done += n;
  }
  SSL_shutdown(ssl.get());
  return true;
}

reality::ClientOptions good_options() {
  reality::ClientOptions co;
  co.server_public_key = *reality::parse_key(kPublic);
  co.short_id = *reality::parse_short_id(kShortId);
  return co;
}

}  // namespace

TEST_CASE("reality: VLESS transfers 1 B to 64 MiB, hash-checked, X25519MLKEM768 offered",
          "[integration][reality]") {
  RealityRig rig;
  for (size_t n : {size_t{1}, size_t{65536}, size_t{64} << 20}) {
    INFO("bytes " << n);
    int fd = tcp_connect(rig.client->port("in"));
    REQUIRE(socks5_connect(fd, "127.0.0.1", rig.echo->port()) == 0);
    CHECK(echo_transfer(fd, n, n));
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  const auto g = rig.gate();
  CHECK(g.authenticated == 3);
  CHECK(g.relayed == 0);
  CHECK(g.failed == 0);
}

TEST_CASE("reality: VLESS with an X25519-only client", "[integration][reality]") {
  RealityRig rig(R"(,"x25519_only":true)");
  int fd = tcp_connect(rig.client->port("in"));
  REQUIRE(socks5_connect(fd, "127.0.0.1", rig.echo->port()) == 0);
  CHECK(echo_transfer(fd, 1u << 20, 7));
  CHECK(wait_eof(fd));
  ::close(fd);
  CHECK(rig.gate().authenticated == 1);
}

TEST_CASE("reality: VLESS + Vision with inner TLS switches to direct copy both ways",
          "[integration][reality][vision]") {
  for (const bool x25519_only : {false, true}) {
    DYNAMIC_SECTION("x25519_only " << x25519_only) {
      RealityRig rig(x25519_only ? R"(,"x25519_only":true)" : "", "", "xtls-rprx-vision");
      const uint16_t inner = rig.start_inner_tls();
      size_t streams = 0;
      for (size_t n : {size_t{1}, size_t{65536}, size_t{16} << 20}) {
        INFO("bytes " << n);
        int fd = tcp_connect(rig.client->port("in"));
        REQUIRE(socks5_connect(fd, "127.0.0.1", inner) == 0);
        CHECK(tls_echo_through(fd, n, 100 + n));
        ::close(fd);
        ++streams;
      }
      // Plain traffic under Vision stays on REALITY's records, half-close included.
      int fd = tcp_connect(rig.client->port("in"));
      REQUIRE(socks5_connect(fd, "127.0.0.1", rig.echo->port()) == 0);
      CHECK(echo_transfer(fd, 4u << 20, 9));
      CHECK(wait_eof(fd));
      ::close(fd);
      ++streams;
      REQUIRE(wait_until([&] { return rig.vision().streams == streams; }));
      const VisionCounters v = rig.vision();
      CHECK(v.direct_read == streams - 1);
      CHECK(v.direct_write == streams - 1);
      CHECK(rig.gate().authenticated == streams);
    }
  }
}

TEST_CASE("reality: an unreachable or unusable target closes the connection with its reason",
          "[integration][reality]") {
  SECTION("unreachable") {
    RealityRig rig("", "", "", free_tcp_port());
    int fd = tcp_connect(rig.client->port("in"));
    CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
    ::close(fd);
    REQUIRE(wait_until([&] { return rig.gate().failed == 1; }));
    CHECK_THAT(rig.gate().last_reason, Catch::Contains("handshake target unreachable"));
  }
  SECTION("not TLS: an echo server answers the hello with the hello") {
    std::unique_ptr<Engine> e = std::move(*Engine::create());
    auto plain = std::make_unique<TestServer>(*e, TestServer::Mode::echo);
    REQUIRE(e->start());
    {
      RealityRig rig("", "", "", plain->port());
      int fd = tcp_connect(rig.client->port("in"));
      CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
      ::close(fd);
      REQUIRE(wait_until([&] { return rig.gate().failed == 1; }));
      CHECK_THAT(rig.gate().last_reason, Catch::Contains("target sent incorrect server hello"));
      // The server keeps serving: a probe still reaches the (echo) target.
      CHECK(rig.gate().authenticated == 0);
    }
    REQUIRE(e->stop());
    plain.reset();
  }
}

TEST_CASE("reality: probes see the target's certificate and leave a reason",
          "[integration][reality][probe]") {
  RealityRig rig("", R"(,"min_client_version":"1.8.0")");
  const uint16_t port = rig.server->port("in");
  const auto expect_relayed = [&](const ProbeResult& r, const std::string& reason,
                                  uint64_t relayed) {
    INFO(r.error);
    CHECK(r.connected);
    CHECK_FALSE(r.reality);
    CHECK(r.leaf == rig.target.leaf_der);
    const auto g = rig.gate();
    CHECK(g.relayed == relayed);
    CHECK_THAT(g.last_reason, Catch::Contains(reason));
  };

  // A good token is answered by REALITY itself.
  ProbeResult ok = probe(port, good_options(), now_s());
  INFO(ok.error);
  CHECK(ok.connected);
  CHECK(ok.reality);

  reality::ClientOptions wrong_key = good_options();
  wrong_key.server_public_key[3] ^= 0x40;
  expect_relayed(probe(port, wrong_key, now_s()), "authentication failed", 1);
  expect_relayed(probe(port, good_options(), now_s() - 3600),
                 "client time outside max_time_difference", 2);
  reality::ClientOptions other_id = good_options();
  other_id.short_id = *reality::parse_short_id("aa");
  expect_relayed(probe(port, other_id, now_s()), "unknown short id", 3);
  expect_relayed(probe(port, good_options(), now_s(), "other.test"), "server name mismatch", 4);
  reality::ClientOptions old = good_options();
  old.version = {1, 7, 9};
  expect_relayed(probe(port, old, now_s()), "client version below min_client_version", 5);

  SECTION("a replayed ClientHello is relayed") {
    auto auth = std::make_shared<reality::ClientAuth>(good_options(), now_s());
    tls13::ClientConfig cfg;
    cfg.server_name = kSni;
    reality::install(auth, cfg, {});
    tls13::Client c(std::move(cfg));
    REQUIRE(c.start().ok());
    const Bytes hello(c.output().begin(), c.output().end());
    for (int round = 0; round < 2; ++round) {
      const int fd = tcp_connect(port);
      REQUIRE(send_all(fd, hello.data(), hello.size()));
      // Both answers start with a ServerHello record: REALITY's, then the target's.
      uint8_t head[6];
      REQUIRE(recv_exact(fd, head, sizeof head));
      CHECK(head[0] == 0x16);
      CHECK(head[5] == 0x02);
      ::close(fd);
    }
    REQUIRE(wait_until([&] { return rig.gate().relayed == 6; }));
    CHECK(rig.gate().last_reason == "replayed ClientHello");
  }

  SECTION("plain openssl s_client gets the target's certificate") {
    TempDir dir("sluice_reality_sclient_");
    const std::string out = dir.file("s_client.out");
    const std::string cmd =
        find_binary("openssl") + " s_client -connect 127.0.0.1:" + std::to_string(port) +
        " -servername " + kSni + " -CAfile " + rig.target.ca_path + " </dev/null >" + out + " 2>&1";
    CHECK(std::system(cmd.c_str()) == 0);
    const std::string text = slurp(out);
    INFO(text);
    CHECK_THAT(text, Catch::Contains("Verify return code: 0 (ok)"));
    CHECK_THAT(text, Catch::Contains("CN = " + std::string(kSni)));
    REQUIRE(wait_until([&] { return rig.gate().relayed == 6; }));
    CHECK_THAT(rig.gate().last_reason, Catch::Contains("authentication failed"));
  }
}

namespace {

// RecordingSite is a real TLS 1.3 site on 127.0.0.1 (the engine's server,
// on its own thread, with the test PKI's leaf for kSni) that keeps every
// application byte it receives on its one connection.
struct RecordingSite {
  int listen_fd = -1;
  uint16_t port = 0;
  std::thread thread;
  std::mutex mu;
  std::string received;
  bool handshake_done = false;

  explicit RecordingSite(const Pki& pki) {
    listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    auto key = crypto::SigningKey::from_pem(pki.leaf.private_key);
    REQUIRE(key.has_value());
    tls13::ServerConfig cfg;
    cfg.certificate_chain = {der_of(pki.leaf.certificate)};
    cfg.key = std::make_shared<crypto::SigningKey>(std::move(*key));
    cfg.alpn = {"h2", "http/1.1"};
    thread = std::thread([this, cfg]() mutable { serve(std::move(cfg)); });
  }
  ~RecordingSite() {
    ::shutdown(listen_fd, SHUT_RDWR);
    ::close(listen_fd);
    thread.join();
  }
  void serve(tls13::ServerConfig cfg) {
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) return;
    tls13::Server s(std::move(cfg));
    for (int i = 0; i < 400 && !s.failed(); ++i) {
      auto out = s.output();
      if (!out.empty()) {
        if (!send_all(fd, out.data(), out.size())) break;
        s.drain(out.size());
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 25) <= 0) continue;
      uint8_t buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      (void)s.receive({buf, static_cast<size_t>(n)});
      const Bytes app = s.take_application_data();
      std::lock_guard<std::mutex> l(mu);
      handshake_done = handshake_done || s.connected();
      received.append(app.begin(), app.end());
    }
    ::close(fd);
  }
  std::string seen() {
    std::lock_guard<std::mutex> l(mu);
    return received;
  }
};

}  // namespace

TEST_CASE("reality: the client against the real site is refused, no VLESS sent",
          "[integration][reality]") {
  const Bytes uuid = {0xbf, 0x00, 0x0d, 0x23, 0x07, 0x52, 0x40, 0xb4,
                      0xaf, 0xfe, 0x68, 0xf7, 0x70, 0x7a, 0x96, 0x61};
  const Pki pki = make_pki(kSni);
  TempDir dir("sluice_reality_site_");
  const std::string ca_path = dir.write("ca.pem", pki.ca.certificate);
  for (const bool trusted : {true, false}) {
    DYNAMIC_SECTION("chain " << (trusted ? "valid" : "not trusted")) {
      RecordingSite site(pki);
      Side client(
          R"({"log":{"level":"error"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"vless","tag":"v","server":"127.0.0.1","server_port":)" +
          std::to_string(site.port) + R"(,"uuid":")" + kUser +
          R"(","tls":{"enabled":true,"server_name":")" + kSni + "\"" +
          (trusted ? R"(,"certificate_path":")" + ca_path + "\"" : std::string()) +
          R"(,"reality":{"enabled":true,"public_key":")" + kPublic + R"("}}}]})");
      int fd = tcp_connect(client.port("in"));
      CHECK(socks5_connect(fd, "127.0.0.1", 9) != 0);
      ::close(fd);
      // The valid chain got the browser-like HTTP/2 request and nothing else;
      // the untrusted one got nothing at all.
      if (trusted)
        CHECK(wait_until([&] { return site.seen().find("PRI * HTTP/2.0") == 0; },
                         std::chrono::seconds(10)));
      const std::string seen = site.seen();
      INFO(seen.size() << " bytes received");
      CHECK(seen.find(std::string(uuid.begin(), uuid.end())) == std::string::npos);
      if (!trusted) CHECK(seen.empty());
    }
  }
}

namespace {

struct WireRecord {
  uint8_t type = 0;
  size_t length = 0;  // with the header
  bool operator==(const WireRecord&) const = default;
};

std::ostream& operator<<(std::ostream& os, const WireRecord& r) {
  return os << "{" << int(r.type) << ", " << r.length << "}";
}

// capture runs a Chrome-shaped engine client against 127.0.0.1:|port|
// (with a REALITY token when |co| is set) and returns the records the
// server sent, types and wire lengths, until 600 ms pass without more after
// the handshake.
std::vector<WireRecord> capture(uint16_t port, const reality::ClientOptions* co,
                                bool* verified = nullptr) {
  std::shared_ptr<reality::ClientAuth> auth;
  tls13::ClientConfig cfg;
  cfg.server_name = kSni;
  const tls13::CertificateVerifier any = [](std::span<const tls13::CertificateEntry>,
                                            std::string_view) { return tls13::Outcome::success(); };
  if (co) {
    auth = std::make_shared<reality::ClientAuth>(*co, now_s());
    reality::install(auth, cfg, any);
  } else {
    cfg.verifier = any;
  }
  tls13::Client c(std::move(cfg));
  const int fd = tcp_connect(port);
  REQUIRE(c.start().ok());
  Bytes wire;
  auto quiet_since = std::chrono::steady_clock::now();
  for (int i = 0; i < 400 && !c.failed(); ++i) {
    auto out = c.output();
    if (!out.empty()) {
      REQUIRE(send_all(fd, out.data(), out.size()));
      c.drain(out.size());
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 25) <= 0) {
      if (c.connected() &&
          std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(600))
        break;
      continue;
    }
    uint8_t buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    wire.insert(wire.end(), buf, buf + n);
    quiet_since = std::chrono::steady_clock::now();
    REQUIRE(c.receive({buf, static_cast<size_t>(n)}));
  }
  ::close(fd);
  INFO(c.error().what());
  CHECK(c.connected());
  if (verified) *verified = auth && auth->verified();
  std::vector<WireRecord> records;
  std::span<const uint8_t> rest(wire);
  while (rest.size() >= 5) {
    const size_t len = 5 + (size_t{rest[3]} << 8 | rest[4]);
    records.push_back({rest[0], len});
    if (rest.size() < len) break;
    rest = rest.subspan(len);
  }
  return records;
}

}  // namespace

TEST_CASE("reality: the client sees the target's records, length for length",
          "[integration][reality][mirror]") {
  std::vector<size_t> cert_records;
  for (const int bits : {2048, 3072}) {
    DYNAMIC_SECTION("RSA-" << bits << " target certificate") {
      RealityRig rig("", "", "", 0, bits);
      const auto direct = capture(rig.target.port, nullptr);
      const reality::ClientOptions co = good_options();
      bool verified = false;
      const auto mirrored = capture(rig.server->port("in"), &co, &verified);
      CHECK(verified);
      INFO("direct: " << Catch::Detail::stringify(direct));
      INFO("REALITY: " << Catch::Detail::stringify(mirrored));
      // ServerHello, CCS, EncryptedExtensions, Certificate, CertificateVerify,
      // Finished, and OpenSSL's two NewSessionTickets after the client Finished.
      REQUIRE(direct.size() == 8);
      CHECK(mirrored == direct);
      std::string lengths;
      for (const WireRecord& r : direct) lengths += " " + std::to_string(r.length);
      std::printf("RSA-%d target, record lengths (direct and through REALITY):%s\n", bits,
                  lengths.c_str());
      cert_records.push_back(direct[3].length);
      const auto post = on_loop(*rig.server->engine, [&] {
        return rig.server->instance->vless_inbound("in")->reality()->post_handshake_lengths(
            kSni, reality::AlpnClass::h2);
      });
      CHECK(post == std::vector<size_t>{direct[6].length, direct[7].length});
      CHECK(rig.gate().authenticated == 1);
    }
  }
  if (cert_records.size() == 2) CHECK(cert_records[0] != cert_records[1]);
}

TEST_CASE("reality: fallback rate limits slow relayed connections to their rate",
          "[integration][reality][limit]") {
  std::unique_ptr<Engine> e = std::move(*Engine::create());
  auto echo_target = std::make_unique<TestServer>(*e, TestServer::Mode::echo);
  REQUIRE(e->start());
  {
    // 1 MiB each way; the first 64 KiB free, then a bucket of 512 KiB (the
    // 64 KiB burst is raised to a second's worth, as Xray does) at 512 KiB/s:
    // the limited direction needs about (1 MiB - 576 KiB) / 512 KiB/s.
    const size_t total = 1u << 20;
    const std::string limit =
        R"({"afterBytes":65536,"bytesPerSec":524288,"burstBytesPerSec":65536})";
    for (const char* dir : {"", "limitFallbackUpload", "limitFallbackDownload"}) {
      DYNAMIC_SECTION("limited: " << (*dir ? dir : "none")) {
        const std::string extra = *dir ? std::string(",\"") + dir + "\":" + limit : "";
        RealityRig rig("", extra, "", echo_target->port());
        int fd = tcp_connect(rig.server->port("in"));
        // Not TLS: relayed to the (echo) target at once.
        REQUIRE(send_all(fd, "hello\n", 6));
        char back[6];
        REQUIRE(recv_exact(fd, back, sizeof back));
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(echo_transfer(fd, total, 21));
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ::close(fd);
        std::printf("fallback limit %s: 1 MiB echoed in %.2f s\n", *dir ? dir : "none", s);
        // The last read's debt is waited out after its bytes went on, so
        // up to one read (64 KiB, 0.125 s) less than the figure above.
        if (*dir) {
          CHECK(s > 0.6);
          CHECK(s < 4.0);
        } else {
          CHECK(s < 0.3);
        }
        CHECK(rig.gate().relayed == 1);
      }
    }
  }
  REQUIRE(e->stop());
  echo_target.reset();
}

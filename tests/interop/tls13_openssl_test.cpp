// Interop of sluice's TLS 1.3 engine client (lib/proto/tls13) with Debian's
// OpenSSL 3.0 `openssl s_server -tls1_3`, a separate process on 127.0.0.1
// (sluice never links OpenSSL): each cipher suite, Ed25519 / ECDSA P-256 /
// RSA (RSA-PSS signatures) certificates, hash-checked data both ways through
// s_server's -rev echo, a key update forced by the client, and a full
// handshake through the HelloRetryRequest of a P-256-only and of a P-384-only
// server; and `openssl s_client` against
// the engine server with the same suites and key types, over X25519 and P-384.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/signature.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/cipher.hpp"
#include "support/peer_process.hpp"

using namespace sluice;
using namespace sluice::tls13;
using namespace sluice::test;

namespace {

using Vec = std::vector<uint8_t>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// pump writes the client's output and feeds what arrives within |ms| back to
// it; returns the last receive() outcome, or a failure on EOF.
Outcome pump(Client& c, int fd, int ms, bool* eof = nullptr) {
  auto out = c.output();
  while (!out.empty()) {
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    c.drain(static_cast<size_t>(n));
    out = c.output();
  }
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return Outcome::success();
  uint8_t buf[65536];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) {
    if (eof) *eof = true;
    return Outcome::success();
  }
  Outcome o = c.receive(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  return o;
}

// Chrome does not advertise ed25519, so OpenSSL cannot pick a scheme for an
// Ed25519 certificate with the chrome row: this row adds it at the end.
constexpr uint16_t kSigalgsWithEd25519[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                            0x0501, 0x0806, 0x0601, 0x0807};
const ClientProfile& chrome_with_ed25519() {
  static const ClientProfile p = [] {
    ClientProfile c = chrome_profile();
    c.signature_algorithms = kSigalgsWithEd25519;
    return c;
  }();
  return p;
}

struct Cert {
  std::string cert, key;
};

// der_from_pem decodes the base64 body of the first PEM block.
Vec der_from_pem(const std::string& pem) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Vec der;
  uint32_t acc = 0;
  int bits = 0;
  const size_t end = pem.find("-----END");
  for (size_t i = pem.find('\n') + 1; i < end && i < pem.size(); ++i) {
    const auto v = abc.find(pem[i]);
    if (v == std::string::npos) continue;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      der.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return der;
}

// make_cert runs `openssl req` for a self-signed certificate for localhost.
Cert make_cert(TempDir& dir, const std::string& openssl, const std::string& kind) {
  Cert c{dir.file(kind + ".crt"), dir.file(kind + ".key")};
  std::string newkey = kind == "ed25519" ? "ed25519" : kind == "rsa" ? "rsa:2048" : "ec";
  std::string extra = kind == "ecdsa" ? " -pkeyopt ec_paramgen_curve:P-256" : "";
  const std::string cmd = openssl + " req -x509 -newkey " + newkey + extra + " -nodes -keyout " +
                          c.key + " -out " + c.cert +
                          " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost" +
                          " >" + dir.file(kind + ".gen.log") + " 2>&1";
  INFO(cmd << "\n" << slurp(dir.file(kind + ".gen.log")));
  REQUIRE(std::system(cmd.c_str()) == 0);
  return c;
}

std::unique_ptr<Peer> start_server(TempDir& dir, const std::string& openssl, const Cert& cert,
                                   const std::string& suite, const std::string& groups,
                                   uint16_t* port) {
  std::vector<uint16_t> ports;
  auto p = start_peer(
      "s_server", dir, 1,
      [&](const std::vector<uint16_t>& pp) {
        return std::vector<std::string>{
            openssl,     "s_server", "-tls1_3", "-accept", std::to_string(pp[0]),
            "-cert",     cert.cert,  "-key",    cert.key,  "-ciphersuites",
            suite,       "-groups",  groups,    "-rev",    "-quiet",
            "-no_ticket"};
      },
      &ports);
  *port = ports[0];
  return p;
}

ClientConfig config_for(const std::string& cert_pem_path) {
  ClientConfig cfg;
  cfg.server_name = "localhost";
  cfg.alpn.clear();
  const std::string pem = slurp(cert_pem_path);
  // Trust exactly the server's self-signed certificate (leaf DER match).
  cfg.verifier = [pem](std::span<const CertificateEntry> chain, std::string_view host) {
    if (chain.empty() || host != "localhost")
      return Outcome::fail(Alert::bad_certificate, "no certificate");
    const Vec der = der_from_pem(pem);
    if (!std::equal(der.begin(), der.end(), chain[0].cert_data.begin(), chain[0].cert_data.end()))
      return Outcome::fail(Alert::bad_certificate, "not the expected certificate");
    return Outcome::success();
  };
  return cfg;
}

// session runs one connection: handshake, echo of hash-checked lines with a
// client key update in the middle, close.
void session(uint16_t port, ClientConfig cfg, uint16_t want_suite,
             uint16_t want_group = kGroupX25519) {
  Client c(std::move(cfg));
  Fd fd{connect_to(port)};
  REQUIRE(c.start().ok());
  for (int i = 0; i < 100 && !c.connected(); ++i) {
    Outcome o = pump(c, fd.fd, 100);
    INFO(o.what() << " / " << alert_name(o.alert()));
    REQUIRE(o.ok());
  }
  REQUIRE(c.connected());
  CHECK(c.cipher_suite() == want_suite);
  CHECK(c.group() == want_group);
  CHECK(c.hello_retry_request() == (want_group != kGroupX25519));

  // s_server -rev answers each line reversed (one small write per line, so
  // few long lines): 100 lines of 999 random hex digits.
  std::string sent, expect;
  for (int i = 0; i < 100; ++i) {
    std::array<uint8_t, 999> r{};
    random_bytes(r);
    std::string line;
    for (uint8_t x : r) line += "0123456789abcdef"[x & 15];
    sent += line + "\n";
    std::string rev(line.rbegin(), line.rend());
    expect += rev + "\n";
  }
  const size_t half = sent.size() / 2;
  REQUIRE(c.send({reinterpret_cast<const uint8_t*>(sent.data()), half}).has_value());
  REQUIRE(c.request_key_update().has_value());
  REQUIRE(c.send({reinterpret_cast<const uint8_t*>(sent.data()) + half, sent.size() - half})
              .has_value());
  std::string got;
  bool eof = false;
  for (int i = 0; i < 400 && got.size() < expect.size() && !eof; ++i) {
    Outcome o = pump(c, fd.fd, 50, &eof);
    INFO(o.what());
    REQUIRE(o.ok());
    auto d = c.take_application_data();
    got.append(d.begin(), d.end());
  }
  std::array<uint8_t, 32> h1{}, h2{};
  REQUIRE(Digest::hash(DigestAlgorithm::sha256,
                       {reinterpret_cast<const uint8_t*>(got.data()), got.size()}, h1)
              .has_value());
  REQUIRE(Digest::hash(DigestAlgorithm::sha256,
                       {reinterpret_cast<const uint8_t*>(expect.data()), expect.size()}, h2)
              .has_value());
  CHECK(got.size() == expect.size());
  CHECK(h1 == h2);
  REQUIRE(c.close().has_value());
  (void)pump(c, fd.fd, 0);
}

}  // namespace

TEST_CASE("engine client against openssl s_server: every suite, every key type",
          "[tls13][interop][openssl]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-");
  struct Case {
    const char* suite;
    uint16_t id;
  };
  const Case suites[] = {{"TLS_AES_128_GCM_SHA256", kTlsAes128GcmSha256},
                         {"TLS_AES_256_GCM_SHA384", kTlsAes256GcmSha384},
                         {"TLS_CHACHA20_POLY1305_SHA256", kTlsChacha20Poly1305Sha256}};
  for (const char* kind : {"ecdsa", "ed25519", "rsa"}) {
    const Cert cert = make_cert(dir, openssl, kind);
    for (const auto& s : suites) {
      for (KeySharePolicy policy :
           {KeySharePolicy::hybrid_and_x25519, KeySharePolicy::x25519_only}) {
        INFO(kind << " " << s.suite << " policy " << static_cast<int>(policy));
        uint16_t port = 0;
        auto peer = start_server(dir, openssl, cert, s.suite, "X25519", &port);
        ClientConfig cfg = config_for(cert.cert);
        cfg.key_shares = policy;
        if (std::string(kind) == "ed25519") cfg.profile = &chrome_with_ed25519();
        INFO(peer->describe());
        session(port, std::move(cfg), s.id);
      }
    }
  }
}

TEST_CASE("engine client: HelloRetryRequest from a P-256-only openssl s_server",
          "[tls13][interop][openssl]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-hrr-");
  const Cert cert = make_cert(dir, openssl, "ecdsa");
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    INFO(suite);
    uint16_t port = 0;
    auto peer = start_server(dir, openssl, cert, suite, "P-256", &port);
    // Chrome lists P-256 without a share: the server asks for one.
    INFO(peer->describe());
    session(
        port, config_for(cert.cert),
        std::string(suite) == "TLS_AES_128_GCM_SHA256" ? kTlsAes128GcmSha256 : kTlsAes256GcmSha384,
        kGroupSecp256r1);
  }
}

TEST_CASE("engine client: HelloRetryRequest from a P-384-only openssl s_server",
          "[tls13][interop][openssl]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-p384-");
  const Cert cert = make_cert(dir, openssl, "ecdsa");
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    INFO(suite);
    uint16_t port = 0;
    auto peer = start_server(dir, openssl, cert, suite, "P-384", &port);
    INFO(peer->describe());
    const uint16_t id = std::string(suite) == "TLS_AES_128_GCM_SHA256" ? kTlsAes128GcmSha256
                        : std::string(suite) == "TLS_AES_256_GCM_SHA384"
                            ? kTlsAes256GcmSha384
                            : kTlsChacha20Poly1305Sha256;
    session(port, config_for(cert.cert), id, kGroupSecp384r1);
  }
}

TEST_CASE("openssl s_client against the engine server: every suite, every key type",
          "[tls13][interop][openssl]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-srv-");
  Vec up(60000);
  random_bytes(up);
  std::string up_text;
  for (uint8_t x : up) up_text += "0123456789abcdef"[x & 15];
  const std::string in_path = dir.write("in.txt", up_text);
  std::string down_text;
  for (int i = 0; i < 80000; ++i) down_text += "abcdefghij"[i % 10];

  const struct {
    const char* name;
    uint16_t id;
  } suites[] = {{"TLS_AES_128_GCM_SHA256", kTlsAes128GcmSha256},
                {"TLS_AES_256_GCM_SHA384", kTlsAes256GcmSha384},
                {"TLS_CHACHA20_POLY1305_SHA256", kTlsChacha20Poly1305Sha256}};
  for (const char* kind : {"ecdsa", "ed25519", "rsa"}) {
    const Cert cert = make_cert(dir, openssl, kind);
    auto key = crypto::SigningKey::from_pem(slurp(cert.key));
    REQUIRE(key.has_value());
    auto shared_key = std::make_shared<crypto::SigningKey>(std::move(*key));
    for (const auto& suite : suites) {
      for (const char* group : {"X25519", "P-384"}) {
        INFO(kind << " " << suite.name << " " << group);
        const uint16_t want_group = std::string(group) == "X25519" ? kGroupX25519 : kGroupSecp384r1;
        ServerConfig sc;
        sc.certificate_chain = {der_from_pem(slurp(cert.cert))};
        sc.key = shared_key;
        sc.groups = {kGroupX25519Mlkem768, kGroupX25519, kGroupSecp384r1};
        Server server(sc);

        Fd ls{::socket(AF_INET, SOCK_STREAM, 0)};
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(ls.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(ls.fd, 1) == 0);
        socklen_t alen = sizeof a;
        REQUIRE(::getsockname(ls.fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0);
        const std::string out_path = dir.file(std::string("out-") + kind + suite.name + group);
        const std::string cmd =
            openssl + " s_client -connect 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
            " -tls1_3 -ciphersuites " + suite.name + " -groups " + group +
            " -servername localhost -quiet < " + in_path + " > " + out_path;
        Peer peer("s_client", {"/bin/sh", "-c", cmd}, dir.file("s_client.log"));
        pollfd lp{ls.fd, POLLIN, 0};
        REQUIRE(::poll(&lp, 1, 10000) == 1);
        Fd fd{::accept(ls.fd, nullptr, nullptr)};
        REQUIRE(fd.fd >= 0);

        std::string got;
        bool sent = false, eof = false;
        for (int i = 0; i < 400 && !eof && !server.failed(); ++i) {
          auto out = server.output();
          while (!out.empty()) {
            const ssize_t n = ::send(fd.fd, out.data(), out.size(), MSG_NOSIGNAL);
            if (n <= 0) break;
            server.drain(static_cast<size_t>(n));
            out = server.output();
          }
          if (sent && server.output().empty()) break;
          pollfd p{fd.fd, POLLIN, 0};
          if (::poll(&p, 1, 50) > 0) {
            uint8_t buf[65536];
            const ssize_t n = ::recv(fd.fd, buf, sizeof buf, 0);
            if (n <= 0) {
              eof = true;
            } else {
              Outcome o = server.receive(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
              INFO(o.what() << " " << peer.describe());
              REQUIRE(o.ok());
            }
          }
          auto d = server.take_application_data();
          got.append(d.begin(), d.end());
          if (!sent && server.connected() && got.size() >= up_text.size()) {
            const auto* b = reinterpret_cast<const uint8_t*>(down_text.data());
            REQUIRE(server.send({b, down_text.size() / 2}).has_value());
            REQUIRE(server.request_key_update().has_value());
            REQUIRE(server.send({b + down_text.size() / 2, down_text.size() - down_text.size() / 2})
                        .has_value());
            REQUIRE(server.close().has_value());
            sent = true;
          }
        }
        INFO(peer.describe());
        REQUIRE(server.connected());
        CHECK(server.cipher_suite() == suite.id);
        CHECK(server.group() == want_group);
        CHECK(got == up_text);
        for (int i = 0; i < 100 && peer.alive(); ++i) ::poll(nullptr, 0, 50);
        CHECK(slurp(out_path) == down_text);
      }
    }
  }
}

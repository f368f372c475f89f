// Interop of sluice's TLS 1.3 engine client (lib/proto/tls13) with Debian's
// OpenSSL 3.0 `openssl s_server -tls1_3`, a separate process on 127.0.0.1
// (sluice never links OpenSSL): each cipher suite, Ed25519 / ECDSA P-256 /
// RSA (RSA-PSS signatures) certificates, hash-checked data both ways through
// s_server's -rev echo, a key update forced by the client, and a full
// handshake through the HelloRetryRequest of a P-256-only and of a P-384-only
// server; and `openssl s_client` against
// the engine server with the same suites and key types, over X25519 and P-384.
// Resumption both ways: the engine client with s_server's tickets, s_client
// -sess_out/-sess_in with the engine server's.
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
                                   uint16_t* port, bool tickets = false) {
  std::vector<uint16_t> ports;
  auto p = start_peer(
      "s_server", dir, 1,
      [&](const std::vector<uint16_t>& pp) {
        std::vector<std::string> argv = {
            openssl, "s_server", "-tls1_3", "-accept", std::to_string(pp[0]),
            "-cert", cert.cert,  "-key",    cert.key,  "-ciphersuites",
            suite,   "-groups",  groups,    "-rev",    "-quiet"};
        if (!tickets) argv.push_back("-no_ticket");
        return argv;
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
std::vector<SessionTicket> session(uint16_t port, ClientConfig cfg, uint16_t want_suite,
                                   uint16_t want_group = kGroupX25519, bool want_resumed = false) {
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
  CHECK(c.resumed() == want_resumed);

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
  return c.tickets();
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

TEST_CASE("engine client resumes with openssl s_server's tickets",
          "[tls13][interop][openssl][psk]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-psk-");
  const Cert cert = make_cert(dir, openssl, "ecdsa");
  uint64_t now = 1'800'000'000'000ull;
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    INFO(suite);
    const uint16_t id =
        std::string(suite) == "TLS_AES_128_GCM_SHA256" ? kTlsAes128GcmSha256 : kTlsAes256GcmSha384;
    uint16_t port = 0;
    auto peer = start_server(dir, openssl, cert, suite, "X25519", &port, true);
    INFO(peer->describe());
    ClientConfig first = config_for(cert.cert);
    first.now_ms = [&now] { return now; };
    const auto tickets = session(port, first, id);
    REQUIRE_FALSE(tickets.empty());  // OpenSSL sends two after the handshake
    now += 2000;
    for (size_t i = 0; i < std::min<size_t>(tickets.size(), 2); ++i) {
      ClientConfig again = config_for(cert.cert);
      int verifier_calls = 0;
      auto verify = again.verifier;
      again.verifier = [&verifier_calls, verify](std::span<const CertificateEntry> chain,
                                                 std::string_view host) {
        ++verifier_calls;
        return verify(chain, host);
      };
      again.now_ms = [&now] { return now; };
      again.ticket = tickets[i];
      session(port, again, id, kGroupX25519, true);
      CHECK(verifier_calls == 0);
    }
  }
}

namespace {

// serve_s_client accepts one `openssl s_client` connection (|args| appended
// to its command line) on the engine server, reads |up| from it, answers
// |down| with a key update in the middle and closes; returns whether the
// handshake was a resumption.
bool serve_s_client(TempDir& dir, const std::string& openssl, const ServerConfig& sc,
                    const std::string& args, const std::string& up, const std::string& down,
                    const std::string& tag) {
  Server server(sc);
  Fd ls{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(ls.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(ls.fd, 1) == 0);
  socklen_t alen = sizeof a;
  REQUIRE(::getsockname(ls.fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0);
  const std::string in_path = dir.write("in-" + tag, up);
  const std::string out_path = dir.file("out-" + tag);
  const std::string cmd =
      openssl + " s_client -connect 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + " -tls1_3 " +
      args + " -servername localhost -quiet < " + in_path + " > " + out_path;
  Peer peer("s_client", {"/bin/sh", "-c", cmd}, dir.file("s_client-" + tag + ".log"));
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
    if (!sent && server.connected() && got.size() >= up.size()) {
      const auto* b = reinterpret_cast<const uint8_t*>(down.data());
      REQUIRE(server.send({b, down.size() / 2}).has_value());
      REQUIRE(server.request_key_update().has_value());
      REQUIRE(server.send({b + down.size() / 2, down.size() - down.size() / 2}).has_value());
      REQUIRE(server.close().has_value());
      sent = true;
    }
  }
  INFO(peer.describe());
  REQUIRE(server.connected());
  CHECK(got == up);
  for (int i = 0; i < 100 && peer.alive(); ++i) ::poll(nullptr, 0, 50);
  CHECK(slurp(out_path) == down);
  return server.resumed();
}

}  // namespace

TEST_CASE("openssl s_client resumes on the engine server (-sess_out / -sess_in)",
          "[tls13][interop][openssl][psk]") {
  const std::string openssl = require_binary("openssl", "openssl");
  TempDir dir("sluice-tls13-srv-psk-");
  const Cert cert = make_cert(dir, openssl, "ecdsa");
  auto key = crypto::SigningKey::from_pem(slurp(cert.key));
  REQUIRE(key.has_value());
  uint64_t now = 1'800'000'000'000ull;
  ServerConfig sc;
  sc.certificate_chain = {der_from_pem(slurp(cert.cert))};
  sc.key = std::make_shared<crypto::SigningKey>(std::move(*key));
  sc.ticket_key = Vec(32, 0x42);
  sc.now_ms = [&now] { return now; };
  sc.tickets_per_connection = 2;
  const std::string up(3000, 'u'), down(5000, 'd');
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"}) {
    INFO(suite);
    const std::string sess = dir.file(std::string("sess-") + suite);
    const std::string base = std::string("-ciphersuites ") + suite + " -groups X25519";
    CHECK_FALSE(serve_s_client(dir, openssl, sc, base + " -sess_out " + sess, up, down,
                               std::string("1-") + suite));
    REQUIRE(!slurp(sess).empty());
    now += 1500;
    CHECK(serve_s_client(dir, openssl, sc, base + " -sess_in " + sess, up, down,
                         std::string("2-") + suite));
    // A rotated key: the same session is refused, full handshake.
    ServerConfig rotated = sc;
    rotated.ticket_key = Vec(32, 0x43);
    CHECK_FALSE(serve_s_client(dir, openssl, rotated, base + " -sess_in " + sess, up, down,
                               std::string("3-") + suite));
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

// Tests for the sans-I/O TLS 1.3 server (lib/proto/tls13/server.cpp), run
// against the engine's own client without sockets: X25519MLKEM768 (which no
// Debian peer speaks) and X25519, each suite, ECDSA / Ed25519 keys, the
// HelloRetryRequest paths (missing share, retry cookie), data and key
// updates both ways, and the alerts for a hostile client.
#include <catch2/catch.hpp>

#include <vector>

#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/cipher.hpp"
#include "support/hex.hpp"
#include "unit/tls13/rfc8448_hrr_vectors.hpp"
#include "unit/tls13/rfc8448_vectors.hpp"

using namespace sluice;
using namespace sluice::tls13;

namespace {

using Vec = std::vector<uint8_t>;

// der_of decodes the first PEM block's base64 body.
Vec der_of(const std::string& pem) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t begin = pem.find('\n') + 1;
  const size_t end = pem.find("-----END");
  Vec der;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = begin; i < end; ++i) {
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

struct Identity {
  Vec cert;
  std::shared_ptr<const crypto::SigningKey> key;
};

Identity ecdsa_identity() {
  tls::CertificateRequest req;
  req.name = "localhost";
  auto kp = tls::generate_certificate(req);
  REQUIRE(kp.has_value());
  auto key = crypto::SigningKey::from_pem(kp->private_key);
  REQUIRE(key.has_value());
  return {der_of(kp->certificate), std::make_shared<crypto::SigningKey>(std::move(*key))};
}

ClientConfig client_config(const Vec& expected_leaf) {
  ClientConfig c;
  c.server_name = "localhost";
  c.verifier = [expected_leaf](std::span<const CertificateEntry> chain, std::string_view host) {
    if (chain.size() != 1 || host != "localhost" ||
        !std::equal(expected_leaf.begin(), expected_leaf.end(), chain[0].cert_data.begin(),
                    chain[0].cert_data.end()))
      return Outcome::fail(Alert::bad_certificate, "unexpected certificate");
    return Outcome::success();
  };
  return c;
}

ServerConfig server_config(const Identity& id) {
  ServerConfig s;
  s.certificate_chain = {id.cert};
  s.key = id.key;
  s.alpn = {"h2"};
  return s;
}

// shuttle moves bytes both ways until neither side has output.
void shuttle(Client& c, Server& s) {
  for (int i = 0; i < 20; ++i) {
    bool moved = false;
    if (!c.output().empty()) {
      Vec b(c.output().begin(), c.output().end());
      c.drain(b.size());
      (void)s.receive(b);
      moved = true;
    }
    if (!s.output().empty()) {
      Vec b(s.output().begin(), s.output().end());
      s.drain(b.size());
      (void)c.receive(b);
      moved = true;
    }
    if (!moved) return;
  }
}

void exchange_data(Client& c, Server& s) {
  Vec up(100000), down(70000);
  random_bytes(up);
  random_bytes(down);
  REQUIRE(c.send(up).has_value());
  REQUIRE(s.send(down).has_value());
  REQUIRE(c.request_key_update().has_value());
  REQUIRE(s.request_key_update().has_value());
  REQUIRE(c.send(up).has_value());
  REQUIRE(s.send(down).has_value());
  shuttle(c, s);
  REQUIRE_FALSE(c.failed());
  REQUIRE_FALSE(s.failed());
  Vec want_up = up, want_down = down;
  want_up.insert(want_up.end(), up.begin(), up.end());
  want_down.insert(want_down.end(), down.begin(), down.end());
  CHECK(s.take_application_data() == want_up);
  CHECK(c.take_application_data() == want_down);
  REQUIRE(c.close().has_value());
  REQUIRE(s.close().has_value());
  shuttle(c, s);
  CHECK(c.peer_closed());
  CHECK(s.peer_closed());
}

}  // namespace

TEST_CASE("engine client and server: X25519MLKEM768 and X25519, every suite", "[tls13][server]") {
  const Identity id = ecdsa_identity();
  for (uint16_t suite : {kTlsAes128GcmSha256, kTlsAes256GcmSha384, kTlsChacha20Poly1305Sha256}) {
    for (KeySharePolicy policy : {KeySharePolicy::hybrid_and_x25519, KeySharePolicy::x25519_only}) {
      INFO("suite " << suite << " policy " << static_cast<int>(policy));
      ClientConfig cc = client_config(id.cert);
      cc.key_shares = policy;
      ServerConfig sc = server_config(id);
      sc.cipher_suites = {suite};
      Client c(cc);
      Server s(sc);
      REQUIRE(c.start().ok());
      shuttle(c, s);
      INFO(c.error().what() << " / " << s.error().what());
      REQUIRE(c.connected());
      REQUIRE(s.connected());
      CHECK(c.cipher_suite() == suite);
      CHECK(s.cipher_suite() == suite);
      const uint16_t group =
          policy == KeySharePolicy::hybrid_and_x25519 ? kGroupX25519Mlkem768 : kGroupX25519;
      CHECK(c.group() == group);
      CHECK(s.group() == group);
      CHECK(s.signature_scheme() == kSigEcdsaSecp256r1Sha256);
      CHECK(c.alpn() == "h2");
      CHECK(s.alpn() == "h2");
      CHECK(s.server_name() == "localhost");
      CHECK(Vec(s.client_hello().begin(), s.client_hello().end()) ==
            Vec(c.client_hello().begin(), c.client_hello().end()));
      CHECK_FALSE(c.hello_retry_request());
      exchange_data(c, s);
    }
  }
}

TEST_CASE("SigningKey loads an Ed25519 PKCS#8 key and signs verifiably", "[tls13][server]") {
  const Ed25519KeyPair kp = Ed25519KeyPair::generate();
  // PKCS#8 for an Ed25519 seed (RFC 8410): fixed prefix then the 32 bytes.
  Vec pkcs8 = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
               0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  pkcs8.insert(pkcs8.end(), kp.seed().begin(), kp.seed().end());
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < pkcs8.size(); i += 3) {
    const uint32_t n = uint32_t{pkcs8[i]} << 16 | uint32_t{pkcs8[i + 1]} << 8 | pkcs8[i + 2];
    for (int k = 3; k >= 0; --k) b64 += abc[(n >> (6 * k)) & 63];
  }
  auto key = crypto::SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\n" + b64 +
                                          "\n-----END PRIVATE KEY-----\n");
  REQUIRE(key.has_value());
  CHECK(key->supports(kSigEd25519));
  CHECK_FALSE(key->supports(kSigEcdsaSecp256r1Sha256));
  Vec msg = {1, 2, 3};
  Vec sig;
  REQUIRE(key->sign(kSigEd25519, msg, sig).has_value());
  REQUIRE(sig.size() == 64);
  CHECK(ed25519_verify(kp.public_key(), msg, sig).has_value());
}

TEST_CASE("HelloRetryRequest: missing share and retry cookie", "[tls13][server]") {
  const Identity id = ecdsa_identity();
  SECTION("cookie HRR, the hybrid share renewed") {
    ServerConfig sc = server_config(id);
    sc.retry_cookie = {1, 2, 3, 4, 5};
    Client c(client_config(id.cert));
    Server s(sc);
    REQUIRE(c.start().ok());
    shuttle(c, s);
    INFO(c.error().what() << " / " << s.error().what());
    REQUIRE(c.connected());
    REQUIRE(s.connected());
    CHECK(c.hello_retry_request());
    CHECK(s.hello_retry_request());
    CHECK(c.group() == kGroupX25519Mlkem768);
    // The server kept the second ClientHello, which carries the cookie.
    CHECK(Vec(s.client_hello().begin(), s.client_hello().end()) !=
          Vec(c.client_hello().begin(), c.client_hello().end()));
    exchange_data(c, s);
  }
  SECTION("server wants P-256, which Chrome lists without a share") {
    ServerConfig sc = server_config(id);
    sc.groups = {kGroupSecp256r1};
    Client c(client_config(id.cert));
    Server s(sc);
    REQUIRE(c.start().ok());
    shuttle(c, s);
    INFO(c.error().what() << " / " << s.error().what());
    REQUIRE(c.connected());
    REQUIRE(s.connected());
    CHECK(c.hello_retry_request());
    CHECK(c.group() == kGroupSecp256r1);
    CHECK(s.group() == kGroupSecp256r1);
    exchange_data(c, s);
  }
  SECTION("server wants P-384, which Chrome lists without a share") {
    for (uint16_t suite : {kTlsAes128GcmSha256, kTlsAes256GcmSha384}) {
      ServerConfig sc = server_config(id);
      sc.groups = {kGroupSecp384r1, kGroupSecp256r1};
      sc.cipher_suites = {suite};
      Client c(client_config(id.cert));
      Server s(sc);
      REQUIRE(c.start().ok());
      shuttle(c, s);
      INFO(c.error().what() << " / " << s.error().what());
      REQUIRE(c.connected());
      REQUIRE(s.connected());
      CHECK(c.hello_retry_request());
      CHECK(c.group() == kGroupSecp384r1);
      CHECK(s.group() == kGroupSecp384r1);
      // The second hello carries exactly one share: a 97-byte P-384 point.
      auto h = next_handshake(s.client_hello());
      REQUIRE(h.done());
      ClientHello ch;
      REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
      std::array<KeyShareEntry, kMaxKeyShares> shares;
      size_t n = 0;
      REQUIRE(parse_client_key_shares(ch.extensions.find(ext::key_share)->data, shares, n).ok());
      REQUIRE(n == 1);
      CHECK(shares[0].group == kGroupSecp384r1);
      CHECK(shares[0].key_exchange.size() == 97);
      exchange_data(c, s);
    }
  }
  SECTION("server wants the hybrid but the client sent X25519 only: no common group") {
    ServerConfig sc = server_config(id);
    sc.groups = {kGroupX25519Mlkem768};
    ClientConfig cc = client_config(id.cert);
    cc.key_shares = KeySharePolicy::x25519_only;
    Client c(cc);
    Server s(sc);
    REQUIRE(c.start().ok());
    shuttle(c, s);
    CHECK(s.failed());
    CHECK(s.error().alert() == Alert::handshake_failure);
    CHECK(c.failed());
    CHECK(c.error().alert() == Alert::handshake_failure);
  }
}

TEST_CASE("engine server: hostile client input", "[tls13][server]") {
  const Identity id = ecdsa_identity();
  auto hello_of = [&](ClientConfig cc) {
    Client c(cc);
    REQUIRE(c.start().ok());
    return Vec(c.output().begin(), c.output().end());
  };
  SECTION("no TLS 1.3 in supported_versions: protocol_version") {
    Server s(server_config(id));
    ClientHelloFields f;
    f.cipher_suites = {kTlsAes128GcmSha256};
    Vec msg;
    REQUIRE(encode_client_hello(f, msg));
    Vec rec = {0x16, 0x03, 0x01, 0x00, static_cast<uint8_t>(msg.size())};
    rec.insert(rec.end(), msg.begin(), msg.end());
    CHECK(s.receive(rec).alert() == Alert::protocol_version);
    CHECK(Vec(s.output().begin(), s.output().end()) == Vec{0x15, 0x03, 0x03, 0x00, 0x02, 2, 70});
  }
  SECTION("no common suite: handshake_failure") {
    ServerConfig sc = server_config(id);
    sc.cipher_suites = {0x1304};
    Server s(sc);
    CHECK(s.receive(hello_of(client_config(id.cert))).alert() == Alert::handshake_failure);
  }
  SECTION("no common ALPN: no_application_protocol") {
    ServerConfig sc = server_config(id);
    sc.alpn = {"imap"};
    Server s(sc);
    CHECK(s.receive(hello_of(client_config(id.cert))).alert() == Alert::no_application_protocol);
  }
  SECTION("wrong client Finished: decrypt_error") {
    Client c(client_config(id.cert));
    Server s(server_config(id));
    REQUIRE(c.start().ok());
    Vec ch(c.output().begin(), c.output().end());
    c.drain(ch.size());
    REQUIRE(s.receive(ch).ok());
    Vec flight(s.output().begin(), s.output().end());
    s.drain(flight.size());
    REQUIRE(c.receive(flight).ok());
    REQUIRE(c.connected());
    Vec fin(c.output().begin(), c.output().end());
    fin[fin.size() - 20] ^= 1;  // inside the last record: the tag fails
    CHECK(s.receive(fin).alert() == Alert::bad_record_mac);
  }
  SECTION("application data before the handshake: unexpected_message") {
    Server s(server_config(id));
    CHECK(s.receive(Vec{0x17, 0x03, 0x03, 0x00, 0x01, 0x00}).alert() == Alert::unexpected_message);
  }
}

TEST_CASE("server on RFC 8448 §3's inputs: the ServerHello byte for byte via a template",
          "[tls13][server][rfc8448]") {
  const Identity id = ecdsa_identity();
  ServerConfig sc = server_config(id);
  sc.alpn.clear();
  sc.groups = {kGroupX25519};
  sc.hello_template.cipher_suite = kTlsAes128GcmSha256;
  sc.hello_template.extension_order = {ext::key_share, ext::supported_versions};
  auto calls = std::make_shared<int>(0);
  sc.random = [calls](std::span<uint8_t> out) {
    const Vec sh = test::hex(test::rfc8448::kServerHelloRecord);
    const Vec src = (*calls)++ == 0 ? test::hex(test::rfc8448::kServerPrivate)
                                    : Vec(sh.begin() + 11, sh.begin() + 43);
    REQUIRE(out.size() == src.size());
    std::copy(src.begin(), src.end(), out.begin());
  };
  Server s(sc);
  Vec ch = test::hex("16 03 01 00 c4");
  const Vec body = test::hex(test::rfc8448::kClientHello);
  ch.insert(ch.end(), body.begin(), body.end());
  REQUIRE(s.receive(ch).ok());
  CHECK(s.server_name() == "server");
  const Vec want = test::hex(test::rfc8448::kServerHelloRecord);
  REQUIRE(s.output().size() > want.size());
  CHECK(test::to_hex(s.output().first(want.size())) == test::to_hex(want));
  CHECK(s.client_hello().size() == 196);
}

TEST_CASE("server on RFC 8448 §5's inputs: HelloRetryRequest and ServerHello byte for byte",
          "[tls13][server][rfc8448]") {
  namespace hrr = test::rfc8448::hrr;
  const Identity id = ecdsa_identity();
  ServerConfig sc = server_config(id);
  sc.alpn.clear();
  sc.groups = {kGroupSecp256r1};  // the client's x25519 share is not taken: HRR
  // The trace's cookie, from its HelloRetryRequest: record 5, handshake 4,
  // version 2, random 32, session id 1, suite 2, compression 1, extensions
  // length 2, key_share 6, cookie type and length 4, cookie length 2.
  const Vec hrr_record = test::hex(hrr::kHelloRetryRequestRecord);
  constexpr size_t kCookieAt = 5 + 4 + 2 + 32 + 1 + 2 + 1 + 2 + 6 + 4;
  const size_t cookie_len = size_t{hrr_record[kCookieAt]} << 8 | hrr_record[kCookieAt + 1];
  REQUIRE(cookie_len == 0x72);
  sc.retry_cookie.assign(hrr_record.begin() + kCookieAt + 2,
                         hrr_record.begin() + kCookieAt + 2 + cookie_len);
  sc.hello_template.cipher_suite = kTlsAes128GcmSha256;
  sc.hello_template.extension_order = {ext::key_share, ext::supported_versions};
  sc.hello_template.retry_extension_order = {ext::key_share, ext::cookie, ext::supported_versions};
  auto calls = std::make_shared<int>(0);
  sc.random = [calls](std::span<uint8_t> out) {
    const Vec sh = test::hex(hrr::kHrrServerHelloRecord);
    const Vec src =
        (*calls)++ == 0
            ? test::hex("8c510601f9765bfb8ed693449a48989859b5cfa879cb9f5443c41c5ff10634ed")
            : Vec(sh.begin() + 11, sh.begin() + 43);
    REQUIRE(out.size() == src.size());
    std::copy(src.begin(), src.end(), out.begin());
  };
  Server s(sc);
  REQUIRE(s.receive(test::hex(hrr::kHrrClientHello1Record)).ok());
  CHECK(test::to_hex(s.output()) == test::to_hex(hrr_record));
  s.drain(s.output().size());

  Outcome o = s.receive(test::hex(hrr::kHrrClientHello2Record));
  INFO(o.what());
  REQUIRE(o.ok());
  CHECK(*calls == 2);
  const Vec want = test::hex(hrr::kHrrServerHelloRecord);
  REQUIRE(s.output().size() > want.size());
  CHECK(test::to_hex(s.output().first(want.size())) == test::to_hex(want));
  CHECK(s.group() == kGroupSecp256r1);
}

TEST_CASE("server pads the flight and the first application record to given lengths",
          "[tls13][server]") {
  const Identity id = ecdsa_identity();
  ServerConfig sc = server_config(id);
  sc.flight_record_length = 3000;
  sc.first_app_record_length = 1400;
  Client c(client_config(id.cert));
  Server s(sc);
  REQUIRE(c.start().ok());
  Vec ch(c.output().begin(), c.output().end());
  c.drain(ch.size());
  REQUIRE(s.receive(ch).ok());
  Vec out(s.output().begin(), s.output().end());
  s.drain(out.size());
  // ServerHello record, CCS (the Chrome client sends a session id), then
  // the padded flight as one record.
  size_t at = 0;
  std::vector<size_t> lengths;
  while (at + 5 <= out.size()) {
    const size_t len = 5 + (size_t{out[at + 3]} << 8 | out[at + 4]);
    lengths.push_back(len);
    at += len;
  }
  REQUIRE(lengths.size() == 3);
  CHECK(out[lengths[0]] == 0x14);
  CHECK(lengths[2] == 3000);
  REQUIRE(c.receive(out).ok());
  REQUIRE(c.connected());
  shuttle(c, s);
  REQUIRE(s.connected());
  const Vec hello = {'h', 'i'};
  REQUIRE(s.send(hello).has_value());
  CHECK(s.output().size() == 1400);
  REQUIRE(s.send(hello).has_value());
  CHECK(s.output().size() == 1400 + 5 + 2 + 1 + 16);  // only the first is padded
  shuttle(c, s);
  CHECK(c.take_application_data() == Vec{'h', 'i', 'h', 'i'});
}

namespace {

// A virtual wall clock shared by a test's clients and server.
struct Clock {
  std::shared_ptr<uint64_t> ms = std::make_shared<uint64_t>(1'800'000'000'000ull);
  std::function<uint64_t()> fn() const {
    return [ms = ms] { return *ms; };
  }
};

Vec ticket_key(uint8_t fill) { return Vec(32, fill); }

ServerConfig ticket_server(const Identity& id, const Clock& clock, uint8_t key_fill = 7) {
  ServerConfig sc = server_config(id);
  sc.ticket_key = ticket_key(key_fill);
  sc.now_ms = clock.fn();
  return sc;
}

// first_ticket runs a full handshake and returns the client's first ticket.
SessionTicket first_ticket(const Identity& id, const Clock& clock, ServerConfig sc,
                           ClientConfig cc) {
  cc.now_ms = clock.fn();
  Client c(cc);
  Server s(sc);
  REQUIRE(c.start().ok());
  shuttle(c, s);
  INFO(c.error().what() << " / " << s.error().what());
  REQUIRE(c.connected());
  REQUIRE(s.connected());
  CHECK_FALSE(c.resumed());
  CHECK_FALSE(s.resumed());
  REQUIRE(c.tickets().size() == sc.tickets_per_connection);
  const SessionTicket& t = c.tickets().front();
  CHECK(t.cipher_suite == c.cipher_suite());
  CHECK(t.lifetime == sc.ticket_lifetime);
  CHECK(t.received_at_ms == *clock.ms);
  CHECK(t.psk.len == find_cipher_suite(t.cipher_suite)->hash_len());
  return t;
}

struct Resumed {
  bool client_connected, server_connected, client_resumed, server_resumed;
  int verifier_calls;
  Alert client_alert, server_alert;
  Vec second_hello;
};

Resumed resume(const Identity& id, const Clock& clock, ServerConfig sc, ClientConfig cc,
               const SessionTicket& t, const std::function<void(Vec&)>& tamper = {}) {
  auto calls = std::make_shared<int>(0);
  auto verify = cc.verifier;
  cc.verifier = [calls, verify](std::span<const CertificateEntry> chain, std::string_view host) {
    ++*calls;
    return verify(chain, host);
  };
  cc.ticket = t;
  cc.now_ms = clock.fn();
  Client c(cc);
  Server s(sc);
  REQUIRE(c.start().ok());
  if (tamper) {
    Vec hello(c.output().begin(), c.output().end());
    c.drain(hello.size());
    tamper(hello);
    (void)s.receive(hello);
  }
  shuttle(c, s);
  Resumed r{c.connected(),
            s.connected(),
            c.resumed(),
            s.resumed(),
            *calls,
            c.failed() ? c.error().alert() : Alert::close_notify,
            s.failed() ? s.error().alert() : Alert::close_notify,
            Vec(s.client_hello().begin(), s.client_hello().end())};
  if (c.connected() && s.connected()) exchange_data(c, s);
  return r;
}

}  // namespace

TEST_CASE("resumption: engine client and server, every suite", "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  for (uint16_t suite : {kTlsAes128GcmSha256, kTlsAes256GcmSha384, kTlsChacha20Poly1305Sha256}) {
    INFO("suite " << suite);
    ServerConfig sc = ticket_server(id, clock);
    sc.cipher_suites = {suite};
    sc.tickets_per_connection = 2;
    const SessionTicket t = first_ticket(id, clock, sc, client_config(id.cert));
    *clock.ms += 5000;
    const Resumed r = resume(id, clock, sc, client_config(id.cert), t);
    CHECK(r.client_connected);
    CHECK(r.server_connected);
    CHECK(r.client_resumed);
    CHECK(r.server_resumed);
    CHECK(r.verifier_calls == 0);  // no certificate on a resumed connection
    // pre_shared_key is the hello's last extension; psk_dhe_ke offered.
    auto h = next_handshake(r.second_hello);
    REQUIRE(h.done());
    ClientHello ch;
    REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
    CHECK(ch.extensions.all().back().type == ext::pre_shared_key);
    CHECK(test::to_hex(ch.extensions.find(ext::psk_key_exchange_modes)->data) == "0101");
  }
}

TEST_CASE("resumption after a HelloRetryRequest: the second hello's binder",
          "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  ServerConfig sc = ticket_server(id, clock);
  const SessionTicket t = first_ticket(id, clock, sc, client_config(id.cert));
  sc.groups = {kGroupSecp256r1};  // forces an HRR on the resumed connection
  const Resumed r = resume(id, clock, sc, client_config(id.cert), t);
  CHECK(r.client_resumed);
  CHECK(r.server_resumed);
  CHECK(r.verifier_calls == 0);
}

TEST_CASE("resumption declined: full handshake, no failure", "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  const ServerConfig sc = ticket_server(id, clock);
  const SessionTicket t = first_ticket(id, clock, sc, client_config(id.cert));
  auto full = [&](const Resumed& r) {
    CHECK(r.client_connected);
    CHECK(r.server_connected);
    CHECK_FALSE(r.client_resumed);
    CHECK_FALSE(r.server_resumed);
    CHECK(r.verifier_calls == 1);
  };
  SECTION("another ticket key (rotated)") {
    full(resume(id, clock, ticket_server(id, clock, 8), client_config(id.cert), t));
  }
  SECTION("server without tickets") {
    full(resume(id, clock, server_config(id), client_config(id.cert), t));
  }
  SECTION("ticket past its lifetime: the client does not offer it") {
    *clock.ms += uint64_t{sc.ticket_lifetime} * 1000 + 1;
    const Resumed r = resume(id, clock, sc, client_config(id.cert), t);
    full(r);
    auto h = next_handshake(r.second_hello);
    REQUIRE(h.done());
    ClientHello ch;
    REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
    CHECK(ch.extensions.find(ext::pre_shared_key) == nullptr);
  }
  SECTION("client age off by more than the window") {
    SessionTicket skewed = t;
    skewed.received_at_ms += 60000;  // the client thinks it is a minute younger
    *clock.ms += 70000;
    full(resume(id, clock, sc, client_config(id.cert), skewed));
  }
  SECTION("ticket bytes altered: does not open") {
    SessionTicket bad = t;
    bad.ticket[20] ^= 1;
    full(resume(id, clock, sc, client_config(id.cert), bad));
  }
  SECTION("HelloRetryRequest with a SHA-384 suite: the second hello drops the SHA-256 ticket") {
    ServerConfig retry384 = sc;
    retry384.cipher_suites = {kTlsAes256GcmSha384};
    retry384.groups = {kGroupSecp256r1};
    REQUIRE(t.cipher_suite != kTlsAes256GcmSha384);
    const Resumed r = resume(id, clock, retry384, client_config(id.cert), t);
    full(r);
    auto h = next_handshake(r.second_hello);
    REQUIRE(h.done());
    ClientHello ch;
    REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
    CHECK(ch.extensions.find(ext::pre_shared_key) == nullptr);
  }
  SECTION("ticket of a SHA-256 suite, server only SHA-384") {
    ServerConfig only384 = sc;
    only384.cipher_suites = {kTlsAes256GcmSha384};
    REQUIRE(t.cipher_suite != kTlsAes256GcmSha384);
    full(resume(id, clock, only384, client_config(id.cert), t));
  }
}

TEST_CASE("resumption: a misconfigured ticket key is a clear error", "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  ServerConfig short_key = ticket_server(id, clock);
  short_key.ticket_key.resize(16);
  ServerConfig no_clock = ticket_server(id, clock);
  no_clock.now_ms = nullptr;
  for (const auto& [sc, why] :
       {std::pair{short_key, "server ticket_key is not 32 bytes"},
        std::pair{no_clock, "server ticket_key set without a now_ms clock"}}) {
    Client c(client_config(id.cert));
    Server s(sc);
    REQUIRE(c.start().ok());
    shuttle(c, s);
    CHECK(s.failed());
    CHECK(s.error().alert() == Alert::internal_error);
    CHECK(std::string(s.error().what()) == why);
  }
}

TEST_CASE("resumption: a wrong binder is decrypt_error", "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  const ServerConfig sc = ticket_server(id, clock);
  const SessionTicket t = first_ticket(id, clock, sc, client_config(id.cert));
  // The binder is the last bytes of the hello (pre_shared_key comes last).
  const Resumed r =
      resume(id, clock, sc, client_config(id.cert), t, [](Vec& hello) { hello.back() ^= 0x80; });
  CHECK_FALSE(r.server_connected);
  CHECK(r.server_alert == Alert::decrypt_error);
  CHECK(r.client_alert == Alert::decrypt_error);  // the server's alert, received
}

TEST_CASE("resumption: pre_shared_key codec", "[tls13][codec][psk]") {
  OfferedPsks p;
  // identities: one of 3 bytes + age; binders: one of 32 bytes.
  Vec good = test::hex("0009 0003 616263 01020304 0021 20");
  good.insert(good.end(), 32, 0x55);
  REQUIRE(parse_offered_psks(good, p).ok());
  CHECK(p.count == 1);
  CHECK(p.identities[0].obfuscated_ticket_age == 0x01020304);
  CHECK(p.binders[0].size() == 32);
  CHECK(p.binders_len == 2 + 33);
  for (size_t cut = 0; cut < good.size(); ++cut)
    CHECK(parse_offered_psks(Bytes(good.data(), cut), p).alert() == Alert::decode_error);
  Vec trailing = good;
  trailing.push_back(0);
  CHECK(parse_offered_psks(trailing, p).alert() == Alert::decode_error);
  Vec short_binder = test::hex("0009 0003 616263 01020304 0011 10");
  short_binder.insert(short_binder.end(), 16, 0x55);
  CHECK(parse_offered_psks(short_binder, p).alert() == Alert::decode_error);
  Vec empty_id = test::hex("0006 0000 01020304 0021 20");
  empty_id.insert(empty_id.end(), 32, 0x55);
  CHECK(parse_offered_psks(empty_id, p).alert() == Alert::decode_error);
  Vec two_binders = test::hex("0009 0003 616263 01020304 0042 20");
  two_binders.insert(two_binders.end(), 32, 0x55);
  two_binders.push_back(0x20);
  two_binders.insert(two_binders.end(), 32, 0x66);
  CHECK(parse_offered_psks(two_binders, p).alert() == Alert::illegal_parameter);

  Vec nst;
  REQUIRE(encode_new_session_ticket(7200, 0xa1b2c3d4, Vec{9}, Vec{1, 2, 3}, nst));
  // type 4, length 17: lifetime, age_add, nonce<1>, ticket<3>, no extensions.
  CHECK(test::to_hex(nst) ==
        "04000011"
        "00001c20"
        "a1b2c3d4"
        "0109"
        "0003010203"
        "0000");
  auto h = next_handshake(nst);
  REQUIRE(h.done());
  NewSessionTicket parsed;
  REQUIRE(parse_new_session_ticket(h.msg.body, parsed).ok());
  CHECK(parsed.lifetime == 7200);
  CHECK(parsed.age_add == 0xa1b2c3d4);
  CHECK_FALSE(encode_new_session_ticket(1, 2, Vec{}, Vec{}, nst));
}

namespace {

namespace rfc = test::rfc8448;

// A server on RFC 8448 §3's inputs (fixed key and random, the trace's
// ClientHello): its ServerHello, so its handshake keys, are the trace's.
ServerConfig rfc_server(const Identity& id) {
  ServerConfig sc = server_config(id);
  sc.alpn.clear();
  sc.groups = {kGroupX25519};
  sc.hello_template.cipher_suite = kTlsAes128GcmSha256;
  sc.hello_template.extension_order = {ext::key_share, ext::supported_versions};
  auto calls = std::make_shared<int>(0);
  sc.random = [calls](std::span<uint8_t> out) {
    const Vec sh = test::hex(rfc::kServerHelloRecord);
    const Vec src =
        (*calls)++ == 0 ? test::hex(rfc::kServerPrivate) : Vec(sh.begin() + 11, sh.begin() + 43);
    std::copy(src.begin(), src.begin() + std::min(src.size(), out.size()), out.begin());
  };
  return sc;
}

Vec rfc_client_hello_record() {
  Vec ch = test::hex("16 03 01 00 c4");
  const Vec body = test::hex(rfc::kClientHello);
  ch.insert(ch.end(), body.begin(), body.end());
  return ch;
}

// client_record seals |plain| as one handshake record under the trace's
// client handshake key (sequence 0).
Vec client_record(const Vec& plain) {
  const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
  RecordProtection w;
  REQUIRE(w.init(suite, test::hex(rfc::kClientHsTraffic)).has_value());
  Vec out(kRecordHeaderLen + plain.size() + kSealOverhead);
  std::copy(plain.begin(), plain.end(), out.begin() + kRecordHeaderLen);
  auto n = w.seal_span(out, plain.size(), ContentType::handshake);
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

Vec with_length(Vec m, size_t len) {
  m[1] = static_cast<uint8_t>(len >> 16);
  m[2] = static_cast<uint8_t>(len >> 8);
  m[3] = static_cast<uint8_t>(len);
  return m;
}

}  // namespace

TEST_CASE("server: every client handshake message truncated, oversized, out of order, duplicated",
          "[tls13][server][hostile]") {
  const Identity id = ecdsa_identity();
  // started: a server that has answered the trace's ClientHello, and the
  // valid client Finished for its flight.
  struct Started {
    std::unique_ptr<Server> s;
    Vec finished;
    Vec client_ap;  // the client application traffic secret of this transcript
  };
  auto started = [&]() {
    Started st{std::make_unique<Server>(rfc_server(id)), {}};
    REQUIRE(st.s->receive(rfc_client_hello_record()).ok());
    Vec out(st.s->output().begin(), st.s->output().end());
    st.s->drain(out.size());
    // Transcript: ClientHello, ServerHello, then the decrypted flight.
    Digest t(DigestAlgorithm::sha256);
    t.update(test::hex(rfc::kClientHello));
    const size_t sh_len = test::hex(rfc::kServerHelloRecord).size();
    t.update(std::span(out).subspan(kRecordHeaderLen, sh_len - kRecordHeaderLen));
    const size_t flight_at = sh_len;  // no CCS: the trace's session id is empty
    RecordProtection r;
    REQUIRE(r.init(*find_cipher_suite(kTlsAes128GcmSha256), test::hex(rfc::kServerHsTraffic))
                .has_value());
    Vec flight(out.begin() + flight_at, out.end());
    ContentType type{};
    std::span<uint8_t> content;
    REQUIRE(r.open_span(flight, type, content).ok());
    t.update(content);
    std::array<uint8_t, 32> h{};
    REQUIRE(t.finish(h).has_value());
    Secret verify;
    REQUIRE(finished_verify_data(*find_cipher_suite(kTlsAes128GcmSha256),
                                 test::hex(rfc::kClientHsTraffic), h, verify)
                .has_value());
    REQUIRE(encode_finished(verify.span(), st.finished));
    KeySchedule ks(*find_cipher_suite(kTlsAes128GcmSha256));
    REQUIRE(ks.early({}).has_value());
    REQUIRE(ks.handshake(test::hex(rfc::kEcdhe), test::hex(rfc::kHelloHash)).has_value());
    REQUIRE(ks.master(h).has_value());
    st.client_ap.assign(ks.client_application_traffic().span().begin(),
                        ks.client_application_traffic().span().end());
    return st;
  };
  auto alert_for = [&](const Vec& records) {
    auto st = started();
    Outcome o = st.s->receive(records);
    CHECK(st.s->failed());
    CHECK_FALSE(st.s->output().empty());  // the alert
    return o.alert();
  };

  SECTION("the valid Finished connects") {
    auto st = started();
    REQUIRE(st.s->receive(client_record(st.finished)).ok());
    CHECK(st.s->connected());
  }
  SECTION("Finished truncated, oversized, wrong") {
    auto fin = started().finished;
    Vec cut = with_length(fin, 31);
    cut.pop_back();
    CHECK(alert_for(client_record(cut)) == Alert::decode_error);
    Vec longer = with_length(fin, 33);
    longer.push_back(0);
    CHECK(alert_for(client_record(longer)) == Alert::decode_error);
    CHECK(alert_for(client_record(with_length(Vec(fin.begin(), fin.begin() + 4), 65537))) ==
          Alert::decode_error);
    Vec wrong = fin;
    wrong.back() ^= 1;
    CHECK(alert_for(client_record(wrong)) == Alert::decrypt_error);
  }
  SECTION("Finished twice in one record: unexpected_message") {
    auto st = started();
    Vec two = st.finished;
    two.insert(two.end(), st.finished.begin(), st.finished.end());
    CHECK(st.s->receive(client_record(two)).alert() == Alert::unexpected_message);
  }
  SECTION("Finished again after the handshake: unexpected_message") {
    auto st = started();
    REQUIRE(st.s->receive(client_record(st.finished)).ok());
    // Under the client application key now: the stray message is refused.
    const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
    RecordProtection w;
    REQUIRE(w.init(suite, st.client_ap).has_value());
    Vec out(kRecordHeaderLen + st.finished.size() + kSealOverhead);
    std::copy(st.finished.begin(), st.finished.end(), out.begin() + kRecordHeaderLen);
    auto n = w.seal_span(out, st.finished.size(), ContentType::handshake);
    REQUIRE(n.has_value());
    out.resize(*n);
    CHECK(st.s->receive(out).alert() == Alert::unexpected_message);
  }
  SECTION("out of order before Finished: unexpected_message") {
    // A Certificate nobody asked for, an EncryptedExtensions, a KeyUpdate, a
    // NewSessionTicket, a second ClientHello (encrypted).
    for (const char* m : {"0b 00 00 04 00 00 00 00", "08 00 00 02 00 00", "18 00 00 01 00",
                          "04 00 00 0e 00 00 00 01 00 00 00 01 00 00 01 01 00 00", "01 00 00 00"}) {
      INFO(m);
      CHECK(alert_for(client_record(test::hex(m))) == Alert::unexpected_message);
    }
  }
  SECTION("a second ClientHello in plaintext after the first: unexpected_message") {
    CHECK(alert_for(rfc_client_hello_record()) == Alert::unexpected_message);
  }
  SECTION("ClientHello twice in one record: unexpected_message") {
    Server s(rfc_server(id));
    const Vec body = test::hex(rfc::kClientHello);
    Vec two = {0x16, 0x03, 0x01, static_cast<uint8_t>((2 * body.size()) >> 8),
               static_cast<uint8_t>(2 * body.size())};
    two.insert(two.end(), body.begin(), body.end());
    two.insert(two.end(), body.begin(), body.end());
    CHECK(s.receive(two).alert() == Alert::unexpected_message);
  }
  SECTION("ClientHello truncated or oversized: decode_error") {
    const Vec body = test::hex(rfc::kClientHello);
    Vec cut = with_length(body, body.size() - 5);
    cut.pop_back();
    Vec rec = {0x16, 0x03, 0x01, static_cast<uint8_t>(cut.size() >> 8),
               static_cast<uint8_t>(cut.size())};
    rec.insert(rec.end(), cut.begin(), cut.end());
    Server s(rfc_server(id));
    CHECK(s.receive(rec).alert() == Alert::decode_error);
    Server s2(rfc_server(id));
    CHECK(s2.receive(test::hex("16 03 01 00 04 01 01 00 01")).alert() == Alert::decode_error);
  }
  SECTION("a record over 2^14 + 256 or a plaintext one over 2^14: record_overflow") {
    Server s(rfc_server(id));
    CHECK(s.receive(test::hex("16 03 01 40 01")).alert() == Alert::record_overflow);
    auto st = started();
    CHECK(st.s->receive(test::hex("17 03 03 41 01")).alert() == Alert::record_overflow);
  }
}

TEST_CASE("resumption with a pre-send hook: the binder covers the rewritten session id",
          "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  const ServerConfig sc = ticket_server(id, clock);
  const SessionTicket t = first_ticket(id, clock, sc, client_config(id.cert));
  ClientConfig cc = client_config(id.cert);
  cc.pre_send = [](const ClientHelloHookView& v) {
    for (auto& b : v.session_id) b = 0xee;
  };
  const Resumed r = resume(id, clock, sc, cc, t);
  CHECK(r.client_resumed);
  CHECK(r.server_resumed);
  auto h = next_handshake(r.second_hello);
  REQUIRE(h.done());
  ClientHello ch;
  REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
  CHECK(test::to_hex(ch.legacy_session_id) == std::string(64, 'e'));
}

TEST_CASE("resumption with a profile that lists no psk_key_exchange_modes: psk_dhe_ke added",
          "[tls13][server][psk]") {
  const Identity id = ecdsa_identity();
  const Clock clock;
  const ServerConfig sc = ticket_server(id, clock);
  std::vector<ProfileExtension> exts;
  for (const auto& e : chrome_profile().extensions)
    if (e.type != ext::psk_key_exchange_modes) exts.push_back(e);
  ClientProfile bare = chrome_profile();
  bare.extensions = exts;
  ClientConfig cc = client_config(id.cert);
  cc.profile = &bare;
  const SessionTicket t = first_ticket(id, clock, sc, cc);
  const Resumed r = resume(id, clock, sc, cc, t);
  CHECK(r.client_resumed);
  CHECK(r.server_resumed);
  auto h = next_handshake(r.second_hello);
  REQUIRE(h.done());
  ClientHello ch;
  REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
  const auto all = ch.extensions.all();
  REQUIRE(all.size() >= 2);
  CHECK(all[all.size() - 2].type == ext::psk_key_exchange_modes);
  CHECK(test::to_hex(all[all.size() - 2].data) == "0101");
  CHECK(all.back().type == ext::pre_shared_key);
}

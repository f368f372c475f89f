// Tests for the sans-I/O REALITY core (lib/proto/reality): the published
// test vector in both directions, the temporary certificate, the server's
// ClientHello reader and decision (every refusal reason, replay), the
// target ServerHello reader, and full handshakes of the engine's client and
// server wired through the REALITY hook and verifier, without sockets.
#include <catch2/catch.hpp>

#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/base64.hpp"
#include "proto/reality/auth.hpp"
#include "proto/reality/certificate.hpp"
#include "proto/reality/client_auth.hpp"
#include "proto/reality/rate_limit.hpp"
#include "proto/reality/server_auth.hpp"
#include "proto/reality/spider.hpp"
#include "proto/reality/target_hello.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/cipher.hpp"
#include "support/hex.hpp"

using namespace sluice;
using namespace sluice::reality;
using sluice::test::Bytes;
using sluice::test::hex;
using sluice::test::to_hex;

namespace {

// The REALITY test vector (docs/protocols/reality.md, "Test vector").
const Bytes kServerPrivate =
    hex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
constexpr const char* kServerPrivateB64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
constexpr const char* kServerPublicB64 = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw";
const Bytes kServerPublic = hex("07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
const Bytes kClientPrivate =
    hex("4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60");
const Bytes kHelloZeroSid =
    hex("010000b20303a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf20000000"
        "000000000000000000000000000000000000000000000000000000000000061301130213030100006300"
        "000014001200000f7777772e6578616d706c652e636f6d000a00040002001d000d000800060403080408"
        "07002b0003020304002d00020101003300260024001d002064b101b1d0be5a8704bd078f9895001fc03e"
        "8e9f9522f188dd128d9846d48466");
const Bytes kShared = hex("26c2c17fdb82161cb21ad16e721315355b64d1763119b10bfc962530dc7cc163");
const Bytes kAuthKey = hex("b25493e2bbada1d435676655c1a6d420361c45176733e994caa8a0d0ac631988");
const Bytes kPlaintext = hex("1a071c00680000000123456789abcdef");
const Bytes kSid = hex("f29c08cd6b3215acb2cd966f6f0b694209f3955d961f6877796e4ab20525fc9c");
const Bytes kEdSeed = hex("1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30");
const Bytes kEdPublic = hex("ed54a59fb1ac3a51239351362941b868e85a60e3d7b2485d828821dc7a69c279");
const Bytes kCertSignature =
    hex("97f16899ea64cdc0a2d5d290c7e36ec7f8e6e2e9a1de48f507f17e71572f18b1"
        "64e95d1952fac898fca4e7e5c6db8f9d87795242d734be5750724419cb412af6");
constexpr uint32_t kVectorTime = 0x68000000;

Key key_of(const Bytes& b) {
  Key k{};
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

AuthKey auth_of(const Bytes& b) {
  AuthKey k{};
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

// record wraps a handshake message in one TLS record.
Bytes record(const Bytes& msg, uint8_t type = 0x16, uint16_t version = 0x0301) {
  Bytes r = {type, static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version),
             static_cast<uint8_t>(msg.size() >> 8), static_cast<uint8_t>(msg.size())};
  r.insert(r.end(), msg.begin(), msg.end());
  return r;
}

Bytes sealed_vector_hello() {
  Bytes ch = kHelloZeroSid;
  std::copy(kSid.begin(), kSid.end(), ch.begin() + kSessionIdOffset);
  return ch;
}

ServerOptions vector_server() {
  ServerOptions o;
  o.private_key = key_of(kServerPrivate);
  o.server_names = {"www.example.com"};
  o.short_ids = {*parse_short_id("0123456789abcdef")};
  o.max_time_difference_ms = 60'000;
  return o;
}

// Reads a whole hello out of |wire| (which must hold one).
struct ParsedHello {
  ClientHelloReader reader;
  explicit ParsedHello(const Bytes& wire) {
    REQUIRE(reader.read(wire) == ClientHelloReader::State::done);
  }
  const tls13::ClientHello& hello() const { return reader.hello(); }
};

}  // namespace

TEST_CASE("REALITY vector: keys, auth key and sealed session id", "[reality][vector]") {
  auto priv = parse_key(kServerPrivateB64);
  REQUIRE(priv.has_value());
  CHECK(to_hex(*priv) == to_hex(kServerPrivate));
  const Key pub = public_key_of(*priv);
  CHECK(to_hex(pub) == to_hex(kServerPublic));
  CHECK(encode_key(pub) == kServerPublicB64);
  CHECK(to_hex(*parse_key(kServerPublicB64)) == to_hex(kServerPublic));

  const Bytes random(kHelloZeroSid.begin() + 6, kHelloZeroSid.begin() + 38);
  std::array<uint8_t, 32> shared{};
  REQUIRE(x25519(kClientPrivate, kServerPublic, shared));
  CHECK(to_hex(shared) == to_hex(kShared));
  AuthKey ak{};
  REQUIRE(client_auth_key(std::span<const uint8_t, 32>(kClientPrivate.data(), 32),
                          std::span<const uint8_t, 32>(kServerPublic.data(), 32), random, ak));
  CHECK(to_hex(ak) == to_hex(kAuthKey));

  SessionPlaintext p;
  p.version = {26, 7, 28};
  p.unix_seconds = kVectorTime;
  p.short_id = *parse_short_id("0123456789abcdef");
  std::array<uint8_t, kPlaintextLen> pt{};
  encode_plaintext(p, pt);
  CHECK(to_hex(pt) == to_hex(kPlaintext));
  std::array<uint8_t, kSessionIdLen> sid{};
  REQUIRE(seal_session_id(ak, kHelloZeroSid, pt, sid));
  CHECK(to_hex(sid) == to_hex(kSid));

  // The engine's hook path gives the same token.
  ClientOptions co;
  co.server_public_key = key_of(kServerPublic);
  co.short_id = p.short_id;
  co.version = p.version;
  ClientAuth auth(co, kVectorTime);
  Bytes ch = kHelloZeroSid;
  tls13::ClientHelloHookView view{ch, std::span(ch).subspan(kSessionIdOffset, 32),
                                  std::span(ch).subspan(6, 32),
                                  std::span<const uint8_t, 32>(kClientPrivate.data(), 32)};
  auth.seal(view);
  CHECK(auth.sealed());
  CHECK(to_hex(ch) == to_hex(sealed_vector_hello()));
}

TEST_CASE("REALITY vector: the server opens and authenticates it", "[reality][vector]") {
  ParsedHello h(record(sealed_vector_hello()));
  std::array<uint8_t, kPlaintextLen> pt{};
  REQUIRE(open_session_id(auth_of(kAuthKey), h.hello().raw, pt));
  CHECK(to_hex(pt) == to_hex(kPlaintext));

  ServerAuth server(vector_server());
  const Decision d = server.inspect(h.hello(), uint64_t{kVectorTime} * 1000 + 30'000);
  INFO(d.reason);
  REQUIRE(d.authenticated);
  CHECK(to_hex(d.auth_key) == to_hex(kAuthKey));
  CHECK(d.plaintext.version == Version{26, 7, 28});
  CHECK(d.plaintext.unix_seconds == kVectorTime);
  CHECK(server.replay_entries() == 1);
}

TEST_CASE("REALITY vector: the temporary certificate's HMAC signature", "[reality][vector]") {
  auto cert = TemporaryCertificate::create(kEdSeed);
  REQUIRE(cert.has_value());
  CHECK(to_hex(cert->public_key()) == to_hex(kEdPublic));
  const auto der = cert->signed_for(auth_of(kAuthKey));
  CHECK(to_hex(std::span(der).last(64)) == to_hex(kCertSignature));
  auto f = parse_certificate_fields(der);
  REQUIRE(f.has_value());
  CHECK(f->ed25519);
  CHECK(to_hex(f->public_key) == to_hex(kEdPublic));
  CHECK(to_hex(f->signature) == to_hex(kCertSignature));
  CHECK(is_reality_certificate(der, auth_of(kAuthKey)));
  AuthKey other = auth_of(kAuthKey);
  other[0] ^= 1;
  CHECK_FALSE(is_reality_certificate(der, other));
  CHECK_FALSE(is_reality_certificate(cert->der(), auth_of(kAuthKey)));
  // The key signs what the engine asks for CertificateVerify.
  CHECK(cert->key()->supports(tls13::kSigEd25519));
}

TEST_CASE("REALITY config values: short ids, versions, keys", "[reality][malformed]") {
  CHECK(to_hex(*parse_short_id("aa")) == "aa00000000000000");
  CHECK(to_hex(*parse_short_id("")) == "0000000000000000");
  CHECK(to_hex(*parse_short_id("0123456789ABCDEF")) == "0123456789abcdef");
  CHECK(parse_short_id("abc").error() == Errc::config_invalid);
  CHECK(parse_short_id("0123456789abcdef00").error() == Errc::config_invalid);
  CHECK(parse_short_id("zz").error() == Errc::config_invalid);

  CHECK(*parse_version("26.3.27") == Version{26, 3, 27});
  CHECK(*parse_version("0.0.0") == Version{0, 0, 0});
  for (const char* bad :
       {"", "1", "1.2", "1.2.3.4", "1..3", "256.0.0", "a.b.c", "1.2.", "1.2.3 ", "0001.2.3"})
    CHECK_FALSE(parse_version(bad).has_value());

  CHECK(parse_key("").error() == Errc::config_invalid);
  CHECK(parse_key("AQID").error() == Errc::config_invalid);
  CHECK(parse_key("B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHH!").error() == Errc::config_invalid);
  // Padded or standard-alphabet spellings of the same key are accepted.
  CHECK(parse_key("B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw=").has_value());
}

TEST_CASE("REALITY ClientHelloReader: records, splits and garbage", "[reality][malformed]") {
  const Bytes wire = record(sealed_vector_hello());
  SECTION("byte by byte") {
    ClientHelloReader r;
    for (size_t n = 0; n < wire.size(); ++n)
      REQUIRE(r.read(std::span(wire).first(n)) == ClientHelloReader::State::need_more);
    REQUIRE(r.read(wire) == ClientHelloReader::State::done);
    CHECK(r.consumed() == wire.size());
    CHECK(r.hello().legacy_session_id.size() == 32);
  }
  SECTION("split over two records, with bytes after it") {
    const Bytes ch = sealed_vector_hello();
    Bytes two = record(Bytes(ch.begin(), ch.begin() + 50));
    const Bytes rest = record(Bytes(ch.begin() + 50, ch.end()));
    two.insert(two.end(), rest.begin(), rest.end());
    const size_t hello_len = two.size();
    two.push_back(0x17);
    ClientHelloReader r;
    REQUIRE(r.read(two) == ClientHelloReader::State::done);
    CHECK(r.consumed() == hello_len);
  }
  SECTION("not TLS") {
    const auto reason = [](const Bytes& in) {
      ClientHelloReader r;
      REQUIRE(r.read(in) == ClientHelloReader::State::not_tls);
      return std::string(r.reason());
    };
    CHECK(reason(Bytes{'G', 'E', 'T', ' ', '/', ' '}) ==
          "first record is not a TLS handshake record");
    CHECK(reason(Bytes{0x16, 0x01, 0x00, 0x00, 0x10}) == "record version is not TLS");
    CHECK(reason(Bytes{0x16, 0x03, 0x01, 0x00, 0x00}) == "handshake record length invalid");
    CHECK(reason(Bytes{0x16, 0x03, 0x01, 0x40, 0x01}) == "handshake record length invalid");
    CHECK(reason(record(Bytes{0x02, 0x00, 0x00, 0x00})) ==
          "first handshake message is not a ClientHello");
    CHECK(reason(record(Bytes{0x01, 0x01, 0x00, 0x00})) == "ClientHello too large");
    Bytes trailing = sealed_vector_hello();
    trailing.push_back(0);
    CHECK(reason(record(trailing)) == "ClientHello record carries more than the ClientHello");
    Bytes broken = sealed_vector_hello();
    broken[38] = 33;  // session id length over 32
    CHECK(reason(record(broken)) == "ClientHello does not parse");
  }
}

TEST_CASE("REALITY server refusals each name their reason", "[reality][server]") {
  const uint64_t now = uint64_t{kVectorTime} * 1000;
  const auto decide = [&](ServerOptions o, const Bytes& ch, uint64_t at) {
    ParsedHello h(record(ch));
    ServerAuth s(std::move(o));
    return std::string(s.inspect(h.hello(), at).reason);
  };
  const Bytes good = sealed_vector_hello();
  CHECK(decide(vector_server(), good, now).empty());

  ServerOptions wrong_key = vector_server();
  wrong_key.private_key[5] ^= 1;
  CHECK(decide(wrong_key, good, now) ==
        "authentication failed: session id does not open with this key");
  CHECK(decide(vector_server(), good, now + 61'000) == "client time outside max_time_difference");
  CHECK(decide(vector_server(), good, now - 61'000) == "client time outside max_time_difference");
  ServerOptions no_time = vector_server();
  no_time.max_time_difference_ms = 0;
  CHECK(decide(no_time, good, now + 86'400'000).empty());
  ServerOptions other_id = vector_server();
  other_id.short_ids = {*parse_short_id("aa")};
  CHECK(decide(other_id, good, now) == "unknown short id");
  ServerOptions default_id = vector_server();
  default_id.short_ids.clear();  // the all-zero short id only
  CHECK(decide(default_id, good, now) == "unknown short id");
  ServerOptions other_name = vector_server();
  other_name.server_names = {"example.com"};
  CHECK(decide(other_name, good, now) == "server name mismatch");
  ServerOptions min = vector_server();
  min.min_version = Version{26, 7, 29};
  CHECK(decide(min, good, now) == "client version below min_client_version");
  min.min_version = Version{26, 7, 28};
  CHECK(decide(min, good, now).empty());
  ServerOptions max = vector_server();
  max.max_version = Version{26, 7, 27};
  CHECK(decide(max, good, now) == "client version above max_client_version");

  Bytes tampered = good;
  tampered[tampered.size() - 1] ^= 1;  // a key share byte: the AAD no longer matches
  CHECK(decide(vector_server(), tampered, now) ==
        "authentication failed: session id does not open with this key");
  Bytes no13 = good;
  // supported_versions [0304] -> [0303]
  const Bytes sv = hex("002b0003020304");
  auto it = std::search(no13.begin(), no13.end(), sv.begin(), sv.end());
  REQUIRE(it != no13.end());
  it[6] = 0x03;
  CHECK(decide(vector_server(), no13, now) == "unsupported TLS version");

  SECTION("replay") {
    ServerAuth s(vector_server());
    ParsedHello h(record(good));
    CHECK(s.inspect(h.hello(), now).authenticated);
    const Decision again = s.inspect(h.hello(), now + 1000);
    CHECK_FALSE(again.authenticated);
    CHECK(std::string(again.reason) == "replayed ClientHello");
    CHECK(to_hex(again.auth_key) == to_hex(AuthKey{}));
  }
  SECTION("replay cache is bounded") {
    ServerOptions o = vector_server();
    o.replay_capacity = 1;
    ServerAuth s(std::move(o));
    ParsedHello h(record(good));
    CHECK(s.inspect(h.hello(), now).authenticated);
    CHECK(s.replay_entries() == 1);
    CHECK_FALSE(s.inspect(h.hello(), now).authenticated);
    CHECK(s.replay_entries() == 1);
  }
}

namespace {

// target_flight is a target's answer: ServerHello (suite, group), CCS and
// encrypted records of the given payload lengths.
Bytes target_flight(uint16_t suite, uint16_t group, std::vector<size_t> records, bool ccs = true,
                    uint16_t version = tls13::kTls13) {
  tls13::ServerHelloFields f;
  f.random.fill(7);
  f.legacy_session_id_echo.assign(32, 1);
  f.cipher_suite = suite;
  f.extensions.emplace_back(
      tls13::ext::supported_versions,
      Bytes{static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version)});
  const size_t klen = group == tls13::kGroupX25519Mlkem768 ? 1120 : 32;
  Bytes ks = {static_cast<uint8_t>(group >> 8), static_cast<uint8_t>(group),
              static_cast<uint8_t>(klen >> 8), static_cast<uint8_t>(klen)};
  ks.resize(4 + klen, 9);
  f.extensions.emplace_back(tls13::ext::key_share, ks);
  Bytes sh;
  REQUIRE(tls13::encode_server_hello(f, sh));
  Bytes out = record(sh, 0x16, 0x0303);
  if (ccs) out.insert(out.end(), {0x14, 0x03, 0x03, 0x00, 0x01, 0x01});
  for (size_t n : records) {
    const Bytes r = record(Bytes(n, 0x55), 0x17, 0x0303);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

}  // namespace

TEST_CASE("REALITY target ServerHello reader", "[reality][target]") {
  using State = TargetHelloReader::State;
  SECTION("one big record: done at once") {
    TargetHelloReader r;
    const Bytes t = target_flight(0x1302, tls13::kGroupX25519Mlkem768, {2000, 300});
    CHECK(r.read(std::span(t).first(10)) == State::need_more);
    REQUIRE(r.read(t) == State::done);
    CHECK(r.hello().cipher_suite == 0x1302);
    CHECK(r.hello().group == tls13::kGroupX25519Mlkem768);
    CHECK(r.hello().extension_order ==
          std::vector<uint16_t>{tls13::ext::supported_versions, tls13::ext::key_share});
    CHECK(r.flight_record_length() == 2005);
  }
  SECTION("four small records") {
    TargetHelloReader r;
    const Bytes t = target_flight(0x1301, tls13::kGroupX25519, {40, 400, 100, 60});
    CHECK(r.read(std::span(t).first(t.size() - 70)) == State::partial);
    REQUIRE(r.read(t) == State::done);
    CHECK(r.flight_record_length() == 45 + 405 + 105 + 65);
  }
  SECTION("unusable answers") {
    const auto reason = [](const Bytes& t) {
      TargetHelloReader r;
      REQUIRE(r.read(t) == State::unusable);
      return std::string(r.reason());
    };
    CHECK(reason(Bytes{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}) ==
          "target answered with an alert");
    CHECK(reason(Bytes{'H', 'T', 'T', 'P', '/', '1'}) == "target sent no TLS handshake record");
    CHECK(reason(target_flight(0x1301, tls13::kGroupSecp256r1, {100})) ==
          "target chose a group other than X25519 or X25519MLKEM768");
    CHECK(reason(target_flight(0x1301, tls13::kGroupX25519, {100}, false)) ==
          "target sent no ChangeCipherSpec after its ServerHello");
    CHECK(reason(target_flight(0x1301, tls13::kGroupX25519, {100}, true, 0x0303)) ==
          "target does not speak TLS 1.3");
    CHECK(reason(target_flight(0x1304, tls13::kGroupX25519, {100})) ==
          "target chose a cipher suite REALITY cannot mirror");
    CHECK(reason(record(Bytes{0x02, 0x00, 0x00, 0x01, 0x00}, 0x16, 0x0303)) ==
          "target sent incorrect server hello");
    Bytes t = target_flight(0x1301, tls13::kGroupX25519, {});
    t.insert(t.end(), {0x16, 0x03, 0x03, 0x00, 0x01, 0x00});
    CHECK(reason(t) == "target sent an unencrypted record after its ServerHello");
  }
}

namespace {

// pump moves bytes both ways until nothing moves.
void pump(tls13::Client& c, tls13::Server& s) {
  for (int i = 0; i < 16; ++i) {
    bool moved = false;
    if (!c.output().empty()) {
      const Bytes b(c.output().begin(), c.output().end());
      c.drain(b.size());
      (void)s.receive(b);
      moved = true;
    }
    if (!s.output().empty()) {
      const Bytes b(s.output().begin(), s.output().end());
      s.drain(b.size());
      (void)c.receive(b);
      moved = true;
    }
    if (!moved) break;
  }
}

// A whole REALITY handshake over the engine: the client's hello goes to the
// server's inspection, the target's answer shapes the server, which then
// handshakes with the temporary certificate.
void reality_handshake(tls13::KeySharePolicy policy, uint16_t target_group) {
  auto cert = TemporaryCertificate::generate();
  REQUIRE(cert.has_value());
  ServerOptions so;
  so.private_key = key_of(kServerPrivate);
  so.server_names = {"www.example.com"};
  so.short_ids = {*parse_short_id("abcd")};
  so.max_time_difference_ms = 60'000;
  so.min_version = Version{26, 3, 27};
  ServerAuth server_auth(so);

  ClientOptions co;
  co.server_public_key = key_of(kServerPublic);
  co.short_id = *parse_short_id("abcd");
  auto auth = std::make_shared<ClientAuth>(co, kVectorTime);
  tls13::ClientConfig cc;
  cc.server_name = "www.example.com";
  cc.key_shares = policy;
  bool browser_called = false;
  install(auth, cc, [&](std::span<const tls13::CertificateEntry>, std::string_view) {
    browser_called = true;
    return tls13::Outcome::fail(tls13::Alert::bad_certificate, "browser check");
  });
  tls13::Client client(std::move(cc));
  REQUIRE(client.start());
  REQUIRE(auth->sealed());
  const Bytes hello(client.output().begin(), client.output().end());
  client.drain(hello.size());

  ClientHelloReader reader;
  REQUIRE(reader.read(hello) == ClientHelloReader::State::done);
  const Decision d = server_auth.inspect(reader.hello(), uint64_t{kVectorTime} * 1000);
  INFO(d.reason);
  REQUIRE(d.authenticated);
  CHECK(to_hex(d.auth_key) == to_hex(auth->auth_key()));

  TargetHelloReader target;
  REQUIRE(target.read(target_flight(0x1301, target_group, {3000})) ==
          TargetHelloReader::State::done);
  tls13::Server server(server_config(target, *cert, d.auth_key));
  REQUIRE(server.receive(hello));
  pump(client, server);
  INFO(client.error().what());
  INFO(server.error().what());
  REQUIRE(client.connected());
  REQUIRE(server.connected());
  CHECK_FALSE(browser_called);
  CHECK(auth->verified());
  CHECK_FALSE(auth->real_site());
  CHECK(server.group() == target_group);
  CHECK(server.cipher_suite() == 0x1301);
  CHECK(server.signature_scheme() == tls13::kSigEd25519);
  CHECK(client.alpn().empty());

  const Bytes ping = {'p', 'i', 'n', 'g'};
  REQUIRE(client.send(ping));
  pump(client, server);
  CHECK(server.take_application_data() == ping);
  REQUIRE(server.send(ping));
  pump(client, server);
  CHECK(client.take_application_data() == ping);
}

}  // namespace

namespace {

struct WireRecord {
  uint8_t type = 0;
  size_t length = 0;  // with the header
  bool operator==(const WireRecord&) const = default;
};

std::ostream& operator<<(std::ostream& os, const WireRecord& r) {
  return os << "{" << int(r.type) << ", " << r.length << "}";
}

// records_of splits |wire| into whole TLS records.
std::vector<WireRecord> records_of(std::span<const uint8_t> wire) {
  std::vector<WireRecord> out;
  while (wire.size() >= 5) {
    const size_t len = 5 + (size_t{wire[3]} << 8 | wire[4]);
    REQUIRE(wire.size() >= len);
    out.push_back({wire[0], len});
    wire = wire.subspan(len);
  }
  CHECK(wire.empty());
  return out;
}

// mirror runs an authenticated hello against a server shaped by
// |target_answer| and |post| and checks that what the client receives has
// the target's record types and lengths (|post| after the client Finished).
void mirror(const Bytes& target_answer, const std::vector<size_t>& post,
            tls13::KeySharePolicy policy, size_t expect_flight_records) {
  auto cert = TemporaryCertificate::generate();
  REQUIRE(cert.has_value());
  ServerOptions so;
  so.private_key = key_of(kServerPrivate);
  so.server_names = {"www.example.com"};
  so.short_ids = {*parse_short_id("abcd")};
  ServerAuth server_auth(so);
  ClientOptions co;
  co.server_public_key = key_of(kServerPublic);
  co.short_id = *parse_short_id("abcd");
  auto auth = std::make_shared<ClientAuth>(co, kVectorTime);
  tls13::ClientConfig cc;
  cc.server_name = "www.example.com";
  cc.key_shares = policy;
  install(auth, cc, {});
  tls13::Client client(std::move(cc));
  REQUIRE(client.start());
  const Bytes hello(client.output().begin(), client.output().end());
  client.drain(hello.size());
  ClientHelloReader reader;
  REQUIRE(reader.read(hello) == ClientHelloReader::State::done);
  const Decision d = server_auth.inspect(reader.hello(), uint64_t{kVectorTime} * 1000);
  REQUIRE(d.authenticated);

  TargetHelloReader target;
  REQUIRE(target.read(target_answer) == TargetHelloReader::State::done);
  tls13::Server server(server_config(target, *cert, d.auth_key, post));
  REQUIRE(server.receive(hello));
  const Bytes flight(server.output().begin(), server.output().end());
  server.drain(flight.size());

  // Our ServerHello is the target's but for the key share: same random.
  REQUIRE(flight.size() > 43);
  CHECK(std::equal(flight.begin() + 11, flight.begin() + 43, target_answer.begin() + 11));
  CHECK(records_of(flight) == records_of(target_answer));
  CHECK(records_of(flight).size() == expect_flight_records);

  REQUIRE(client.receive(flight));
  INFO(client.error().what());
  REQUIRE(client.connected());
  CHECK(auth->verified());
  const Bytes fin(client.output().begin(), client.output().end());
  client.drain(fin.size());
  REQUIRE(server.receive(fin));
  REQUIRE(server.connected());
  const Bytes after(server.output().begin(), server.output().end());
  server.drain(after.size());
  std::vector<WireRecord> want;
  for (size_t n : post) want.push_back({0x17, n});
  CHECK(records_of(after) == want);
  // The client drops the empty records and the data flows.
  REQUIRE(client.receive(after));
  CHECK(client.take_application_data().empty());
  const Bytes ping = {'p', 'i', 'n', 'g'};
  REQUIRE(server.send(ping));
  REQUIRE(client.receive(server.output()));
  CHECK(client.take_application_data() == ping);
}

}  // namespace

TEST_CASE("REALITY server mirrors the target's records one for one", "[reality][target]") {
  SECTION("four records, a fifth with them, two after the client Finished") {
    // EE, Certificate, CertificateVerify, Finished (SHA-256), then a ticket.
    mirror(target_flight(0x1301, tls13::kGroupX25519Mlkem768, {40, 1500, 280, 53, 250}), {259, 259},
           tls13::KeySharePolicy::hybrid_and_x25519, 7);
  }
  SECTION("four records, X25519, AES-256-GCM-SHA384, no post-handshake records") {
    mirror(target_flight(0x1302, tls13::kGroupX25519, {27, 900, 100, 69}), {},
           tls13::KeySharePolicy::x25519_only, 6);
  }
  SECTION("a first record over 512 bytes holds the whole flight") {
    mirror(target_flight(0x1303, tls13::kGroupX25519, {2600}), {120},
           tls13::KeySharePolicy::x25519_only, 3);
  }
}

TEST_CASE("REALITY handshake on the engine, X25519MLKEM768", "[reality][handshake]") {
  reality_handshake(tls13::KeySharePolicy::hybrid_and_x25519, tls13::kGroupX25519Mlkem768);
}

TEST_CASE("REALITY handshake on the engine, X25519 only", "[reality][handshake]") {
  reality_handshake(tls13::KeySharePolicy::x25519_only, tls13::kGroupX25519);
}

TEST_CASE("REALITY client against a real site: browser check decides", "[reality][handshake]") {
  tls::CertificateRequest req;
  req.name = "www.example.com";
  auto kp = tls::generate_certificate(req);
  REQUIRE(kp.has_value());
  auto key = crypto::SigningKey::from_pem(kp->private_key);
  REQUIRE(key.has_value());
  std::string b64;
  {
    const std::string& pem = kp->certificate;
    for (size_t i = pem.find('\n') + 1; i < pem.find("-----END"); ++i)
      if (pem[i] != '\n') b64 += pem[i];
  }
  const auto der_text = base64_decode(b64);
  REQUIRE(der_text.has_value());
  const Bytes der(der_text->begin(), der_text->end());
  tls13::ServerConfig sc;
  sc.certificate_chain = {der};
  sc.key = std::make_shared<crypto::SigningKey>(std::move(*key));

  for (const bool valid : {true, false}) {
    DYNAMIC_SECTION("chain valid: " << valid) {
      ClientOptions co;
      co.server_public_key = key_of(kServerPublic);
      auto auth = std::make_shared<ClientAuth>(co, kVectorTime);
      tls13::ClientConfig cc;
      cc.server_name = "www.example.com";
      install(auth, cc, [&](std::span<const tls13::CertificateEntry> chain, std::string_view) {
        if (valid && chain.size() == 1 &&
            std::equal(der.begin(), der.end(), chain[0].cert_data.begin(),
                       chain[0].cert_data.end()))
          return tls13::Outcome::success();
        return tls13::Outcome::fail(tls13::Alert::unknown_ca, "untrusted chain");
      });
      tls13::Client client(std::move(cc));
      tls13::Server server(sc);
      REQUIRE(client.start());
      pump(client, server);
      CHECK_FALSE(auth->verified());
      CHECK(auth->real_site() == valid);
      CHECK(client.connected() == valid);
      if (!valid) {
        CHECK(client.failed());
        CHECK(client.error().alert() == tls13::Alert::unknown_ca);
      }
    }
  }
}

TEST_CASE("REALITY certificate parser refuses malformed DER", "[reality][malformed]") {
  auto cert = TemporaryCertificate::create(kEdSeed);
  REQUIRE(cert.has_value());
  const Bytes der(cert->der().begin(), cert->der().end());
  for (size_t n = 0; n < der.size(); ++n)
    CHECK_FALSE(parse_certificate_fields(std::span(der).first(n)).has_value());
  Bytes extra = der;
  extra.push_back(0);
  CHECK_FALSE(parse_certificate_fields(extra).has_value());
  Bytes wrong_tag = der;
  wrong_tag[0] = 0x31;
  CHECK_FALSE(parse_certificate_fields(wrong_tag).has_value());
  CHECK_FALSE(is_reality_certificate(Bytes{}, auth_of(kAuthKey)));
}

namespace {

// hpack_decode reads the subset spider_request writes: indexed fields and
// literals without indexing (indexed or new names), no Huffman, against
// the static table entries it uses.
std::vector<std::pair<std::string, std::string>> hpack_decode(std::span<const uint8_t> in) {
  const auto name_of = [](size_t i) -> std::string {
    switch (i) {
      case 1:
        return ":authority";
      case 4:
        return ":path";
      case 16:
        return "accept-encoding";
      case 17:
        return "accept-language";
      case 19:
        return "accept";
      case 32:
        return "cookie";
      case 58:
        return "user-agent";
    }
    FAIL("unexpected static index " << i);
    return "";
  };
  size_t at = 0;
  const auto integer = [&](int bits) {
    const size_t max = (1u << bits) - 1;
    size_t v = in[at++] & max;
    if (v < max) return v;
    int shift = 0;
    while (true) {
      const uint8_t b = in[at++];
      v += static_cast<size_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return v;
    }
  };
  const auto string = [&]() {
    REQUIRE((in[at] & 0x80) == 0);  // no Huffman
    const size_t n = integer(7);
    REQUIRE(at + n <= in.size());
    std::string s(in.begin() + at, in.begin() + at + n);
    at += n;
    return s;
  };
  std::vector<std::pair<std::string, std::string>> out;
  while (at < in.size()) {
    if (in[at] & 0x80) {
      const size_t i = integer(7);
      if (i == 2)
        out.emplace_back(":method", "GET");
      else if (i == 4)
        out.emplace_back(":path", "/");
      else if (i == 7)
        out.emplace_back(":scheme", "https");
      else
        FAIL("unexpected indexed field " << i);
      continue;
    }
    REQUIRE((in[at] & 0xf0) == 0);  // literal without indexing
    const size_t i = integer(4);
    std::string name = i == 0 ? string() : name_of(i);
    out.emplace_back(std::move(name), string());
  }
  return out;
}

}  // namespace

TEST_CASE("REALITY spider request: HTTP/2 GET with a padding cookie", "[reality][spider]") {
  const Bytes req = spider_request("h2", "www.example.com", "/search?q=1", 45);
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  REQUIRE(req.size() > preface.size() + 9);
  CHECK(std::string(req.begin(), req.begin() + preface.size()) == preface);
  size_t at = preface.size();
  const auto frame = [&](const Bytes& req, uint8_t& type, uint8_t& flags, uint32_t& stream) {
    REQUIRE(req.size() - at >= 9);
    const size_t len = static_cast<size_t>(req[at] << 16 | req[at + 1] << 8 | req[at + 2]);
    type = req[at + 3];
    flags = req[at + 4];
    stream = static_cast<uint32_t>(req[at + 5] << 24 | req[at + 6] << 16 | req[at + 7] << 8 |
                                   req[at + 8]);
    REQUIRE(req.size() - at - 9 >= len);
    const auto body = std::span(req).subspan(at + 9, len);
    at += 9 + len;
    return body;
  };
  uint8_t type, flags;
  uint32_t stream;
  const auto settings = frame(req, type, flags, stream);
  CHECK(type == 0x04);
  CHECK(stream == 0);
  CHECK(settings.size() % 6 == 0);
  const auto headers = frame(req, type, flags, stream);
  CHECK(type == 0x01);
  CHECK(flags == 0x05);
  CHECK(stream == 1);
  CHECK(at == req.size());
  const auto fields = hpack_decode(headers);
  const auto get = [&](const std::string& n) {
    for (const auto& [k, v] : fields)
      if (k == n) return v;
    return std::string("<missing>");
  };
  CHECK(get(":method") == "GET");
  CHECK(get(":scheme") == "https");
  CHECK(get(":authority") == "www.example.com");
  CHECK(get(":path") == "/search?q=1");
  CHECK(get("cookie") == "padding=" + std::string(45, '0'));
  CHECK(get("user-agent") == std::string(kSpiderUserAgent));
  // A 200-byte path needs a multi-byte HPACK length.
  const std::string long_path = "/" + std::string(199, 'a');
  const Bytes long_req = spider_request("h2", "h", long_path, 30);
  at = preface.size();
  (void)frame(long_req, type, flags, stream);
  const auto fields2 = hpack_decode(frame(long_req, type, flags, stream));
  bool found = false;
  for (const auto& [k, v] : fields2) found = found || (k == ":path" && v == long_path);
  CHECK(found);
}

TEST_CASE("REALITY spider request: HTTP/1.1 without h2", "[reality][spider]") {
  const Bytes req = spider_request("", "www.example.com", "", 30);
  const std::string s(req.begin(), req.end());
  CHECK(s.rfind("GET / HTTP/1.1\r\nHost: www.example.com\r\n", 0) == 0);
  CHECK(s.find("Cookie: padding=" + std::string(30, '0') + "\r\n") != std::string::npos);
  CHECK(s.size() >= 4);
  CHECK(s.substr(s.size() - 4) == "\r\n\r\n");
}

TEST_CASE("REALITY client refuses a certificate check before sealing", "[reality][malformed]") {
  ClientAuth auth(ClientOptions{}, kVectorTime);
  const tls13::CertificateVerifier browser = [](std::span<const tls13::CertificateEntry>,
                                                std::string_view) {
    return tls13::Outcome::success();
  };
  const tls13::Outcome o = auth.check({}, "www.example.com", browser);
  CHECK_FALSE(o.ok());
  CHECK(o.alert() == tls13::Alert::internal_error);
  CHECK_FALSE(auth.verified());
  CHECK_FALSE(auth.real_site());
  // A hook view without a 32-byte session id leaves the hello unsealed.
  Bytes ch = kHelloZeroSid;
  tls13::ClientHelloHookView short_view{ch, std::span(ch).subspan(kSessionIdOffset, 16),
                                        std::span(ch).subspan(6, 32),
                                        std::span<const uint8_t, 32>(kClientPrivate.data(), 32)};
  auth.seal(short_view);
  CHECK_FALSE(auth.sealed());
  CHECK(to_hex(ch) == to_hex(kHelloZeroSid));
}

TEST_CASE("REALITY fallback rate limit: after-bytes, burst, then the rate", "[reality][limit]") {
  SECTION("no rate: never waits") {
    TokenBucket b(FallbackLimit{}, 0);
    CHECK(b.take(size_t{1} << 30, 0) == 0);
  }
  SECTION("after_bytes pass, the bucket starts full, debts are waited out") {
    FallbackLimit l;
    l.after_bytes = 1000;
    l.bytes_per_sec = 1000;  // 1 byte per ms
    l.burst_bytes_per_sec = 2000;
    TokenBucket b(l, 0);
    CHECK(b.take(600, 0) == 0);    // after_bytes: 400 left
    CHECK(b.take(400, 0) == 0);    // after_bytes used up
    CHECK(b.take(2000, 0) == 0);   // the whole bucket
    CHECK(b.take(500, 0) == 500);  // 500 bytes of debt at 1 byte/ms
    CHECK(b.take(0, 500) == 0);    // repaid
    CHECK(b.tokens() == Approx(0));
    // Refill is capped at the bucket's size.
    CHECK(b.take(2000, 100'000) == 0);
    CHECK(b.take(1, 100'000) == 1);
  }
  SECTION("a burst below the rate is raised to it") {
    FallbackLimit l;
    l.bytes_per_sec = 10'000;
    l.burst_bytes_per_sec = 1;
    TokenBucket b(l, 50);
    CHECK(b.take(10'000, 50) == 0);
    CHECK(b.take(10'000, 50) == 1000);
  }
  SECTION("a long transfer runs at the rate") {
    FallbackLimit l;
    l.bytes_per_sec = 1 << 20;
    l.burst_bytes_per_sec = 64 << 10;
    TokenBucket b(l, 0);
    uint64_t now = 0;
    for (int i = 0; i < 64 * 16; ++i) now += b.take(16 << 10, now);  // 16 MiB in 16 KiB reads
    // The bucket holds at least a second's worth (1 MiB, as Xray's): the
    // other 15 MiB at 1 MiB/s, within a millisecond per read of rounding.
    CHECK(now >= 15'000);
    CHECK(now <= 15'000 + 64 * 16);
  }
}

TEST_CASE("REALITY hello SNI and ALPN class, for the post-handshake probes", "[reality][server]") {
  struct Case {
    std::vector<std::string> alpn;
    AlpnClass want;
  } cases[] = {
      {{}, AlpnClass::none},
      {{"http/1.1"}, AlpnClass::other},
      {{"http/1.1", "h2"}, AlpnClass::other},
      {{"h2", "http/1.1"}, AlpnClass::h2},
  };
  for (const Case& c : cases) {
    tls13::ClientConfig cc;
    cc.server_name = "www.example.com";
    cc.alpn = c.alpn;
    cc.verifier = [](std::span<const tls13::CertificateEntry>, std::string_view) {
      return tls13::Outcome::success();
    };
    tls13::Client client(std::move(cc));
    REQUIRE(client.start());
    ClientHelloReader reader;
    REQUIRE(reader.read(client.output()) == ClientHelloReader::State::done);
    CHECK(hello_server_name(reader.hello()) == "www.example.com");
    CHECK(hello_alpn_class(reader.hello()) == c.want);
  }
  // No SNI at all.
  tls13::ClientConfig cc;
  cc.verifier = [](std::span<const tls13::CertificateEntry>, std::string_view) {
    return tls13::Outcome::success();
  };
  tls13::Client client(std::move(cc));
  REQUIRE(client.start());
  ClientHelloReader reader;
  REQUIRE(reader.read(client.output()) == ClientHelloReader::State::done);
  CHECK(hello_server_name(reader.hello()).empty());
}

// Tests for the sans-I/O TLS 1.3 client (lib/proto/tls13/client.cpp): the
// RFC 8448 §3 trace reproduced from the client's side byte for byte, the
// Chrome ClientHello shape, the key-share policy, the pre-send hook, and the
// alerts for a hostile server.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "proto/tls13/client.hpp"
#include "proto/tls13/wire.hpp"
#include "sluice/buffer.hpp"
#include "support/hex.hpp"
#include "unit/tls13/rfc8448_hrr_vectors.hpp"
#include "unit/tls13/rfc8448_profile.hpp"
#include "unit/tls13/rfc8448_vectors.hpp"

using namespace sluice;
using namespace sluice::tls13;
using test::hex;
using test::to_hex;
namespace v = sluice::test::rfc8448;

namespace {

using Vec = std::vector<uint8_t>;

Vec cat(Vec a, const Vec& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// rfc_random serves the trace's client random, then its X25519 key.
RandomSource rfc_random() {
  auto calls = std::make_shared<int>(0);
  return [calls](std::span<uint8_t> out) {
    if (out.size() != 32) {
      std::fill(out.begin(), out.end(), 0);
      return;
    }
    const Vec hello = hex(v::kClientHello);
    const Vec src =
        *calls == 0 ? Vec(hello.begin() + 6, hello.begin() + 38) : hex(v::kClientPrivate);
    ++*calls;
    std::copy(src.begin(), src.end(), out.begin());
  };
}

ClientConfig rfc_config(int* verifier_calls) {
  ClientConfig c;
  c.profile = &v::kProfile;
  c.server_name = "server";
  c.alpn.clear();
  c.key_shares = KeySharePolicy::x25519_only;
  c.random = rfc_random();
  c.verifier = [verifier_calls](std::span<const CertificateEntry> chain, std::string_view host) {
    ++*verifier_calls;
    if (chain.size() != 1 || host != "server")
      return Outcome::fail(Alert::bad_certificate, "unexpected chain");
    return Outcome::success();
  };
  return c;
}

Vec take(Client& c) {
  Vec out(c.output().begin(), c.output().end());
  c.drain(out.size());
  return out;
}

// Decrypts the trace's server flight, lets |edit| change the plaintext, and
// re-seals it with the server's handshake key.
Vec edited_flight(const std::function<void(Vec&)>& edit) {
  const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
  RecordProtection r, w;
  REQUIRE(r.init(suite, hex(v::kServerHsTraffic)).has_value());
  REQUIRE(w.init(suite, hex(v::kServerHsTraffic)).has_value());
  Vec rec = hex(v::kServerFlightRecord);
  ContentType type{};
  std::span<uint8_t> content;
  REQUIRE(r.open_span(rec, type, content).ok());
  Vec plain(content.begin(), content.end());
  edit(plain);
  Vec out(kRecordHeaderLen + plain.size() + kSealOverhead);
  std::copy(plain.begin(), plain.end(), out.begin() + kRecordHeaderLen);
  auto n = w.seal_span(out, plain.size(), ContentType::handshake);
  REQUIRE(n.has_value());
  out.resize(*n);
  return out;
}

struct ParsedHello {
  Vec msg;
  ClientHello ch;
};

ParsedHello parse_hello(const Client& c) {
  ParsedHello p;
  p.msg.assign(c.client_hello().begin(), c.client_hello().end());
  auto h = next_handshake(p.msg);
  REQUIRE(h.state == ParseState::done);
  REQUIRE(parse_client_hello(h.msg.body, h.msg.raw, p.ch).ok());
  return p;
}

std::vector<uint16_t> u16s(Bytes b) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < b.size(); i += 2)
    out.push_back(static_cast<uint16_t>(b[i] << 8 | b[i + 1]));
  return out;
}

ClientConfig chrome_config() {
  ClientConfig c;
  c.server_name = "www.example.com";
  c.verifier = [](std::span<const CertificateEntry>, std::string_view) {
    return Outcome::success();
  };
  return c;
}

}  // namespace

TEST_CASE("client reproduces RFC 8448 §3 byte for byte", "[tls13][client][rfc8448]") {
  int verifier_calls = 0;
  Client c(rfc_config(&verifier_calls));
  REQUIRE(c.start().ok());
  CHECK(to_hex(take(c)) == to_hex(cat(hex("16 03 01 00 c4"), hex(v::kClientHello))));

  // The server's flight, fed in awkward pieces.
  const Vec flight = cat(hex(v::kServerHelloRecord), hex(v::kServerFlightRecord));
  for (size_t at = 0; at < flight.size(); at += 97) {
    const size_t n = std::min<size_t>(97, flight.size() - at);
    Outcome o = c.receive(std::span(flight).subspan(at, n));
    INFO(o.what());
    REQUIRE(o.ok());
  }
  REQUIRE(c.connected());
  CHECK(verifier_calls == 1);
  CHECK(c.cipher_suite() == kTlsAes128GcmSha256);
  CHECK(c.group() == kGroupX25519);
  CHECK(to_hex(take(c)) == to_hex(hex(v::kClientFinishedRecord)));

  REQUIRE(c.receive(hex(v::kNewSessionTicketRecord)).ok());
  REQUIRE(c.tickets().size() == 1);
  CHECK(c.tickets()[0].lifetime == 30);
  CHECK(c.tickets()[0].psk.len == 32);
  // RFC 8448 §3: the PSK of the ticket (nonce 00 00); §4 resumes with it.
  CHECK(to_hex(c.tickets()[0].psk.span()) ==
        "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3");

  Vec payload(50);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
  REQUIRE(c.send(payload).has_value());
  CHECK(to_hex(take(c)) == to_hex(hex(v::kClientAppRecord)));
  REQUIRE(c.receive(hex(v::kServerAppRecord)).ok());
  CHECK(c.take_application_data() == payload);

  REQUIRE(c.close().has_value());
  CHECK(to_hex(take(c)) == to_hex(hex(v::kClientAlertRecord)));
  CHECK(c.send(payload).error() == Errc::invalid_state);
  REQUIRE(c.receive(hex(v::kServerAlertRecord)).ok());
  CHECK(c.peer_closed());
}

namespace {

// The RFC 8448 §5 client: three groups, the cookie after
// signature_algorithms, no session_ticket, BoringSSL's padding (the second
// hello, 333 octets, grows to 512; the first, 180, does not).
constexpr uint16_t kHrrGroups[] = {0x001d, 0x0017, 0x0018};
constexpr ProfileExtension kHrrExtensions[] = {
    {ext::server_name, ExtKind::server_name, {}},
    {ext::renegotiation_info, ExtKind::literal, v::kRenego},
    {ext::supported_groups, ExtKind::supported_groups, {}},
    {ext::key_share, ExtKind::key_share, {}},
    {ext::supported_versions, ExtKind::supported_versions, {}},
    {ext::signature_algorithms, ExtKind::signature_algorithms, {}},
    {ext::cookie, ExtKind::cookie, {}},
    {ext::psk_key_exchange_modes, ExtKind::literal, v::kPskModes},
    {ext::record_size_limit, ExtKind::literal, v::kRecordSizeLimit},
};
constexpr ClientProfile kHrrProfile = {
    "rfc8448-hrr", false,          0,
    v::kCiphers,   kHrrGroups,     v::kSigalgs,
    v::kVersions,  kHrrExtensions, PaddingRule::boringssl,
};

// hrr_random serves, for the 32-octet draws in order: the random, the
// x25519 key, then (after the HelloRetryRequest) the secp256r1 scalar.
RandomSource hrr_random() {
  auto calls = std::make_shared<int>(0);
  return [calls](std::span<uint8_t> out) {
    if (out.size() != 32) {
      std::fill(out.begin(), out.end(), 0);
      return;
    }
    const Vec hello = hex(v::hrr::kHrrClientHello1Record);
    Vec src;
    if (*calls == 0) src.assign(hello.begin() + 5 + 6, hello.begin() + 5 + 38);
    if (*calls == 1) src = hex(v::hrr::kHrrClientX25519Private);
    if (*calls == 2) src = hex(v::hrr::kHrrClientP256Private);
    REQUIRE(src.size() == 32);
    ++*calls;
    std::copy(src.begin(), src.end(), out.begin());
  };
}

}  // namespace

TEST_CASE("client reproduces RFC 8448 §5 (HelloRetryRequest) byte for byte",
          "[tls13][client][rfc8448]") {
  int verifier_calls = 0;
  ClientConfig cfg = rfc_config(&verifier_calls);
  cfg.profile = &kHrrProfile;
  cfg.random = hrr_random();
  Client c(cfg);
  REQUIRE(c.start().ok());
  CHECK(to_hex(take(c)) == to_hex(hex(v::hrr::kHrrClientHello1Record)));

  Outcome o = c.receive(hex(v::hrr::kHelloRetryRequestRecord));
  INFO(o.what());
  REQUIRE(o.ok());
  CHECK(c.hello_retry_request());
  CHECK(to_hex(take(c)) == to_hex(hex(v::hrr::kHrrClientHello2Record)));

  // ServerHello and the encrypted flight, fed in awkward pieces.
  const Vec flight = cat(hex(v::hrr::kHrrServerHelloRecord), hex(v::hrr::kHrrServerFlightRecord));
  for (size_t at = 0; at < flight.size(); at += 61) {
    const size_t n = std::min<size_t>(61, flight.size() - at);
    Outcome r = c.receive(std::span(flight).subspan(at, n));
    INFO(r.what());
    REQUIRE(r.ok());
  }
  REQUIRE(c.connected());
  CHECK(verifier_calls == 1);
  CHECK(c.cipher_suite() == kTlsAes128GcmSha256);
  CHECK(c.group() == kGroupSecp256r1);
  CHECK(to_hex(take(c)) == to_hex(hex(v::hrr::kHrrClientFinishedRecord)));
}

TEST_CASE("client rejects a HelloRetryRequest it cannot act on", "[tls13][client][rfc8448]") {
  int verifier_calls = 0;
  auto run = [&](const Vec& hrr) {
    ClientConfig cfg = rfc_config(&verifier_calls);
    cfg.profile = &kHrrProfile;
    cfg.random = hrr_random();
    Client c(cfg);
    REQUIRE(c.start().ok());
    take(c);
    Outcome o = c.receive(hrr);
    CHECK(c.failed());
    return o;
  };
  const Vec hrr = hex(v::hrr::kHelloRetryRequestRecord);
  // The selected group sits after the key_share type and length: record
  // header 5, handshake header 4, version 2, random 32, session id 1,
  // suite 2, compression 1, extensions length 2, type 2, length 2.
  constexpr size_t kGroupAt = 5 + 4 + 2 + 32 + 1 + 2 + 1 + 2 + 2 + 2;
  REQUIRE(hrr[kGroupAt] == 0x00);
  REQUIRE(hrr[kGroupAt + 1] == 0x17);

  SECTION("group that already has a share: illegal_parameter") {
    Vec bad = hrr;
    bad[kGroupAt + 1] = 0x1d;
    CHECK(run(bad).alert() == Alert::illegal_parameter);
  }
  SECTION("group never offered: illegal_parameter") {
    Vec bad = hrr;
    bad[kGroupAt + 1] = 0x19;
    CHECK(run(bad).alert() == Alert::illegal_parameter);
  }
  SECTION("a second HelloRetryRequest: unexpected_message") {
    ClientConfig cfg = rfc_config(&verifier_calls);
    cfg.profile = &kHrrProfile;
    cfg.random = hrr_random();
    Client c(cfg);
    REQUIRE(c.start().ok());
    REQUIRE(c.receive(hrr).ok());
    CHECK(c.receive(hrr).alert() == Alert::unexpected_message);
  }
}

TEST_CASE("handoff to a caller's record layer after the handshake", "[tls13][client]") {
  int calls = 0;
  Client c(rfc_config(&calls));
  REQUIRE(c.start().ok());
  take(c);
  const Vec nst = hex(v::kNewSessionTicketRecord);
  Vec in = cat(cat(hex(v::kServerHelloRecord), hex(v::kServerFlightRecord)), nst);
  in.resize(in.size() - 100);  // the ticket record arrives in part
  REQUIRE(c.receive(in).ok());
  REQUIRE(c.connected());
  Vec pending = c.take_pending_input();
  CHECK(pending.size() == nst.size() - 100);
  // The caller completes the record and opens it in place on a pool Chunk
  // with the client's read protection.
  pending.insert(pending.end(), nst.end() - 100, nst.end());
  BufferPool pool;
  auto s = pool.copy_from(pending.data(), pending.size());
  REQUIRE(s.has_value());
  ContentType type{};
  REQUIRE(c.read_protection().open(*s, type).ok());
  CHECK(type == ContentType::handshake);
  CHECK((*s).data()[0] == static_cast<uint8_t>(HandshakeType::new_session_ticket));
}

TEST_CASE("client rejects a hostile server with the specific alert", "[tls13][client]") {
  int calls = 0;
  auto run = [&](const Vec& server_bytes) {
    Client c(rfc_config(&calls));
    REQUIRE(c.start().ok());
    take(c);
    Outcome o = c.receive(server_bytes);
    CHECK(c.failed());
    return std::make_pair(o, take(c));
  };
  const Vec sh = hex(v::kServerHelloRecord);

  SECTION("bad server Finished: decrypt_error, sent encrypted") {
    Vec flight = edited_flight([](Vec& p) { p.back() ^= 1; });
    auto [o, out] = run(cat(sh, flight));
    CHECK(o.alert() == Alert::decrypt_error);
    REQUIRE(out.size() == kRecordHeaderLen + 2 + 1 + kAeadTagLen);
    CHECK(out[0] == 0x17);
  }
  SECTION("bad CertificateVerify signature: decrypt_error") {
    // The CertificateVerify's last signature byte sits 36 + 1 bytes from the
    // end (Finished is 4 + 32 bytes).
    Vec flight = edited_flight([](Vec& p) { p[p.size() - 37] ^= 1; });
    CHECK(run(cat(sh, flight)).first.alert() == Alert::decrypt_error);
  }
  SECTION("CompressedCertificate when compress_certificate was not offered: unexpected_message") {
    // The RFC 8448 profile offers no certificate compression; retype the
    // Certificate (after EncryptedExtensions) as a CompressedCertificate.
    Vec flight = edited_flight([](Vec& p) {
      const size_t cert_at = 4 + (size_t{p[1]} << 16 | size_t{p[2]} << 8 | p[3]);
      REQUIRE(p[cert_at] == 0x0b);
      p[cert_at] = 0x19;
    });
    auto [o, out] = run(cat(sh, flight));
    CHECK(o.alert() == Alert::unexpected_message);
    CHECK(calls == 0);
  }
  SECTION("tampered record: bad_record_mac") {
    Vec flight = hex(v::kServerFlightRecord);
    flight[100] ^= 1;
    CHECK(run(cat(sh, flight)).first.alert() == Alert::bad_record_mac);
  }
  SECTION("wrong session id echo: illegal_parameter, sent in plaintext") {
    Vec bad = sh;
    bad[5 + 4 + 2 + 32] = 1;  // session id length 1
    bad.insert(bad.begin() + 5 + 4 + 2 + 32 + 1, 0x55);
    bad[4] = static_cast<uint8_t>(bad[4] + 1);
    bad[8] = static_cast<uint8_t>(bad[8] + 1);
    auto [o, out] = run(bad);
    CHECK(o.alert() == Alert::illegal_parameter);
    CHECK(to_hex(out) ==
          "15030300020"
          "22f");
  }
  SECTION("suite not offered: illegal_parameter") {
    Vec bad = sh;
    bad[5 + 4 + 2 + 32 + 1 + 1] = 0x04;  // 0x1304
    CHECK(run(bad).first.alert() == Alert::illegal_parameter);
  }
  SECTION("Finished before ServerHello: unexpected_message") {
    CHECK(run(hex("16 03 03 00 24 14 00 00 20" + std::string(64, '0'))).first.alert() ==
          Alert::unexpected_message);
  }
  SECTION("TLS 1.2 ServerHello: protocol_version") {
    ServerHelloFields f;
    f.cipher_suite = kTlsAes128GcmSha256;
    Vec msg;
    REQUIRE(encode_server_hello(f, msg));
    Vec rec = hex("16 03 03 00 00");
    rec[4] = static_cast<uint8_t>(msg.size());
    rec.insert(rec.end(), msg.begin(), msg.end());
    CHECK(run(rec).first.alert() == Alert::protocol_version);
  }
  SECTION("plaintext handshake after ServerHello: unexpected_message") {
    CHECK(run(cat(sh, hex("16 03 03 00 06 08 00 00 02 00 00"))).first.alert() ==
          Alert::unexpected_message);
  }
  SECTION("fatal alert from the server ends the handshake without an answer") {
    auto [o, out] = run(hex("15 03 03 00 02 02 28"));
    CHECK(o.alert() == Alert::handshake_failure);
    CHECK(out.empty());
  }
}

TEST_CASE("chrome profile: ClientHello shape", "[tls13][client][chrome]") {
  Client c(chrome_config());
  REQUIRE(c.start().ok());
  auto p = parse_hello(c);
  const auto& ch = p.ch;

  const auto ciphers = u16s(ch.cipher_suites);
  REQUIRE(ciphers.size() == 16);
  CHECK(is_grease(ciphers[0]));
  CHECK(std::vector<uint16_t>(ciphers.begin() + 1, ciphers.end()) ==
        std::vector<uint16_t>{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                              0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
  CHECK(ch.legacy_session_id.size() == 32);

  const auto exts = ch.extensions.all();
  REQUIRE(exts.size() == 19);
  CHECK(is_grease(exts.front().type));
  CHECK(exts.front().data.empty());
  CHECK(is_grease(exts.back().type));
  CHECK(to_hex(exts.back().data) == "00");
  CHECK(exts.front().type != exts.back().type);
  std::set<uint16_t> types;
  for (size_t i = 1; i + 1 < exts.size(); ++i) types.insert(exts[i].type);
  CHECK(types == std::set<uint16_t>{0, 23, 0xff01, 10, 11, 35, 16, 5, 13, 18, 51, 45, 43, 27, 17613,
                                    0xfe0d, 0xca34});
  CHECK(ch.extensions.find(ext::padding) == nullptr);  // the hybrid hello is over 512 bytes

  Bytes groups;
  REQUIRE(parse_u16_list(ch.extensions.find(ext::supported_groups)->data, 2, groups).ok());
  auto g = u16s(groups);
  REQUIRE(g.size() == 5);
  CHECK(is_grease(g[0]));
  CHECK(std::vector<uint16_t>(g.begin() + 1, g.end()) ==
        std::vector<uint16_t>{0x11ec, 0x001d, 0x0017, 0x0018});

  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  REQUIRE(parse_client_key_shares(ch.extensions.find(ext::key_share)->data, shares, n).ok());
  REQUIRE(n == 3);
  CHECK(shares[0].group == g[0]);
  CHECK(to_hex(shares[0].key_exchange) == "00");
  CHECK(shares[1].group == kGroupX25519Mlkem768);
  CHECK(shares[1].key_exchange.size() == 1216);
  CHECK(shares[2].group == kGroupX25519);
  CHECK(shares[2].key_exchange.size() == 32);
  // The hybrid's X25519 half is its own key, not the plain share.
  CHECK(to_hex(shares[1].key_exchange.subspan(1184)) != to_hex(shares[2].key_exchange));

  Bytes versions;
  REQUIRE(parse_u16_list(ch.extensions.find(ext::supported_versions)->data, 1, versions).ok());
  auto vs = u16s(versions);
  REQUIRE(vs.size() == 3);
  CHECK(is_grease(vs[0]));
  CHECK(vs[1] == kTls13);
  CHECK(vs[2] == kTls12);

  Bytes sigalgs;
  REQUIRE(parse_u16_list(ch.extensions.find(ext::signature_algorithms)->data, 2, sigalgs).ok());
  REQUIRE(sigalgs.size() == 24);
  CHECK(is_grease(static_cast<uint16_t>(sigalgs[0] << 8 | sigalgs[1])));
  CHECK(to_hex(sigalgs.subspan(2)) == "09040905090604030804040105030805050108060601");
  CHECK(to_hex(ch.extensions.find(ext::alpn)->data) == "000c02683208687474702f312e31");
  CHECK(to_hex(ch.extensions.find(ext::application_settings)->data) == "0003026832");
  CHECK(to_hex(ch.extensions.find(ext::compress_certificate)->data) == "020002");
  CHECK(to_hex(ch.extensions.find(ext::status_request)->data) == "0100000000");
  CHECK(to_hex(ch.extensions.find(ext::server_name)->data) ==
        "00120000"
        "0f7777772e6578616d706c652e636f6d");
  const Bytes ech = ch.extensions.find(ext::encrypted_client_hello)->data;
  const size_t payload = ech.size() - (1 + 2 + 2 + 1 + 2 + 32 + 2);
  CHECK((payload == 144 || payload == 176 || payload == 208 || payload == 240));
  CHECK(to_hex(ech.first(5)) == "0000010001");

  // Chrome permutes per connection: 17 positions, so 8 hellos all in one
  // order would mean the permutation is broken.
  std::set<std::vector<uint16_t>> orders;
  for (int i = 0; i < 8; ++i) {
    Client other(chrome_config());
    REQUIRE(other.start().ok());
    auto q = parse_hello(other);
    std::vector<uint16_t> order;
    for (const auto& e : q.ch.extensions.all()) order.push_back(e.type);
    CHECK(is_grease(order.front()));
    CHECK(is_grease(order.back()));
    orders.insert(std::vector<uint16_t>(order.begin() + 1, order.end() - 1));
  }
  CHECK(orders.size() > 1);
}

TEST_CASE("x25519-only policy: no hybrid share or group, BoringSSL padding",
          "[tls13][client][chrome]") {
  ClientConfig cfg = chrome_config();
  cfg.key_shares = KeySharePolicy::x25519_only;
  Client c(cfg);
  REQUIRE(c.start().ok());
  auto p = parse_hello(c);
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  REQUIRE(parse_client_key_shares(p.ch.extensions.find(ext::key_share)->data, shares, n).ok());
  REQUIRE(n == 2);
  CHECK(shares[1].group == kGroupX25519);
  Bytes groups;
  REQUIRE(parse_u16_list(p.ch.extensions.find(ext::supported_groups)->data, 2, groups).ok());
  const auto gl = u16s(groups);
  CHECK(gl.size() == 4);
  CHECK(std::find(gl.begin(), gl.end(), 0x11ec) == gl.end());
  // The ECH GREASE payload length varies (144..240): the hello either is
  // padded to exactly 512 bytes or needed no padding.
  if (p.ch.extensions.find(ext::padding) != nullptr) {
    CHECK(p.msg.size() == 512);
    CHECK(p.ch.extensions.all().back().type == ext::padding);
  } else {
    CHECK(p.msg.size() > 511);
  }
}

TEST_CASE("BoringSSL padding rule: 256..511-byte hellos grow to 512", "[tls13][client]") {
  // Chrome's lists without the ECH GREASE and trust anchor extensions: a
  // hello in the F5 range.
  const ClientProfile& chrome = chrome_profile();
  std::vector<ProfileExtension> exts;
  for (const auto& e : chrome.extensions)
    if (e.kind != ExtKind::encrypted_client_hello && e.type != ext::trust_anchors)
      exts.push_back(e);
  ClientProfile small = chrome;
  small.extensions = exts;
  for (const char* sni : {"a.io", "www.example.com", "a-much-longer-name.subdomain.example.org"}) {
    ClientConfig cfg = chrome_config();
    cfg.profile = &small;
    cfg.server_name = sni;
    cfg.key_shares = KeySharePolicy::x25519_only;
    Client c(cfg);
    REQUIRE(c.start().ok());
    auto p = parse_hello(c);
    INFO(sni);
    REQUIRE(p.ch.extensions.find(ext::padding) != nullptr);
    CHECK(p.ch.extensions.all().back().type == ext::padding);
    CHECK(p.msg.size() == 512);
  }
}

TEST_CASE("pre-send hook rewrites the session id; the rest is what was sent", "[tls13][client]") {
  ClientConfig cfg = chrome_config();
  Vec seen_private, seen_random;
  cfg.pre_send = [&](const ClientHelloHookView& v) {
    REQUIRE(v.session_id.size() == 32);
    std::fill(v.session_id.begin(), v.session_id.end(), 0xab);
    seen_private.assign(v.x25519_private.begin(), v.x25519_private.end());
    seen_random.assign(v.random.begin(), v.random.end());
  };
  Client c(cfg);
  REQUIRE(c.start().ok());
  auto p = parse_hello(c);
  CHECK(to_hex(p.ch.legacy_session_id) == to_hex(Vec(32, 0xab)));
  CHECK(to_hex(Vec(p.ch.random.begin(), p.ch.random.end())) == to_hex(seen_random));
  // The private key the hook saw belongs to the X25519 share that was sent.
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  REQUIRE(parse_client_key_shares(p.ch.extensions.find(ext::key_share)->data, shares, n).ok());
  std::array<uint8_t, 32> pub{};
  REQUIRE(x25519_public_from_private(seen_private, pub).has_value());
  CHECK(to_hex(pub) == to_hex(shares[2].key_exchange));
  // The record on the wire carries the rewritten hello.
  Vec wire(c.output().begin(), c.output().end());
  CHECK(to_hex(std::span(wire).subspan(kRecordHeaderLen)) == to_hex(p.msg));
}

namespace {

// The trace's server flight split into its handshake messages (EE,
// Certificate, CertificateVerify, Finished), each with its header.
std::vector<Vec> flight_messages() {
  std::vector<Vec> msgs;
  (void)edited_flight([&](Vec& p) {
    size_t at = 0;
    while (at < p.size()) {
      auto h = next_handshake(std::span(p).subspan(at));
      REQUIRE(h.done());
      msgs.emplace_back(p.begin() + at, p.begin() + at + h.consumed);
      at += h.consumed;
    }
  });
  REQUIRE(msgs.size() == 4);
  return msgs;
}

// sealed_flight joins |msgs| into one record under the server handshake key.
Vec sealed_flight(const std::vector<Vec>& msgs) {
  Vec plain;
  for (const auto& m : msgs) plain.insert(plain.end(), m.begin(), m.end());
  return edited_flight([&](Vec& p) { p = plain; });
}

// truncated drops the body's last byte and says so in the header.
Vec truncated(Vec m) {
  const size_t len = (size_t{m[1]} << 16 | size_t{m[2]} << 8 | m[3]) - 1;
  m.pop_back();
  m[1] = static_cast<uint8_t>(len >> 16);
  m[2] = static_cast<uint8_t>(len >> 8);
  m[3] = static_cast<uint8_t>(len);
  return m;
}

// oversized: only a header, declaring one byte over the type's limit.
Vec oversized(const Vec& m) {
  const size_t len = max_handshake_len(static_cast<HandshakeType>(m[0])) + 1;
  return {m[0], static_cast<uint8_t>(len >> 16), static_cast<uint8_t>(len >> 8),
          static_cast<uint8_t>(len)};
}

}  // namespace

TEST_CASE("client: every server handshake message truncated, oversized, out of order, duplicated",
          "[tls13][client][hostile]") {
  int calls = 0;
  auto run = [&](const Vec& server_bytes) {
    Client c(rfc_config(&calls));
    REQUIRE(c.start().ok());
    take(c);
    Outcome o = c.receive(server_bytes);
    CHECK(c.failed());
    const Vec out = take(c);
    // The alert goes out, encrypted under the handshake key once it is set.
    CHECK_FALSE(out.empty());
    return o.alert();
  };
  const Vec sh = hex(v::kServerHelloRecord);
  const std::vector<Vec> msgs = flight_messages();
  const char* names[] = {"EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"};
  // Sanity: the untouched flight connects.
  {
    Client c(rfc_config(&calls));
    REQUIRE(c.start().ok());
    REQUIRE(c.receive(cat(sh, sealed_flight(msgs))).ok());
    REQUIRE(c.connected());
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    INFO(names[i]);
    auto with = [&](const std::function<void(std::vector<Vec>&)>& edit) {
      std::vector<Vec> m = msgs;
      edit(m);
      return cat(sh, sealed_flight(m));
    };
    CHECK(run(with([&](auto& m) { m[i] = truncated(m[i]); })) == Alert::decode_error);
    CHECK(run(with([&](auto& m) {
            m[i] = oversized(m[i]);
            m.resize(i + 1);
          })) == Alert::decode_error);
    CHECK(run(with([&](auto& m) { m.insert(m.begin() + i, m[i]); })) == Alert::unexpected_message);
    if (i + 1 < msgs.size()) {
      CHECK(run(with([&](auto& m) { std::swap(m[i], m[i + 1]); })) == Alert::unexpected_message);
      CHECK(run(with([&](auto& m) { m.erase(m.begin() + i); })) == Alert::unexpected_message);
    }
  }
  // A ServerHello truncated, oversized or repeated.
  auto sh_record = [](const Vec& msg) {
    Vec rec = {0x16, 0x03, 0x03, static_cast<uint8_t>(msg.size() >> 8),
               static_cast<uint8_t>(msg.size())};
    rec.insert(rec.end(), msg.begin(), msg.end());
    return rec;
  };
  const Vec sh_msg(sh.begin() + kRecordHeaderLen, sh.end());
  CHECK(run(sh_record(truncated(sh_msg))) == Alert::decode_error);
  CHECK(run(sh_record(oversized(sh_msg))) == Alert::decode_error);
  CHECK(run(sh_record(cat(sh_msg, sh_msg))) == Alert::unexpected_message);
  CHECK(run(cat(sh, sh)) == Alert::unexpected_message);
  // A ServerHello inside an encrypted-looking record: there are no keys yet.
  Vec sh_as_app = sh;
  sh_as_app[0] = 0x17;
  CHECK(run(sh_as_app) == Alert::unexpected_message);
}

TEST_CASE("client: hostile post-handshake messages", "[tls13][client][hostile]") {
  int calls = 0;
  Client c(rfc_config(&calls));
  REQUIRE(c.start().ok());
  take(c);
  REQUIRE(c.receive(cat(hex(v::kServerHelloRecord), hex(v::kServerFlightRecord))).ok());
  REQUIRE(c.connected());
  // Seal handshake bytes under the server's application key.
  auto app = [](const Vec& plain, ContentType type = ContentType::handshake) {
    const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
    RecordProtection w;
    REQUIRE(w.init(suite, hex(v::kServerApTraffic)).has_value());
    Vec out(kRecordHeaderLen + plain.size() + kSealOverhead);
    std::copy(plain.begin(), plain.end(), out.begin() + kRecordHeaderLen);
    auto n = w.seal_span(out, plain.size(), type);
    REQUIRE(n.has_value());
    out.resize(*n);
    return out;
  };
  auto fresh = [&]() {
    auto cl = std::make_unique<Client>(rfc_config(&calls));
    REQUIRE(cl->start().ok());
    take(*cl);
    REQUIRE(cl->receive(cat(hex(v::kServerHelloRecord), hex(v::kServerFlightRecord))).ok());
    return cl;
  };
  SECTION("NewSessionTicket truncated: decode_error") {
    auto cl = fresh();
    Vec nst;
    REQUIRE(encode_new_session_ticket(3600, 1, Vec{0}, Vec{1, 2, 3}, nst));
    CHECK(cl->receive(app(truncated(nst))).alert() == Alert::decode_error);
  }
  SECTION("NewSessionTicket with a lifetime over 7 days: illegal_parameter") {
    auto cl = fresh();
    Vec nst;
    REQUIRE(encode_new_session_ticket(604801, 1, Vec{0}, Vec{1, 2, 3}, nst));
    CHECK(cl->receive(app(nst)).alert() == Alert::illegal_parameter);
  }
  SECTION("a second Finished: unexpected_message") {
    auto cl = fresh();
    Vec fin;
    REQUIRE(encode_finished(Vec(32, 0), fin));
    CHECK(cl->receive(app(fin)).alert() == Alert::unexpected_message);
  }
  SECTION("a CertificateRequest after the handshake (no post_handshake_auth): unexpected_message") {
    auto cl = fresh();
    CHECK(cl->receive(app(hex("0d 00 00 05 00 00 02 00 00"))).alert() == Alert::unexpected_message);
  }
  SECTION("KeyUpdate with a bad value: illegal_parameter; truncated: decode_error") {
    auto cl = fresh();
    CHECK(cl->receive(app(hex("18 00 00 01 02"))).alert() == Alert::illegal_parameter);
    auto c2 = fresh();
    CHECK(c2->receive(app(hex("18 00 00 00"))).alert() == Alert::decode_error);
  }
  SECTION("KeyUpdate not at the end of its record: unexpected_message") {
    auto cl = fresh();
    CHECK(cl->receive(app(hex("18 00 00 01 00 18 00 00 01 00"))).alert() ==
          Alert::unexpected_message);
  }
  SECTION("decrypted content over 2^14: record_overflow") {
    // The record layer refuses to seal this, so seal it by hand: inner
    // plaintext 2^14 + 1 bytes of data and the type, first record (seq 0).
    const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
    TrafficKeys keys;
    REQUIRE(derive_traffic_keys(suite, hex(v::kServerApTraffic), keys).has_value());
    auto aead = Aead::create(suite.aead, keys.key_span());
    REQUIRE(aead.has_value());
    const size_t inner = kMaxPlaintext + 1 + 1;
    const size_t len = inner + kAeadTagLen;
    Vec rec = {0x17, 0x03, 0x03, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    rec.resize(kRecordHeaderLen + len, 'x');
    rec[kRecordHeaderLen + inner - 1] = 0x17;
    const Vec ad(rec.begin(), rec.begin() + kRecordHeaderLen);
    REQUIRE(aead->seal(keys.iv, ad, rec.data() + kRecordHeaderLen, inner,
                       rec.data() + kRecordHeaderLen + inner)
                .has_value());
    auto cl = fresh();
    CHECK(cl->receive(rec).alert() == Alert::record_overflow);
  }
  SECTION("a record over 2^14 + 256: record_overflow, nothing buffered") {
    auto cl = fresh();
    Vec big = {0x17, 0x03, 0x03, 0x41, 0x01};
    CHECK(cl->receive(big).alert() == Alert::record_overflow);
  }
  SECTION("a handshake message split across records, growing past its limit: decode_error") {
    auto cl = fresh();
    // A NewSessionTicket header announcing 64 KiB + 1.
    CHECK(cl->receive(app(hex("04 01 00 01"))).alert() == Alert::decode_error);
  }
  (void)c;
}

TEST_CASE("PSK binder derivation reproduces RFC 8448 §4", "[tls13][client][rfc8448][psk]") {
  // §4's ClientHello offers §3's ticket: early secret from the PSK, binder
  // key "res binder", and the binder over the hash of the hello up to its
  // binders list (the trace prints that hash).
  const CipherSuite& suite = *find_cipher_suite(kTlsAes128GcmSha256);
  KeySchedule ks(suite);
  REQUIRE(ks.early(hex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"))
              .has_value());
  CHECK(to_hex(ks.early_secret().span()) ==
        "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c");
  Secret binder_key, binder;
  REQUIRE(ks.binder_key(binder_key).has_value());
  CHECK(to_hex(binder_key.span()) ==
        "69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256");
  REQUIRE(finished_verify_data(
              suite, binder_key.span(),
              hex("63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14"), binder)
              .has_value());
  CHECK(to_hex(binder.span()) ==
        "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d");
  KeySchedule none(suite);
  Secret out;
  CHECK(none.binder_key(out).error() == Errc::invalid_state);
}

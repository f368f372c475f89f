// Malformed-input tests for the TLS 1.3 handshake codec
// (lib/proto/tls13/messages.cpp): every structure truncated, overlong,
// duplicated or out of range gets its specific alert.
#include <catch2/catch.hpp>

#include <vector>

#include "proto/tls13/messages.hpp"
#include "proto/tls13/wire.hpp"
#include "support/hex.hpp"
#include "unit/tls13/rfc8448_vectors.hpp"

using namespace sluice;
using namespace sluice::tls13;
using test::hex;
namespace v = sluice::test::rfc8448;

namespace {

using Vec = std::vector<uint8_t>;

// body_of strips the 4-byte handshake header.
Vec body_of(const Vec& msg) { return Vec(msg.begin() + 4, msg.end()); }

Outcome parse_ch(const Vec& body) {
  ClientHello ch;
  return parse_client_hello(body, body, ch);
}

// hello_with builds a ClientHello body with the given extensions.
Vec hello_with(std::vector<std::pair<uint16_t, Vec>> exts, Vec session_id = {},
               Vec compression = {0}) {
  Vec out;
  Writer w(out);
  w.u16(kTls12);
  w.zeros(32);
  size_t p = w.open_prefix(1);
  w.bytes(session_id);
  REQUIRE(w.close_prefix(p));
  w.u16(2);
  w.u16(kTlsAes128GcmSha256);
  p = w.open_prefix(1);
  w.bytes(compression);
  REQUIRE(w.close_prefix(p));
  p = w.open_prefix(2);
  for (auto& [t, d] : exts) {
    w.u16(t);
    size_t q = w.open_prefix(2);
    w.bytes(d);
    REQUIRE(w.close_prefix(q));
  }
  REQUIRE(w.close_prefix(p));
  return out;
}

const Vec kVersions13 = {2, 0x03, 0x04};

}  // namespace

TEST_CASE("handshake framing: prefixes need more, limits and types are enforced",
          "[tls13][codec]") {
  const Vec ch = hex(v::kClientHello);
  for (size_t n = 0; n < ch.size(); ++n) {
    auto r = next_handshake(std::span(ch.data(), n));
    REQUIRE(r.state == ParseState::need_more);
    REQUIRE(r.consumed == 0);
  }
  Vec two = ch;
  two.insert(two.end(), ch.begin(), ch.end());
  auto r = next_handshake(two);
  REQUIRE(r.state == ParseState::done);
  CHECK(r.consumed == ch.size());

  auto unknown = next_handshake(hex("03 00 00 00"));
  REQUIRE(unknown.state == ParseState::error);
  CHECK(unknown.error.alert() == Alert::unexpected_message);

  // 64 KiB + 1 for a Finished, 256 KiB + 1 for a Certificate: refused on the
  // header alone, before the body is buffered.
  auto big = next_handshake(hex("14 01 00 01"));
  REQUIRE(big.state == ParseState::error);
  CHECK(big.error.alert() == Alert::decode_error);
  CHECK(big.error.errc() == Errc::malformed);
  CHECK(next_handshake(hex("0b 04 00 00")).state == ParseState::need_more);
  CHECK(next_handshake(hex("0b 04 00 01")).state == ParseState::error);
}

TEST_CASE("ClientHello: every truncation is decode_error", "[tls13][codec]") {
  const Vec body = body_of(hex(v::kClientHello));
  REQUIRE(parse_ch(body).ok());
  for (size_t n = 0; n < body.size(); ++n) {
    // Cutting exactly before the extension block leaves a valid pre-1.3 hello.
    if (n == 2 + 32 + 1 + 8 + 2) continue;
    Vec cut(body.begin(), body.begin() + static_cast<long>(n));
    Outcome o = parse_ch(cut);
    INFO("prefix " << n);
    REQUIRE_FALSE(o.ok());
    CHECK(o.alert() == Alert::decode_error);
  }
  Vec longer = body;
  longer.push_back(0);
  Outcome o = parse_ch(longer);
  CHECK(o.alert() == Alert::decode_error);
}

TEST_CASE("ClientHello: semantic violations are illegal_parameter", "[tls13][codec]") {
  CHECK(parse_ch(hello_with({{ext::supported_versions, kVersions13}})).ok());

  Outcome dup = parse_ch(
      hello_with({{ext::supported_versions, kVersions13}, {ext::supported_versions, kVersions13}}));
  CHECK(dup.alert() == Alert::illegal_parameter);

  Outcome psk_not_last =
      parse_ch(hello_with({{ext::pre_shared_key, {0}}, {ext::supported_versions, kVersions13}}));
  CHECK(psk_not_last.alert() == Alert::illegal_parameter);
  CHECK(parse_ch(hello_with({{ext::supported_versions, kVersions13}, {ext::pre_shared_key, {0}}}))
            .ok());

  Outcome sid = parse_ch(hello_with({{ext::supported_versions, kVersions13}}, Vec(33, 1)));
  CHECK(sid.alert() == Alert::illegal_parameter);
  CHECK(parse_ch(hello_with({{ext::supported_versions, kVersions13}}, Vec(32, 1))).ok());

  Outcome comp = parse_ch(hello_with({{ext::supported_versions, kVersions13}}, {}, {1, 0}));
  CHECK(comp.alert() == Alert::illegal_parameter);
  // Without supported_versions it is a TLS 1.2 hello: more methods are legal.
  CHECK(parse_ch(hello_with({}, {}, {1, 0})).ok());
  Outcome no_comp = parse_ch(hello_with({}, {}, {}));
  CHECK(no_comp.alert() == Alert::decode_error);

  std::vector<std::pair<uint16_t, Vec>> many;
  for (uint16_t i = 0; i <= kMaxExtensions; ++i) many.emplace_back(0x7000 + i, Vec{});
  CHECK(parse_ch(hello_with(many)).alert() == Alert::illegal_parameter);
}

TEST_CASE("ServerHello: HRR detection, compression and truncation", "[tls13][codec]") {
  const Vec rec = hex(v::kServerHelloRecord);
  const Vec body(rec.begin() + 9, rec.end());
  ServerHello sh;
  REQUIRE(parse_server_hello(body, sh).ok());
  CHECK_FALSE(sh.is_hello_retry_request);

  Vec hrr = body;
  std::copy(kHelloRetryRequestRandom.begin(), kHelloRetryRequestRandom.end(), hrr.begin() + 2);
  REQUIRE(parse_server_hello(hrr, sh).ok());
  CHECK(sh.is_hello_retry_request);

  Vec comp = body;
  comp[2 + 32 + 1 + 2] = 1;
  CHECK(parse_server_hello(comp, sh).alert() == Alert::illegal_parameter);

  for (size_t n = 0; n < body.size(); ++n) {
    Vec cut(body.begin(), body.begin() + static_cast<long>(n));
    INFO("prefix " << n);
    CHECK(parse_server_hello(cut, sh).alert() == Alert::decode_error);
  }
}

TEST_CASE("extension bodies: key shares, lists, versions", "[tls13][codec]") {
  std::array<KeyShareEntry, kMaxKeyShares> shares;
  size_t n = 0;
  CHECK(parse_client_key_shares(hex("00 0a 00 1d 00 01 aa 00 17 00 01 bb"), shares, n).ok());
  CHECK(n == 2);
  // Outer length one short of the entries, and one byte left over.
  CHECK(parse_client_key_shares(hex("00 09 00 1d 00 01 aa 00 17 00 01 bb"), shares, n).alert() ==
        Alert::decode_error);
  CHECK(parse_client_key_shares(hex("00 0a 00 1d 00 01 aa 00 17 00 01 bb 00"), shares, n).alert() ==
        Alert::decode_error);
  // An entry whose key overruns the list, and an empty key.
  CHECK(parse_client_key_shares(hex("00 0a 00 1d 00 01 aa 00 17 00 02 bb"), shares, n).alert() ==
        Alert::decode_error);
  CHECK(parse_client_key_shares(hex("00 04 00 1d 00 00"), shares, n).alert() ==
        Alert::decode_error);
  // One group twice.
  CHECK(parse_client_key_shares(hex("00 0a 00 1d 00 01 aa 00 1d 00 01 bb"), shares, n).alert() ==
        Alert::illegal_parameter);
  {
    Vec many;
    Writer w(many);
    size_t p = w.open_prefix(2);
    for (uint16_t g = 1; g <= kMaxKeyShares + 1; ++g) {
      w.u16(g);
      w.u16(1);
      w.u8(0xaa);
    }
    REQUIRE(w.close_prefix(p));
    CHECK(parse_client_key_shares(many, shares, n).alert() == Alert::illegal_parameter);
  }

  KeyShareEntry one;
  CHECK(parse_server_key_share(hex("00 1d 00 01 aa"), one).ok());
  CHECK(parse_server_key_share(hex("00 1d 00 02 aa"), one).alert() == Alert::decode_error);
  CHECK(parse_server_key_share(hex("00 1d 00 01 aa ff"), one).alert() == Alert::decode_error);
  uint16_t group = 0;
  CHECK(parse_hrr_key_share(hex("00 17"), group).ok());
  CHECK(group == kGroupSecp256r1);
  CHECK(parse_hrr_key_share(hex("00"), group).alert() == Alert::decode_error);

  Bytes list;
  CHECK(parse_u16_list(hex("00 04 00 1d 00 17"), 2, list).ok());
  CHECK(parse_u16_list(hex("00 03 00 1d 00"), 2, list).alert() == Alert::decode_error);
  CHECK(parse_u16_list(hex("00 00"), 2, list).alert() == Alert::decode_error);
  CHECK(parse_u16_list(hex("04 03 04 03 03"), 1, list).ok());
  CHECK(parse_u16_list(hex("04 03 04 03"), 1, list).alert() == Alert::decode_error);
}

TEST_CASE("server flight and post-handshake messages", "[tls13][codec]") {
  ExtensionList ee;
  CHECK(parse_encrypted_extensions(hex("00 00"), ee).ok());
  CHECK(parse_encrypted_extensions(hex("00 08 00 00 00 00 00 00 00 00"), ee).alert() ==
        Alert::illegal_parameter);  // server_name twice
  CHECK(parse_encrypted_extensions(hex("00 04 00 00 00 01"), ee).alert() == Alert::decode_error);

  Certificate cert;
  CHECK(parse_certificate(hex("00 00 00 07 00 00 02 30 00 00 00"), cert).ok());
  CHECK(cert.count == 1);
  CHECK(parse_certificate(hex("00 00 00 05 00 00 00 00 00"), cert).alert() ==
        Alert::decode_error);  // empty certificate
  CHECK(parse_certificate(hex("00 00 00 07 00 00 02 30 00 00 01"), cert).alert() ==
        Alert::decode_error);
  CHECK(parse_certificate(hex("00 00 00 0a 00 00 02 30 00 00 03 00 05 00"), cert).alert() ==
        Alert::decode_error);  // bad entry extension block length
  {
    Vec chain;
    Writer w(chain);
    w.u8(0);
    size_t p = w.open_prefix(3);
    for (size_t i = 0; i <= kMaxCertificates; ++i) {
      w.u24(1);
      w.u8(0x30);
      w.u16(0);
    }
    REQUIRE(w.close_prefix(p));
    CHECK(parse_certificate(chain, cert).alert() == Alert::illegal_parameter);
  }

  CertificateVerify cv;
  CHECK(parse_certificate_verify(hex("08 07 00 02 aa bb"), cv).ok());
  CHECK(cv.scheme == kSigEd25519);
  CHECK(parse_certificate_verify(hex("08 07 00 00"), cv).alert() == Alert::decode_error);
  CHECK(parse_certificate_verify(hex("08 07 00 03 aa bb"), cv).alert() == Alert::decode_error);

  Bytes verify;
  CHECK(parse_finished(Vec(32, 7), 32, verify).ok());
  CHECK(parse_finished(Vec(31, 7), 32, verify).alert() == Alert::decode_error);
  CHECK(parse_finished(Vec(48, 7), 32, verify).alert() == Alert::decode_error);

  NewSessionTicket t;
  CHECK(parse_new_session_ticket(hex("00 00 00 1e 00 00 00 01 01 00 00 02 aa bb 00 00"), t).ok());
  CHECK(
      parse_new_session_ticket(hex("00 09 3a 81 00 00 00 01 01 00 00 02 aa bb 00 00"), t).alert() ==
      Alert::illegal_parameter);  // 604801 s
  CHECK(parse_new_session_ticket(hex("00 00 00 1e 00 00 00 01 01 00 00 00 00 00"), t).alert() ==
        Alert::decode_error);  // empty ticket
  CHECK(parse_new_session_ticket(hex("00 00 00 1e 00 00 00 01 01 00 00 02 aa bb 00"), t).alert() ==
        Alert::decode_error);

  bool req = true;
  CHECK(parse_key_update(hex("00"), req).ok());
  CHECK_FALSE(req);
  CHECK(parse_key_update(hex("01"), req).ok());
  CHECK(req);
  CHECK(parse_key_update(hex("02"), req).alert() == Alert::illegal_parameter);
  CHECK(parse_key_update(hex("00 00"), req).alert() == Alert::decode_error);
  CHECK(parse_key_update({}, req).alert() == Alert::decode_error);

  Vec ku;
  REQUIRE(encode_key_update(true, ku));
  CHECK(test::to_hex(ku) == "1800000101");
}

TEST_CASE("encoders refuse fields that do not fit", "[tls13][codec]") {
  ClientHelloFields f;
  f.cipher_suites = {kTlsAes128GcmSha256};
  f.legacy_session_id.assign(33, 0);
  Vec out;
  CHECK_FALSE(encode_client_hello(f, out));
  CHECK(out.empty());
  f.legacy_session_id.assign(32, 0);
  f.extensions.emplace_back(ext::padding, Vec(70000, 0));
  CHECK_FALSE(encode_client_hello(f, out));
  CHECK(out.empty());
  f.extensions.clear();
  REQUIRE(encode_client_hello(f, out));
  ClientHello ch;
  auto h = next_handshake(out);
  REQUIRE(h.state == ParseState::done);
  CHECK(parse_client_hello(h.msg.body, h.msg.raw, ch).ok());
  CHECK(ch.legacy_session_id.size() == 32);

  ServerHelloFields s;
  s.cipher_suite = kTlsAes256GcmSha384;
  s.extensions.emplace_back(ext::supported_versions, Vec{0x03, 0x04});
  Vec sh_out;
  REQUIRE(encode_server_hello(s, sh_out));
  ServerHello sh;
  REQUIRE(parse_server_hello(Bytes(sh_out).subspan(4), sh).ok());
  CHECK(sh.cipher_suite == kTlsAes256GcmSha384);
}

TEST_CASE("GREASE values are recognised", "[tls13][codec]") {
  int count = 0;
  for (uint32_t x = 0; x <= 0xffff; ++x)
    if (is_grease(static_cast<uint16_t>(x))) ++count;
  CHECK(count == 16);
  CHECK(is_grease(0x0a0a));
  CHECK(is_grease(0xfafa));
  CHECK_FALSE(is_grease(0x0a1a));
  CHECK_FALSE(is_grease(kGroupX25519Mlkem768));
}

// Tests for the TLS 1.3 record layer (lib/proto/tls13/record.cpp): framing
// limits, in-place seal/open for the three suites, padding, zero-length
// records, key update, and every failure path.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "proto/tls13/record.hpp"
#include "sluice/buffer.hpp"
#include "support/hex.hpp"

using namespace sluice;
using namespace sluice::tls13;
using test::hex;

namespace {

using Vec = std::vector<uint8_t>;

Slice slice_of(BufferPool& pool, std::span<const uint8_t> b) {
  auto s = pool.get(b.size() ? b.size() : 1);
  REQUIRE(s.has_value());
  if (!b.empty()) std::memcpy(s->append(b.size()), b.data(), b.size());
  return std::move(*s);
}

struct Pair {
  RecordProtection write, read;
};

Pair keyed(uint16_t suite_id) {
  const CipherSuite* suite = find_cipher_suite(suite_id);
  REQUIRE(suite != nullptr);
  Vec secret(suite->hash_len());
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(i * 7 + 1);
  Pair p;
  REQUIRE(p.write.init(*suite, secret).has_value());
  REQUIRE(p.read.init(*suite, secret).has_value());
  return p;
}

}  // namespace

TEST_CASE("record framing: need more, limits, types, versions", "[tls13][record]") {
  const Vec rec = hex("16 03 01 00 02 aa bb 17");
  for (size_t n = 0; n < 7; ++n)
    CHECK(next_record(std::span(rec.data(), n), false).state == ParseState::need_more);
  auto r = next_record(rec, false);
  REQUIRE(r.state == ParseState::done);
  CHECK(r.consumed == 7);
  CHECK(r.record.type == ContentType::handshake);

  CHECK(next_record(hex("18 03 03 00 01 00"), false).error.alert() == Alert::unexpected_message);
  CHECK(next_record(hex("16 02 00 00 01 00"), false).error.alert() == Alert::protocol_version);
  CHECK(next_record(hex("16 03 03 00 00"), false).error.alert() == Alert::decode_error);
  CHECK(next_record(hex("15 03 03 00 00"), true).error.alert() == Alert::decode_error);
  // Zero-length application data is legal.
  CHECK(next_record(hex("17 03 03 00 00"), true).state == ParseState::done);
  // 2^14 plaintext, 2^14 + 256 ciphertext.
  CHECK(next_record(hex("16 03 03 40 00"), false).state == ParseState::need_more);
  CHECK(next_record(hex("16 03 03 40 01"), false).error.alert() == Alert::record_overflow);
  CHECK(next_record(hex("17 03 03 41 00"), true).state == ParseState::need_more);
  CHECK(next_record(hex("17 03 03 41 01"), true).error.alert() == Alert::record_overflow);
  CHECK(next_record(hex("17 03 03 41 00"), false).error.alert() == Alert::record_overflow);
  CHECK(next_record(hex("17 03 03 41 01"), true).error.errc() == Errc::frame_too_large);
}

TEST_CASE("seal/open round trip in place for every suite", "[tls13][record]") {
  BufferPool pool;
  for (uint16_t id : {kTlsAes128GcmSha256, kTlsAes256GcmSha384, kTlsChacha20Poly1305Sha256}) {
    INFO("suite " << id);
    Pair p = keyed(id);
    for (size_t len : {size_t{0}, size_t{1}, size_t{100}, size_t{4000}, kMaxPlaintext}) {
      for (size_t pad : {size_t{0}, size_t{1}, size_t{7}}) {
        if (len + 1 + pad > kMaxPlaintext + 1) continue;
        Vec content(len);
        for (size_t i = 0; i < len; ++i) content[i] = static_cast<uint8_t>(i * 31);
        Slice s = slice_of(pool, content);
        const uint8_t* payload_at = s.data();
        REQUIRE(p.write.seal(s, ContentType::application_data, pad).has_value());
        REQUIRE(s.size() == kRecordHeaderLen + len + 1 + pad + kAeadTagLen);
        CHECK(s.data() + kRecordHeaderLen == payload_at);  // no bytes moved
        auto framed = next_record(s.span(), true);
        REQUIRE(framed.state == ParseState::done);
        REQUIRE(framed.consumed == s.size());
        ContentType type{};
        Outcome o = p.read.open(s, type);
        INFO(o.what());
        REQUIRE(o.ok());
        CHECK(type == ContentType::application_data);
        CHECK(s.data() == payload_at);
        CHECK(Vec(s.data(), s.data() + s.size()) == content);
      }
    }
    CHECK(p.write.sequence() == p.read.sequence());
  }
}

TEST_CASE("seal refuses what does not fit, without changing the Slice", "[tls13][record]") {
  BufferPool pool;
  Pair p = keyed(kTlsAes128GcmSha256);
  Slice big = slice_of(pool, Vec(kMaxPlaintext + 1, 1));
  CHECK(p.write.seal(big, ContentType::application_data).error() == Errc::invalid_argument);
  CHECK(big.size() == kMaxPlaintext + 1);

  Slice full = slice_of(pool, Vec(kMaxPlaintext, 1));
  CHECK(p.write.seal(full, ContentType::application_data, 1).error() == Errc::invalid_argument);
  CHECK(full.size() == kMaxPlaintext);

  auto s = pool.get(SizeClass::k2K);
  REQUIRE(s.has_value());
  std::memset(s->append(kClassPayload[0]), 1, kClassPayload[0]);
  CHECK(p.write.seal(*s, ContentType::application_data, kTailroom).error() ==
        Errc::buffer_too_small);
  CHECK(s->size() == kClassPayload[0]);

  Slice shared = slice_of(pool, Vec(10, 1));
  Slice other = shared;
  CHECK(p.write.seal(shared, ContentType::application_data).error() == Errc::invalid_argument);

  RecordProtection none;
  Slice x = slice_of(pool, Vec(3, 1));
  CHECK(none.seal(x, ContentType::application_data).error() == Errc::invalid_state);
  CHECK(p.write.sequence() == 0);
}

TEST_CASE("open: tampering, truncation, bad inner plaintext", "[tls13][record]") {
  BufferPool pool;
  Pair p = keyed(kTlsChacha20Poly1305Sha256);
  Slice s = slice_of(pool, Vec{1, 2, 3});
  REQUIRE(p.write.seal(s, ContentType::application_data).has_value());
  Vec wire(s.data(), s.data() + s.size());

  ContentType type{};
  for (size_t i = 0; i < wire.size(); ++i) {
    if (i == 3 || i == 4) continue;  // the length is checked before the tag
    Vec bad = wire;
    bad[i] ^= 0x01;
    Slice b = slice_of(pool, bad);
    Outcome o = p.read.open(b, type);
    INFO("byte " << i);
    CHECK(o.alert() == Alert::bad_record_mac);
    CHECK(o.errc() == Errc::decrypt_failed);
  }
  CHECK(p.read.sequence() == 0);  // failures do not advance the sequence
  Slice good = slice_of(pool, wire);
  CHECK(p.read.open(good, type).ok());

  Slice tiny =
      slice_of(pool, hex("17 03 03 00 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"));
  CHECK(p.read.open(tiny, type).alert() == Alert::bad_record_mac);
  Slice mismatch = slice_of(pool, hex("17 03 03 00 20 00"));
  CHECK(p.read.open(mismatch, type).alert() == Alert::internal_error);

  // An all-zero inner plaintext, an empty handshake and a bad inner type.
  auto seal_raw = [&](const Vec& inner) {
    // seal() appends the type byte itself; emulate a peer that sends exactly
    // |inner| by sealing all but its last byte with that byte as the type.
    Vec content(inner.begin(), inner.end() - 1);
    Slice r = slice_of(pool, content);
    REQUIRE(p.write.seal(r, static_cast<ContentType>(inner.back())).has_value());
    return r;
  };
  Slice zeros = seal_raw(Vec{0, 0, 0});
  CHECK(p.read.open(zeros, type).alert() == Alert::unexpected_message);
  Slice empty_hs = seal_raw(Vec{22});
  CHECK(p.read.open(empty_hs, type).alert() == Alert::unexpected_message);
  Slice ccs = seal_raw(Vec{1, 20});
  CHECK(p.read.open(ccs, type).alert() == Alert::unexpected_message);
  Slice empty_app = seal_raw(Vec{23});
  CHECK(p.read.open(empty_app, type).ok());
  CHECK(empty_app.empty());
  CHECK(type == ContentType::application_data);
}

TEST_CASE("key update moves both directions to the next secret", "[tls13][record]") {
  BufferPool pool;
  Pair p = keyed(kTlsAes256GcmSha384);
  const Vec before(p.write.traffic_secret().span().begin(), p.write.traffic_secret().span().end());
  Slice a = slice_of(pool, Vec{9});
  REQUIRE(p.write.seal(a, ContentType::application_data).has_value());
  REQUIRE(p.write.update().has_value());
  CHECK(p.write.sequence() == 0);
  CHECK(Vec(p.write.traffic_secret().span().begin(), p.write.traffic_secret().span().end()) !=
        before);

  // A record under the new key does not open under the old one.
  Slice b = slice_of(pool, Vec{10});
  REQUIRE(p.write.seal(b, ContentType::application_data).has_value());
  ContentType type{};
  REQUIRE(p.read.open(a, type).ok());
  Vec b_wire(b.data(), b.data() + b.size());
  CHECK(p.read.open(b, type).alert() == Alert::bad_record_mac);
  REQUIRE(p.read.update().has_value());
  Slice b2 = slice_of(pool, b_wire);
  REQUIRE(p.read.open(b2, type).ok());
  CHECK(b2.span()[0] == 10);

  RecordProtection none;
  CHECK(none.update().error() == Errc::invalid_state);
}

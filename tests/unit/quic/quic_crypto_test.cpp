// Tests for QUIC packet protection (lib/quic/quic_crypto.cpp): every example
// of RFC 9001 Appendix A reproduced byte for byte through the same callbacks
// ngtcp2 calls, plus round trips, key update and tamper detection.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "quic/quic_crypto.hpp"
#include "rfc9001_vectors.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  Bytes out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nib(s[i]) << 4 | nib(s[i + 1])));
  }
  return out;
}

Bytes span_bytes(const uint8_t* p, size_t n) { return Bytes(p, p + n); }

// Packet describes one example packet to protect.
struct Packet {
  Bytes header;   // unprotected header, ending in the packet number
  size_t pn_len;  // bytes of packet number at the header's end
  uint64_t pn;
  Bytes payload;
};

// Keys is one direction's key material as ngtcp2 holds it.
struct Keys {
  const Suite* suite;
  ngtcp2_crypto_aead aead{};
  ngtcp2_crypto_aead_ctx aead_ctx{};
  ngtcp2_crypto_cipher hp{};
  ngtcp2_crypto_cipher_ctx hp_ctx{};
  uint8_t iv[kIvLen];

  Keys(const Suite& s, const Bytes& secret) : suite(&s) {
    PacketKeys k;
    REQUIRE(derive_packet_keys(s, secret, k));
    ngtcp2_crypto_ctx ctx;
    fill_crypto_ctx(s, ctx);
    aead = ctx.aead;
    hp = ctx.hp;
    REQUIRE(make_aead_ctx(s, {k.key, k.key_len}, aead_ctx));
    REQUIRE(make_cipher_ctx(s, {k.hp, k.key_len}, hp_ctx));
    std::memcpy(iv, k.iv, kIvLen);
  }
  ~Keys() {
    free_aead_ctx(aead_ctx);
    free_cipher_ctx(hp_ctx);
  }
};

// protect applies packet protection as RFC 9001 §5.3-§5.4 (and ngtcp2)
// does: AEAD over the payload with the header as AD, then the header mask
// from the sample taken 4 bytes after the packet number's start.
Bytes protect(const Keys& k, const Packet& p) {
  const size_t hlen = p.header.size();
  const size_t pn_off = hlen - p.pn_len;
  Bytes out(hlen + p.payload.size() + kAeadTagLen);
  std::memcpy(out.data(), p.header.data(), hlen);
  std::memcpy(out.data() + hlen, p.payload.data(), p.payload.size());
  uint8_t nonce[kAeadNonceLen];
  xor_nonce(std::span<const uint8_t, kIvLen>(k.iv, kIvLen), p.pn, nonce);
  REQUIRE(encrypt_cb(out.data() + hlen, &k.aead, &k.aead_ctx, out.data() + hlen, p.payload.size(),
                     nonce, sizeof nonce, out.data(), hlen) == 0);
  uint8_t mask[NGTCP2_HP_SAMPLELEN];
  REQUIRE(hp_mask_cb(mask, &k.hp, &k.hp_ctx, out.data() + pn_off + 4) == 0);
  out[0] ^= mask[0] & ((out[0] & 0x80) ? 0x0f : 0x1f);
  for (size_t i = 0; i < p.pn_len; ++i) out[pn_off + i] ^= mask[1 + i];
  return out;
}

// unprotect reverses protect() for a packet whose packet number starts at
// |pn_off|, and returns the payload (or an empty vector on failure).
Bytes unprotect(const Keys& k, Bytes pkt, size_t pn_off, uint64_t pn) {
  uint8_t mask[NGTCP2_HP_SAMPLELEN];
  REQUIRE(hp_mask_cb(mask, &k.hp, &k.hp_ctx, pkt.data() + pn_off + 4) == 0);
  pkt[0] ^= mask[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f);
  const size_t pn_len = (pkt[0] & 0x03) + 1;
  for (size_t i = 0; i < pn_len; ++i) pkt[pn_off + i] ^= mask[1 + i];
  const size_t hlen = pn_off + pn_len;
  uint8_t nonce[kAeadNonceLen];
  xor_nonce(std::span<const uint8_t, kIvLen>(k.iv, kIvLen), pn, nonce);
  Bytes out(pkt.size() - hlen - kAeadTagLen);
  int rv = decrypt_cb(out.data(), &k.aead, &k.aead_ctx, pkt.data() + hlen, pkt.size() - hlen, nonce,
                      sizeof nonce, pkt.data(), hlen);
  if (rv != 0) return {};
  return out;
}

Packet client_initial() {
  Packet p{hex(rfc9001::kClientHeader), 4, 2, hex(rfc9001::kClientCrypto)};
  p.payload.resize(rfc9001::kClientPayloadLen, 0);  // PADDING frames
  return p;
}

}  // namespace

TEST_CASE("RFC 9001 A.1: Initial secrets and keys", "[quic][crypto]") {
  uint8_t cs[kInitialSecretLen], ss[kInitialSecretLen];
  REQUIRE(derive_initial_secrets(hex(rfc9001::kDcid), cs, ss));
  CHECK(span_bytes(cs, 32) == hex(rfc9001::kClientInitialSecret));
  CHECK(span_bytes(ss, 32) == hex(rfc9001::kServerInitialSecret));

  PacketKeys c, s;
  REQUIRE(derive_packet_keys(kSuiteAes128Gcm, cs, c));
  REQUIRE(derive_packet_keys(kSuiteAes128Gcm, ss, s));
  CHECK(c.key_len == 16);
  CHECK(span_bytes(c.key, 16) == hex(rfc9001::kClientKey));
  CHECK(span_bytes(c.iv, 12) == hex(rfc9001::kClientIv));
  CHECK(span_bytes(c.hp, 16) == hex(rfc9001::kClientHp));
  CHECK(span_bytes(s.key, 16) == hex(rfc9001::kServerKey));
  CHECK(span_bytes(s.iv, 12) == hex(rfc9001::kServerIv));
  CHECK(span_bytes(s.hp, 16) == hex(rfc9001::kServerHp));

  // A connection ID longer than 20 bytes is not a QUIC v1 CID.
  uint8_t long_cid[21] = {};
  CHECK(derive_initial_secrets(long_cid, cs, ss).error() == Errc::invalid_argument);
}

TEST_CASE("RFC 9001 A.2: the protected client Initial, all 1200 bytes", "[quic][crypto]") {
  Keys k(kSuiteAes128Gcm, hex(rfc9001::kClientInitialSecret));
  const Packet p = client_initial();
  const Bytes out = protect(k, p);
  REQUIRE(out.size() == 1200);
  CHECK(Bytes(out.begin() + 22, out.begin() + 38) == hex(rfc9001::kClientSample));
  uint8_t mask[16];
  REQUIRE(hp_mask_cb(mask, &k.hp, &k.hp_ctx, out.data() + 22) == 0);
  CHECK(span_bytes(mask, 5) == hex(rfc9001::kClientMask));
  CHECK(out == hex(rfc9001::kClientProtected));

  // The server opens it with the same (client) Initial keys.
  CHECK(unprotect(k, out, 18, 2) == p.payload);
}

TEST_CASE("RFC 9001 A.3: the protected server Initial", "[quic][crypto]") {
  Keys k(kSuiteAes128Gcm, hex(rfc9001::kServerInitialSecret));
  const Packet p{hex(rfc9001::kServerHeader), 2, 1, hex(rfc9001::kServerPayload)};
  const Bytes out = protect(k, p);
  // The sample starts 4 bytes after the packet number's first byte (18).
  CHECK(Bytes(out.begin() + 22, out.begin() + 38) == hex(rfc9001::kServerSample));
  uint8_t mask[16];
  REQUIRE(hp_mask_cb(mask, &k.hp, &k.hp_ctx, out.data() + 22) == 0);
  CHECK(span_bytes(mask, 5) == hex(rfc9001::kServerMask));
  CHECK(out == hex(rfc9001::kServerProtected));
  CHECK(unprotect(k, out, 18, 1) == p.payload);
}

TEST_CASE("RFC 9001 A.4: the Retry integrity tag", "[quic][crypto]") {
  const Bytes retry = hex(rfc9001::kRetry);
  const Bytes body(retry.begin(), retry.end() - 16);
  uint8_t tag[16];
  REQUIRE(retry_integrity_tag(hex(rfc9001::kDcid), body, tag));
  CHECK(span_bytes(tag, 16) == Bytes(retry.end() - 16, retry.end()));

  // The same tag through the AEAD ctx ngtcp2 uses (ngtcp2_pkt_write_retry
  // and the client's Retry check call encrypt_cb with an empty plaintext
  // and the pseudo-packet as AD).
  ngtcp2_crypto_aead aead;
  ngtcp2_crypto_aead_ctx ctx{};
  REQUIRE(make_retry_aead_ctx(aead, ctx));
  Bytes pseudo;
  const Bytes odcid = hex(rfc9001::kDcid);
  pseudo.push_back(static_cast<uint8_t>(odcid.size()));
  pseudo.insert(pseudo.end(), odcid.begin(), odcid.end());
  pseudo.insert(pseudo.end(), body.begin(), body.end());
  uint8_t tag2[16];
  REQUIRE(encrypt_cb(tag2, &aead, &ctx, nullptr, 0, kRetryNonceV1, 12, pseudo.data(),
                     pseudo.size()) == 0);
  CHECK(span_bytes(tag2, 16) == span_bytes(tag, 16));
  free_aead_ctx(ctx);

  // Another original DCID yields another tag: a Retry is bound to it.
  uint8_t other[16];
  REQUIRE(retry_integrity_tag(hex("0102030405060708"), body, other));
  CHECK(span_bytes(other, 16) != span_bytes(tag, 16));
}

TEST_CASE("RFC 9001 A.5: ChaCha20-Poly1305 short header packet", "[quic][crypto]") {
  const Bytes secret = hex(rfc9001::kChaChaSecret);
  PacketKeys pk;
  REQUIRE(derive_packet_keys(kSuiteChaCha20, secret, pk));
  CHECK(span_bytes(pk.key, 32) == hex(rfc9001::kChaChaKey));
  CHECK(span_bytes(pk.iv, 12) == hex(rfc9001::kChaChaIv));
  CHECK(span_bytes(pk.hp, 32) == hex(rfc9001::kChaChaHp));

  uint8_t ku[32];
  REQUIRE(update_traffic_secret(kSuiteChaCha20, secret, ku));
  CHECK(span_bytes(ku, 32) == hex(rfc9001::kChaChaKu));

  uint8_t nonce[12];
  xor_nonce(std::span<const uint8_t, 12>(pk.iv, 12), rfc9001::kChaChaPn, nonce);
  CHECK(span_bytes(nonce, 12) == hex(rfc9001::kChaChaNonce));

  Keys k(kSuiteChaCha20, secret);
  const Packet p{hex(rfc9001::kChaChaHeader), 3, rfc9001::kChaChaPn, hex("01")};
  const Bytes out = protect(k, p);
  CHECK(Bytes(out.begin() + 5, out.end()) == hex(rfc9001::kChaChaSample));
  uint8_t mask[16];
  REQUIRE(hp_mask_cb(mask, &k.hp, &k.hp_ctx, out.data() + 5) == 0);
  CHECK(span_bytes(mask, 5) == hex(rfc9001::kChaChaMask));
  CHECK(out == hex(rfc9001::kChaChaProtected));
  CHECK(unprotect(k, out, 1, rfc9001::kChaChaPn) == hex("01"));
}

TEST_CASE("AES-256-GCM suite: keys, round trip and HP mask", "[quic][crypto]") {
  // A 48-byte (SHA-384) secret, as TLS_AES_256_GCM_SHA384 produces.
  Bytes secret(48);
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(i * 7 + 1);
  Keys k(kSuiteAes256Gcm, secret);
  const Packet p{hex("4200bff4"), 3, 42, Bytes(300, 0xab)};  // 0x42: 3-byte PN
  const Bytes out = protect(k, p);
  CHECK(out.size() == 4 + 300 + 16);
  CHECK(unprotect(k, out, 1, 42) == p.payload);

  // The HP mask is AES-256-ECB of the sample (msquic's HpMaskAes256 vector:
  // key 00..1f, sample zero -> f29000b62a).
  Bytes key(32);
  for (size_t i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  HpKey* hk = make_hp_key(kSuiteAes256Gcm, key);
  REQUIRE(hk);
  uint8_t zero[16] = {}, mask[16];
  hp_mask(*hk, zero, mask);
  CHECK(span_bytes(mask, 5) == hex("f29000b62a"));
  delete hk;
  // And ChaCha20 (HpMaskChaCha20: key 00..1f, sample zero -> 39fd2b7dd9).
  hk = make_hp_key(kSuiteChaCha20, key);
  hp_mask(*hk, zero, mask);
  CHECK(span_bytes(mask, 5) == hex("39fd2b7dd9"));
  delete hk;
}

TEST_CASE("decrypt_cb reports forgeries as NGTCP2_ERR_DECRYPT", "[quic][crypto]") {
  Keys k(kSuiteAes128Gcm, hex(rfc9001::kServerInitialSecret));
  const Packet p{hex(rfc9001::kServerHeader), 2, 1, hex(rfc9001::kServerPayload)};
  Bytes out = protect(k, p);
  for (size_t pos : {size_t{30}, out.size() - 1}) {
    Bytes bad = out;
    bad[pos] ^= 0x01;
    CHECK(unprotect(k, bad, 18, 1).empty());
  }
  // Too short to hold a tag.
  uint8_t dest[16], nonce[12] = {};
  CHECK(decrypt_cb(dest, &k.aead, &k.aead_ctx, out.data(), 15, nonce, 12, nullptr, 0) ==
        NGTCP2_ERR_DECRYPT);
}

TEST_CASE("suite lookup and limits follow RFC 9001 §6.6", "[quic][crypto]") {
  CHECK(suite_from_tls_id(0x1301) == &kSuiteAes128Gcm);
  CHECK(suite_from_tls_id(0x1302) == &kSuiteAes256Gcm);
  CHECK(suite_from_tls_id(0x1303) == &kSuiteChaCha20);
  CHECK(suite_from_tls_id(0x1304) == nullptr);  // CCM: not offered by BoringSSL
  CHECK(kSuiteAes128Gcm.max_encryption == (1ull << 23));
  CHECK(kSuiteChaCha20.max_decryption_failure == (1ull << 36));
  ngtcp2_crypto_ctx ctx;
  fill_crypto_ctx(kSuiteAes128Gcm, ctx, true);
  CHECK(ctx.max_encryption == 0);
  CHECK(ctx.aead.max_overhead == 16);
}

TEST_CASE("stateless reset tokens are a keyed function of the CID", "[quic][crypto]") {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  StatelessResetKey a(std::span<const uint8_t, 32>(key, 32)),
      b(std::span<const uint8_t, 32>(key, 32));
  StatelessResetKey r;  // random key
  const Bytes cid = hex("0011223344556677");
  uint8_t ta[16], tb[16], tr[16], tc[16];
  a.token(cid, ta);
  b.token(cid, tb);
  r.token(cid, tr);
  a.token(hex("0011223344556678"), tc);
  CHECK(span_bytes(ta, 16) == span_bytes(tb, 16));
  CHECK(span_bytes(ta, 16) != span_bytes(tr, 16));
  CHECK(span_bytes(ta, 16) != span_bytes(tc, 16));
}

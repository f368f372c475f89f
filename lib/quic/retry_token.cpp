// retry_token.cpp: sealing and opening Retry tokens.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic/retry_token.hpp"

#include <netinet/in.h>

#include <cstring>

#include "core/check.hpp"

namespace sluice::quic {

namespace {

constexpr size_t kPlainLen = 8 + 1 + NGTCP2_MAX_CIDLEN;
constexpr char kLabel[] = "sluice quic retry v1";

// make_ad builds the associated data: label, client address, Retry SCID.
size_t make_ad(const sockaddr* client, const ngtcp2_cid& scid, uint8_t* ad) noexcept {
  size_t n = 0;
  std::memcpy(ad, kLabel, sizeof kLabel - 1);
  n += sizeof kLabel - 1;
  if (client->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(client);
    ad[n++] = 6;
    std::memcpy(ad + n, &a->sin6_port, 2);
    n += 2;
    std::memcpy(ad + n, &a->sin6_addr, 16);
    n += 16;
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(client);
    ad[n++] = 4;
    std::memcpy(ad + n, &a->sin_port, 2);
    n += 2;
    std::memcpy(ad + n, &a->sin_addr, 4);
    n += 4;
  }
  ad[n++] = static_cast<uint8_t>(scid.datalen);
  std::memcpy(ad + n, scid.data, scid.datalen);
  n += scid.datalen;
  return n;
}

constexpr size_t kMaxAd = sizeof kLabel - 1 + 1 + 2 + 16 + 1 + NGTCP2_MAX_CIDLEN;

constexpr char kNewTokenLabel[] = "sluice quic new_token v1";
constexpr size_t kMaxNewTokenAd = sizeof kNewTokenLabel - 1 + 1 + 16;

// make_new_token_ad: label, client address family and IP (no port).
size_t make_new_token_ad(const sockaddr* client, uint8_t* ad) noexcept {
  size_t n = sizeof kNewTokenLabel - 1;
  std::memcpy(ad, kNewTokenLabel, n);
  if (client->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(client);
    ad[n++] = 6;
    std::memcpy(ad + n, &a->sin6_addr, 16);
    n += 16;
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(client);
    ad[n++] = 4;
    std::memcpy(ad + n, &a->sin_addr, 4);
    n += 4;
  }
  return n;
}

}  // namespace

RetryTokenKey::RetryTokenKey() noexcept {
  uint8_t key[32];
  random_bytes(key);
  SLUICE_CHECK(aead_.init(AeadAlgorithm::aes_256_gcm, key));
  std::memset(key, 0, sizeof key);
}

RetryTokenKey::RetryTokenKey(std::span<const uint8_t, 32> key) noexcept {
  SLUICE_CHECK(aead_.init(AeadAlgorithm::aes_256_gcm, key));
}

Status RetryTokenKey::set_key(std::span<const uint8_t> key) noexcept {
  if (key.size() != 32) return Errc::invalid_argument;
  // On failure init leaves the Aead empty: keep the old key instead.
  Aead fresh;
  if (Status st = fresh.init(AeadAlgorithm::aes_256_gcm, key); !st) return st;
  aead_ = std::move(fresh);
  return {};
}

Status RetryTokenKey::seal(const sockaddr* client, const ngtcp2_cid& odcid,
                           const ngtcp2_cid& retry_scid, uint64_t now_ms,
                           std::span<uint8_t, kTokenLen> out) const noexcept {
  if (odcid.datalen > NGTCP2_MAX_CIDLEN || retry_scid.datalen > NGTCP2_MAX_CIDLEN)
    return Errc::invalid_argument;
  uint8_t* p = out.data();
  p[0] = kMagic;
  uint8_t* nonce = p + 1;
  random_bytes({nonce, kAeadNonceLen});
  uint8_t* plain = nonce + kAeadNonceLen;
  for (int i = 0; i < 8; ++i) plain[i] = static_cast<uint8_t>(now_ms >> (56 - 8 * i));
  plain[8] = static_cast<uint8_t>(odcid.datalen);
  std::memset(plain + 9, 0, NGTCP2_MAX_CIDLEN);
  std::memcpy(plain + 9, odcid.data, odcid.datalen);
  uint8_t ad[kMaxAd];
  const size_t adlen = make_ad(client, retry_scid, ad);
  return aead_.seal({nonce, kAeadNonceLen}, {ad, adlen}, plain, kPlainLen, plain + kPlainLen);
}

Result<ngtcp2_cid> RetryTokenKey::open(std::span<const uint8_t> token, const sockaddr* client,
                                       const ngtcp2_cid& retry_scid, uint64_t now_ms,
                                       uint64_t lifetime_ms) const noexcept {
  if (token.size() != kTokenLen || token[0] != kMagic) return Errc::malformed;
  if (retry_scid.datalen > NGTCP2_MAX_CIDLEN) return Errc::malformed;
  const uint8_t* nonce = token.data() + 1;
  uint8_t plain[kPlainLen];
  std::memcpy(plain, nonce + kAeadNonceLen, kPlainLen);
  uint8_t ad[kMaxAd];
  const size_t adlen = make_ad(client, retry_scid, ad);
  if (!aead_.open({nonce, kAeadNonceLen}, {ad, adlen}, plain, kPlainLen,
                  nonce + kAeadNonceLen + kPlainLen))
    return Errc::decrypt_failed;
  uint64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = (issued << 8) | plain[i];
  if (issued > now_ms || now_ms - issued > lifetime_ms) return Errc::timed_out;
  // RFC 9000 §7.2: a client's first DCID has at least 8 bytes.
  if (plain[8] < NGTCP2_MIN_INITIAL_DCIDLEN || plain[8] > NGTCP2_MAX_CIDLEN) return Errc::malformed;
  ngtcp2_cid odcid;
  ngtcp2_cid_init(&odcid, plain + 9, plain[8]);
  return odcid;
}

Status RetryTokenKey::seal_new_token(const sockaddr* client, uint64_t now_ms,
                                     std::span<uint8_t, kNewTokenLen> out) const noexcept {
  uint8_t* p = out.data();
  p[0] = kNewTokenMagic;
  uint8_t* nonce = p + 1;
  random_bytes({nonce, kAeadNonceLen});
  uint8_t* plain = nonce + kAeadNonceLen;
  for (int i = 0; i < 8; ++i) plain[i] = static_cast<uint8_t>(now_ms >> (56 - 8 * i));
  uint8_t ad[kMaxNewTokenAd];
  const size_t adlen = make_new_token_ad(client, ad);
  return aead_.seal({nonce, kAeadNonceLen}, {ad, adlen}, plain, 8, plain + 8);
}

Status RetryTokenKey::open_new_token(std::span<const uint8_t> token, const sockaddr* client,
                                     uint64_t now_ms, uint64_t lifetime_ms) const noexcept {
  if (token.size() != kNewTokenLen || token[0] != kNewTokenMagic) return Errc::malformed;
  const uint8_t* nonce = token.data() + 1;
  uint8_t plain[8];
  std::memcpy(plain, nonce + kAeadNonceLen, sizeof plain);
  uint8_t ad[kMaxNewTokenAd];
  const size_t adlen = make_new_token_ad(client, ad);
  if (!aead_.open({nonce, kAeadNonceLen}, {ad, adlen}, plain, sizeof plain,
                  nonce + kAeadNonceLen + sizeof plain))
    return Errc::decrypt_failed;
  uint64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = (issued << 8) | plain[i];
  if (issued > now_ms) {
    if (issued - now_ms > kNewTokenClockSkewMs) return Errc::timed_out;
  } else if (now_ms - issued > lifetime_ms) {
    return Errc::timed_out;
  }
  return {};
}

}  // namespace sluice::quic

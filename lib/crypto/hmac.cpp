// hmac.cpp: Hmac (RFC 2104) built on Digest.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// BoringSSL's HMAC_CTX keeps its three hash states in EVP_MD_CTXs, which
// allocate on init; HMAC is a few lines over the inline SHA contexts, and
// keeping the keyed start states lets a per-packet MAC skip two compressions.
#include <openssl/mem.h>

#include <cstring>

#include "sluice/cipher.hpp"

namespace sluice {

namespace {
constexpr uint8_t kIpad = 0x36;  // RFC 2104 §2
constexpr uint8_t kOpad = 0x5c;
}  // namespace

Hmac::Hmac(DigestAlgorithm alg, std::span<const uint8_t> key) noexcept
    : inner_start_(alg), outer_start_(alg), inner_(alg) {
  const size_t block = digest_block_len(alg);
  uint8_t k[kMaxDigestBlockLen] = {};
  if (key.size() > block) {
    // A key longer than the block is replaced by its hash (RFC 2104 §2).
    (void)Digest::hash(alg, key, k);
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t pad[kMaxDigestBlockLen];
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ kIpad;
  inner_start_.update(pad, block);
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ kOpad;
  outer_start_.update(pad, block);
  OPENSSL_cleanse(k, sizeof(k));
  OPENSSL_cleanse(pad, sizeof(pad));
  inner_ = inner_start_;
}

void Hmac::update(const void* data, size_t len) noexcept { inner_.update(data, len); }

void Hmac::update(std::span<const uint8_t> data) noexcept { inner_.update(data); }

void Hmac::reset() noexcept { inner_ = inner_start_; }

Status Hmac::finish(std::span<uint8_t> out) noexcept {
  const size_t n = size();
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t inner_hash[kMaxDigestLen];
  (void)inner_.finish(inner_hash);
  Digest outer = outer_start_;
  outer.update(inner_hash, n);
  (void)outer.finish(out);
  OPENSSL_cleanse(inner_hash, sizeof(inner_hash));
  inner_ = inner_start_;
  return {};
}

Status Hmac::mac(DigestAlgorithm alg, std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<uint8_t> out) noexcept {
  if (out.size() < digest_len(alg)) return Errc::buffer_too_small;
  Hmac h(alg, key);
  h.update(data);
  return h.finish(out);
}

}  // namespace sluice

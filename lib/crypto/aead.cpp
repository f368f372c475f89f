// aead.cpp: Aead over BoringSSL's EVP_AEAD, held inline (no heap).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/aead.h>
#include <openssl/err.h>
#include <openssl/mem.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "crypto/overlap.hpp"
#include "sluice/cipher.hpp"

namespace sluice {

// The public header cannot include <openssl/aead.h>, so it reserves storage by
// number; these keep that number honest against the BoringSSL we build with.
static_assert(sizeof(EVP_AEAD_CTX) <= Aead::kCtxSize,
              "Aead::kCtxSize is too small for this BoringSSL's EVP_AEAD_CTX");
static_assert(alignof(EVP_AEAD_CTX) <= 16, "Aead::ctx_ is only 16-byte aligned");
static_assert(kAeadTagLen <= EVP_AEAD_MAX_OVERHEAD);
static_assert(kAeadNonceLen <= EVP_AEAD_MAX_NONCE_LENGTH);

namespace {

EVP_AEAD_CTX* ctx_of(unsigned char* storage) noexcept {
  return std::launder(reinterpret_cast<EVP_AEAD_CTX*>(storage));
}
const EVP_AEAD_CTX* ctx_of(const unsigned char* storage) noexcept {
  return std::launder(reinterpret_cast<const EVP_AEAD_CTX*>(storage));
}

const EVP_AEAD* evp_aead(AeadAlgorithm alg) noexcept {
  switch (alg) {
    case AeadAlgorithm::aes_128_gcm:
      return EVP_aead_aes_128_gcm();
    case AeadAlgorithm::aes_256_gcm:
      return EVP_aead_aes_256_gcm();
    case AeadAlgorithm::chacha20_poly1305:
      return EVP_aead_chacha20_poly1305();
  }
  return nullptr;
}

// A zero-length operation may come with null pointers; BoringSSL's alias
// checks want real addresses, so point them at a harmless byte.
uint8_t g_empty_byte;

}  // namespace

size_t aead_key_len(AeadAlgorithm alg) noexcept {
  switch (alg) {
    case AeadAlgorithm::aes_128_gcm:
      return 16;
    case AeadAlgorithm::aes_256_gcm:
      return 32;
    case AeadAlgorithm::chacha20_poly1305:
      return 32;
  }
  return 0;
}

const char* aead_name(AeadAlgorithm alg) noexcept {
  switch (alg) {
    case AeadAlgorithm::aes_128_gcm:
      return "aes-128-gcm";
    case AeadAlgorithm::aes_256_gcm:
      return "aes-256-gcm";
    case AeadAlgorithm::chacha20_poly1305:
      return "chacha20-poly1305";
  }
  return "unknown";
}

bool has_aes_hardware() noexcept { return EVP_has_aes_hardware() != 0; }

AeadAlgorithm preferred_aead(bool aes_256) noexcept {
  if (!has_aes_hardware()) return AeadAlgorithm::chacha20_poly1305;
  return aes_256 ? AeadAlgorithm::aes_256_gcm : AeadAlgorithm::aes_128_gcm;
}

void xor_nonce(std::span<const uint8_t, kAeadNonceLen> iv, uint64_t seq,
               std::span<uint8_t, kAeadNonceLen> out) noexcept {
  std::memmove(out.data(), iv.data(), kAeadNonceLen);
  for (size_t i = 0; i < 8; ++i) {
    out[kAeadNonceLen - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
  }
}

Aead::Aead() noexcept = default;

Aead::~Aead() { clear(); }

// Moving copies the EVP_AEAD_CTX bytes. That is sound because BoringSSL keeps
// the whole key schedule inside the context (the |state| union) with no
// pointer into itself: the AES-GCM state holds the expanded key, the GHASH
// table and function pointers, ChaCha20-Poly1305 just the key. The source is
// then wiped and never cleaned up, so the schedule has exactly one owner.
// (The "a moved Aead still seals" test would catch a self-pointer: the
// source's bytes are zeroed before the destination is used.)
Aead::Aead(Aead&& o) noexcept : alg_(o.alg_), valid_(o.valid_) {
  if (valid_) {
    std::memcpy(ctx_, o.ctx_, sizeof(EVP_AEAD_CTX));
    OPENSSL_cleanse(o.ctx_, sizeof(EVP_AEAD_CTX));
    o.valid_ = false;
  }
}

Aead& Aead::operator=(Aead&& o) noexcept {
  if (this != &o) {
    clear();
    alg_ = o.alg_;
    valid_ = o.valid_;
    if (valid_) {
      std::memcpy(ctx_, o.ctx_, sizeof(EVP_AEAD_CTX));
      OPENSSL_cleanse(o.ctx_, sizeof(EVP_AEAD_CTX));
      o.valid_ = false;
    }
  }
  return *this;
}

void Aead::clear() noexcept {
  if (valid_) {
    EVP_AEAD_CTX_cleanup(ctx_of(ctx_));
    OPENSSL_cleanse(ctx_, sizeof(EVP_AEAD_CTX));
    valid_ = false;
  }
}

Result<Aead> Aead::create(AeadAlgorithm alg, std::span<const uint8_t> key) noexcept {
  Aead a;
  Status st = a.init(alg, key);
  if (!st) return st.error();
  return Result<Aead>(std::move(a));
}

Status Aead::init(AeadAlgorithm alg, std::span<const uint8_t> key) noexcept {
  clear();
  const EVP_AEAD* aead = evp_aead(alg);
  if (aead == nullptr || key.size() != aead_key_len(alg)) return Errc::invalid_argument;
  if (!EVP_AEAD_CTX_init(ctx_of(ctx_), aead, key.data(), key.size(), kAeadTagLen, nullptr)) {
    ERR_clear_error();
    OPENSSL_cleanse(ctx_, sizeof(EVP_AEAD_CTX));
    return Errc::crypto_failure;
  }
  alg_ = alg;
  valid_ = true;
  return {};
}

Status Aead::check_call(std::span<const uint8_t> nonce) const noexcept {
  if (!valid_) return Errc::invalid_state;
  if (nonce.size() != kAeadNonceLen) return Errc::invalid_argument;
  return {};
}

Status Aead::seal(std::span<const uint8_t> nonce, std::span<const uint8_t> ad, uint8_t* inout,
                  size_t len, uint8_t* tag_out) const noexcept {
  return seal_scatter(nonce, ad, inout, len, inout, tag_out);
}

Status Aead::open(std::span<const uint8_t> nonce, std::span<const uint8_t> ad, uint8_t* inout,
                  size_t len, const uint8_t* tag) const noexcept {
  return open_gather(nonce, ad, inout, len, tag, inout);
}

Status Aead::seal_scatter(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                          const uint8_t* in, size_t len, uint8_t* out,
                          uint8_t* tag_out) const noexcept {
  SLUICE_TRY(check_call(nonce));
  if (tag_out == nullptr) return Errc::invalid_argument;
  if (len == 0) {
    in = out = &g_empty_byte;
  } else if (in == nullptr || out == nullptr) {
    return Errc::invalid_argument;
  }
  // BoringSSL requires out == in or no overlap, and a tag that overlaps
  // nothing; a violation would silently produce garbage, so refuse it here.
  if (detail::overlaps_unequal(in, out, len) || detail::overlaps(tag_out, kAeadTagLen, out, len) ||
      detail::overlaps(tag_out, kAeadTagLen, in, len)) {
    return Errc::invalid_argument;
  }
  size_t tag_len = 0;
  if (!EVP_AEAD_CTX_seal_scatter(ctx_of(ctx_), out, tag_out, &tag_len, kAeadTagLen, nonce.data(),
                                 nonce.size(), in, len, nullptr, 0, ad.data(), ad.size())) {
    // Only a message over the algorithm's length limit gets here (GCM: 64 GiB).
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  return {};
}

Status Aead::open_gather(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                         const uint8_t* in, size_t len, const uint8_t* tag,
                         uint8_t* out) const noexcept {
  SLUICE_TRY(check_call(nonce));
  if (tag == nullptr) return Errc::invalid_argument;
  if (len == 0) {
    in = out = &g_empty_byte;
  } else if (in == nullptr || out == nullptr) {
    return Errc::invalid_argument;
  }
  if (detail::overlaps_unequal(in, out, len) || detail::overlaps(tag, kAeadTagLen, out, len)) {
    return Errc::invalid_argument;
  }
  if (!EVP_AEAD_CTX_open_gather(ctx_of(ctx_), out, nonce.data(), nonce.size(), in, len, tag,
                                kAeadTagLen, ad.data(), ad.size())) {
    // Peer input: clear BoringSSL's thread-local error queue so a flood of
    // forged records cannot leave stale entries behind.
    ERR_clear_error();
    return Errc::decrypt_failed;
  }
  return {};
}

Result<size_t> Aead::seal_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                   std::span<uint8_t> buf, size_t len) const noexcept {
  if (Status st = check_call(nonce); !st) return st.error();
  if (len > buf.size() || buf.size() - len < kAeadTagLen) return Errc::buffer_too_small;
  uint8_t* p = buf.data();
  Status st = seal_scatter(nonce, ad, p, len, p, p + len);
  if (!st) return st.error();
  return len + kAeadTagLen;
}

Result<size_t> Aead::open_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                   std::span<uint8_t> buf) const noexcept {
  if (Status st = check_call(nonce); !st) return st.error();
  if (buf.size() < kAeadTagLen) return Errc::decrypt_failed;
  const size_t len = buf.size() - kAeadTagLen;
  uint8_t* p = buf.data();
  Status st = open_gather(nonce, ad, p, len, p + len, p);
  if (!st) return st.error();
  return len;
}

Status Aead::seal_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                           Slice& s) const noexcept {
  SLUICE_TRY(check_call(nonce));
  if (!s.unique()) return Errc::invalid_argument;
  if (s.tailroom() < kAeadTagLen) return Errc::buffer_too_small;
  const size_t len = s.size();
  uint8_t* p = s.mutable_data();
  uint8_t* tag = s.append(kAeadTagLen);
  if (p == nullptr || tag == nullptr) return Errc::internal;  // unique() and tailroom() said yes
  Status st = seal_scatter(nonce, ad, p, len, p, tag);
  if (!st) s.truncate(len);
  return st;
}

Status Aead::open_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                           Slice& s) const noexcept {
  SLUICE_TRY(check_call(nonce));
  if (!s.unique()) return Errc::invalid_argument;
  if (s.size() < kAeadTagLen) return Errc::decrypt_failed;
  const size_t len = s.size() - kAeadTagLen;
  uint8_t* p = s.mutable_data();
  if (p == nullptr) return Errc::internal;
  SLUICE_TRY(open_gather(nonce, ad, p, len, p + len, p));
  s.truncate(len);
  return {};
}

}  // namespace sluice

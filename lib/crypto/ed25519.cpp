// ed25519.cpp: Ed25519 signatures (RFC 8032 §5.1) over BoringSSL's curve25519.h.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/curve25519.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "sluice/cipher.hpp"

namespace sluice {

static_assert(ED25519_PRIVATE_KEY_LEN == kEd25519SeedLen + kEd25519PublicKeyLen);
static_assert(ED25519_PUBLIC_KEY_LEN == kEd25519PublicKeyLen);
static_assert(ED25519_SIGNATURE_LEN == kEd25519SignatureLen);

Status ed25519_verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                      std::span<const uint8_t> signature) noexcept {
  if (public_key.size() != kEd25519PublicKeyLen || signature.size() != kEd25519SignatureLen) {
    return Errc::invalid_argument;
  }
  if (!ED25519_verify(message.data(), message.size(), signature.data(), public_key.data())) {
    return Errc::crypto_failure;
  }
  return {};
}

Ed25519KeyPair Ed25519KeyPair::generate() noexcept {
  uint8_t seed[kEd25519SeedLen];
  RAND_bytes(seed, sizeof(seed));
  Ed25519KeyPair kp;
  uint8_t pub[kEd25519PublicKeyLen];
  ED25519_keypair_from_seed(pub, kp.key_.data(), seed);
  OPENSSL_cleanse(seed, sizeof(seed));
  return kp;
}

Result<Ed25519KeyPair> Ed25519KeyPair::from_seed(std::span<const uint8_t> seed) noexcept {
  if (seed.size() != kEd25519SeedLen) return Errc::invalid_argument;
  Ed25519KeyPair kp;
  uint8_t pub[kEd25519PublicKeyLen];
  // Writes seed || public key into key_, BoringSSL's private key layout.
  ED25519_keypair_from_seed(pub, kp.key_.data(), seed.data());
  return kp;
}

Ed25519KeyPair::~Ed25519KeyPair() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::span<const uint8_t, kEd25519PublicKeyLen> Ed25519KeyPair::public_key() const noexcept {
  return std::span<const uint8_t, kEd25519PublicKeyLen>(key_.data() + kEd25519SeedLen,
                                                        kEd25519PublicKeyLen);
}

std::span<const uint8_t, kEd25519SeedLen> Ed25519KeyPair::seed() const noexcept {
  return std::span<const uint8_t, kEd25519SeedLen>(key_.data(), kEd25519SeedLen);
}

Status Ed25519KeyPair::sign(std::span<const uint8_t> message,
                            std::span<uint8_t> out) const noexcept {
  if (out.size() < kEd25519SignatureLen) return Errc::buffer_too_small;
  // ED25519_sign only fails on allocation failure in builds that hash with
  // an allocating SHA-512; report it rather than hand back a zeroed signature.
  if (!ED25519_sign(out.data(), message.data(), message.size(), key_.data())) {
    return Errc::crypto_failure;
  }
  return {};
}

}  // namespace sluice

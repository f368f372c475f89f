// x25519.cpp: X25519 Diffie-Hellman (RFC 7748) over BoringSSL's curve25519.h.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/curve25519.h>
#include <openssl/mem.h>

#include <algorithm>

#include "sluice/cipher.hpp"

namespace sluice {

static_assert(X25519_PRIVATE_KEY_LEN == kX25519KeyLen && X25519_PUBLIC_VALUE_LEN == kX25519KeyLen &&
              X25519_SHARED_KEY_LEN == kX25519KeyLen);

Status x25519(std::span<const uint8_t> private_key, std::span<const uint8_t> peer_public,
              std::span<uint8_t> out) noexcept {
  if (private_key.size() != kX25519KeyLen || peer_public.size() != kX25519KeyLen) {
    return Errc::invalid_argument;
  }
  if (out.size() < kX25519KeyLen) return Errc::buffer_too_small;
  // BoringSSL's X25519 returns 0 exactly when the output is all zeros, i.e.
  // the peer sent a small-order point; RFC 7748 §6.1 lets us (and TLS 1.3
  // §7.4.2 makes us) refuse, since the "secret" would be known to anyone.
  if (!X25519(out.data(), private_key.data(), peer_public.data())) {
    OPENSSL_cleanse(out.data(), kX25519KeyLen);
    return Errc::bad_key;
  }
  return {};
}

Status x25519_public_from_private(std::span<const uint8_t> private_key,
                                  std::span<uint8_t> out) noexcept {
  if (private_key.size() != kX25519KeyLen) return Errc::invalid_argument;
  if (out.size() < kX25519KeyLen) return Errc::buffer_too_small;
  X25519_public_from_private(out.data(), private_key.data());
  return {};
}

X25519KeyPair X25519KeyPair::generate() noexcept {
  X25519KeyPair kp;
  X25519_keypair(kp.public_.data(), kp.private_.data());
  return kp;
}

Result<X25519KeyPair> X25519KeyPair::from_private(std::span<const uint8_t> private_key) noexcept {
  if (private_key.size() != kX25519KeyLen) return Errc::invalid_argument;
  X25519KeyPair kp;
  std::copy(private_key.begin(), private_key.end(), kp.private_.begin());
  X25519_public_from_private(kp.public_.data(), kp.private_.data());
  return kp;
}

X25519KeyPair::~X25519KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

Status X25519KeyPair::shared_secret(std::span<const uint8_t> peer_public,
                                    std::span<uint8_t> out) const noexcept {
  return x25519(private_, peer_public, out);
}

}  // namespace sluice

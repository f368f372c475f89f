// p256.cpp: see p256.hpp. The curve arithmetic is nist_ecdh.cpp's.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/p256.hpp"

#include <openssl/mem.h>
#include <openssl/nid.h>

#include <algorithm>

#include "crypto/nist_ecdh.hpp"

namespace sluice::crypto {

Result<P256KeyPair> P256KeyPair::from_private(std::span<const uint8_t> scalar) noexcept {
  if (scalar.size() != kP256ScalarLen) return Errc::invalid_argument;
  P256KeyPair kp;
  if (Status st = nist::public_point(NID_X9_62_prime256v1, scalar, kp.public_); !st)
    return st.error();
  std::copy(scalar.begin(), scalar.end(), kp.private_.begin());
  return kp;
}

Result<P256KeyPair> P256KeyPair::generate() noexcept {
  P256KeyPair kp;
  if (Status st = nist::generate(NID_X9_62_prime256v1, kp.private_, kp.public_); !st)
    return st.error();
  return kp;
}

P256KeyPair::~P256KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

Status P256KeyPair::shared_secret(std::span<const uint8_t> peer,
                                  std::span<uint8_t, 32> out) const noexcept {
  return nist::shared_x(NID_X9_62_prime256v1, private_, peer, out);
}

}  // namespace sluice::crypto

// p384.cpp: see p384.hpp. The curve arithmetic is nist_ecdh.cpp's.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/p384.hpp"

#include <openssl/mem.h>
#include <openssl/nid.h>

#include <algorithm>

#include "crypto/nist_ecdh.hpp"

namespace sluice::crypto {

Result<P384KeyPair> P384KeyPair::from_private(std::span<const uint8_t> scalar) noexcept {
  if (scalar.size() != kP384ScalarLen) return Errc::invalid_argument;
  P384KeyPair kp;
  if (Status st = nist::public_point(NID_secp384r1, scalar, kp.public_); !st) return st.error();
  std::copy(scalar.begin(), scalar.end(), kp.private_.begin());
  return kp;
}

Result<P384KeyPair> P384KeyPair::generate() noexcept {
  P384KeyPair kp;
  if (Status st = nist::generate(NID_secp384r1, kp.private_, kp.public_); !st) return st.error();
  return kp;
}

P384KeyPair::~P384KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

Status P384KeyPair::shared_secret(std::span<const uint8_t> peer,
                                  std::span<uint8_t, kP384SecretLen> out) const noexcept {
  return nist::shared_x(NID_secp384r1, private_, peer, out);
}

}  // namespace sluice::crypto

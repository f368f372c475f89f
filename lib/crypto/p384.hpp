// p384.hpp: ECDH over NIST P-384 (secp384r1) as TLS 1.3 uses it (named group
// 0x0018, RFC 8446 §4.2.8.2): uncompressed 97-byte points, the 48-byte
// x-coordinate as the shared secret. Over BoringSSL's libcrypto
// (nist_ecdh.hpp), for sluice's own TLS engine; the twin of p256.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Errors: a peer point that is not 97 bytes, not uncompressed or not on the
// curve is Errc::malformed (TLS answers illegal_parameter); BoringSSL
// failures are crypto_failure. The private scalar is wiped on destruction.
// Threading: distinct objects are independent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/error.hpp"

namespace sluice::crypto {

inline constexpr size_t kP384PointLen = 97;
inline constexpr size_t kP384ScalarLen = 48;
inline constexpr size_t kP384SecretLen = 48;

class P384KeyPair {
 public:
  // generate makes a fresh key pair from BoringSSL's RNG.
  static Result<P384KeyPair> generate() noexcept;
  // from_private derives the public point of a 48-byte big-endian scalar
  // (tests and fixed traces); invalid_argument if it is 0 or >= the order.
  static Result<P384KeyPair> from_private(std::span<const uint8_t> scalar) noexcept;

  ~P384KeyPair();
  P384KeyPair(const P384KeyPair&) noexcept = default;
  P384KeyPair& operator=(const P384KeyPair&) noexcept = default;

  // public_key is the uncompressed point 04 || X || Y.
  std::span<const uint8_t, kP384PointLen> public_key() const noexcept { return public_; }

  // shared_secret writes the x-coordinate of scalar * |peer| to |out|.
  [[nodiscard]] Status shared_secret(std::span<const uint8_t> peer,
                                     std::span<uint8_t, kP384SecretLen> out) const noexcept;

 private:
  P384KeyPair() noexcept = default;
  std::array<uint8_t, kP384ScalarLen> private_{};
  std::array<uint8_t, kP384PointLen> public_{};
};

}  // namespace sluice::crypto

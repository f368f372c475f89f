// p256.hpp: ECDH over NIST P-256 (secp256r1) as TLS 1.3 uses it (named group
// 0x0017, RFC 8446 §4.2.8.2): uncompressed 65-byte points, the 32-byte
// x-coordinate as the shared secret. Over BoringSSL's libcrypto, for sluice's
// own TLS engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Errors: a peer point that is not 65 bytes, not uncompressed or not on the
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

inline constexpr size_t kP256PointLen = 65;
inline constexpr size_t kP256ScalarLen = 32;

class P256KeyPair {
 public:
  // generate makes a fresh key pair from BoringSSL's RNG.
  static Result<P256KeyPair> generate() noexcept;
  // from_private derives the public point of a 32-byte big-endian scalar
  // (tests and fixed traces); invalid_argument if it is 0 or >= the order.
  static Result<P256KeyPair> from_private(std::span<const uint8_t> scalar) noexcept;

  ~P256KeyPair();
  P256KeyPair(const P256KeyPair&) noexcept = default;
  P256KeyPair& operator=(const P256KeyPair&) noexcept = default;

  // public_key is the uncompressed point 04 || X || Y.
  std::span<const uint8_t, kP256PointLen> public_key() const noexcept { return public_; }

  // shared_secret writes the x-coordinate of scalar * |peer| to |out|.
  [[nodiscard]] Status shared_secret(std::span<const uint8_t> peer,
                                     std::span<uint8_t, 32> out) const noexcept;

 private:
  P256KeyPair() noexcept = default;
  std::array<uint8_t, kP256ScalarLen> private_{};
  std::array<uint8_t, kP256PointLen> public_{};
};

}  // namespace sluice::crypto

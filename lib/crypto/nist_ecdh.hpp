// nist_ecdh.hpp: the ECDH steps P-256 and P-384 share (p256.cpp, p384.cpp),
// over BoringSSL's EC functions: the public point of a scalar and the
// x-coordinate of scalar * peer, with uncompressed points (SEC 1 §2.3.3) as
// TLS 1.3 sends them (RFC 8446 §4.2.8.2). Internal to lib/crypto.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/error.hpp"

namespace sluice::crypto::nist {

// public_point writes the uncompressed point of |scalar| (big-endian) on the
// curve |nid| to |out| (exactly the point's length). invalid_argument if the
// scalar is 0 or not below the group order.
[[nodiscard]] Status public_point(int nid, std::span<const uint8_t> scalar,
                                  std::span<uint8_t> out) noexcept;

// shared_x writes the x-coordinate of scalar * |peer| to |out| (the field
// length). malformed if |peer| is not an uncompressed point of |out|'s
// curve's length on the curve.
[[nodiscard]] Status shared_x(int nid, std::span<const uint8_t> scalar,
                              std::span<const uint8_t> peer, std::span<uint8_t> out) noexcept;

// generate_scalar fills |scalar| with a random valid scalar for |nid| and
// |pub| with its point.
[[nodiscard]] Status generate(int nid, std::span<uint8_t> scalar, std::span<uint8_t> pub) noexcept;

}  // namespace sluice::crypto::nist

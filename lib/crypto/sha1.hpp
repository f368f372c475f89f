// sha1.hpp: SHA-1 (FIPS 180-4), for the formats that are defined with it.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// SHA-1 is broken for collision resistance; sluice uses it only where a wire
// or config format fixes it as a name-to-id mapping (VLESS UUIDv5 user ids,
// RFC 4122 section 4.3), never to authenticate anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace sluice::crypto {

inline constexpr size_t kSha1Len = 20;

// sha1 writes SHA-1(parts[0] || parts[1] || ...) to |out|.
void sha1(std::initializer_list<std::span<const uint8_t>> parts,
          std::span<uint8_t, kSha1Len> out) noexcept;

}  // namespace sluice::crypto

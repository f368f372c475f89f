// overlap.hpp: pointer-range overlap tests for the in-place cipher calls.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// BoringSSL's in-place AEAD contract is "output == input, or no overlap at
// all"; a partial overlap silently yields garbage. The wrappers check it with
// these helpers (integer compares, since comparing unrelated pointers with <
// is unspecified).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::detail {

// overlaps reports whether [a, a+a_len) and [b, b+b_len) share a byte.
inline bool overlaps(const void* a, size_t a_len, const void* b, size_t b_len) noexcept {
  if (a_len == 0 || b_len == 0) return false;
  const auto x = reinterpret_cast<uintptr_t>(a);
  const auto y = reinterpret_cast<uintptr_t>(b);
  return x < y + b_len && y < x + a_len;
}

// overlaps_unequal reports whether two |len|-byte ranges overlap without
// starting at the same address.
inline bool overlaps_unequal(const void* a, const void* b, size_t len) noexcept {
  return a != b && overlaps(a, len, b, len);
}

}  // namespace sluice::detail

// ct.hpp: constant-time helpers for the post-quantum code, and the hooks a
// valgrind build uses to check that secrets never steer a branch or an index.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The check (tests/unit/crypto/pq/mlkem768_ctgrind.cpp) compiles lib/crypto/pq with
// SLUICE_PQ_CTGRIND defined, marks secret inputs undefined with
// VALGRIND_MAKE_MEM_UNDEFINED, and runs under memcheck: any conditional jump or
// address computed from an undefined byte is reported. Values that are public
// by design although computed from secrets (ρ, an encapsulation key) are
// declassified with SLUICE_PQ_DECLASSIFY; in normal builds that is a no-op.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(SLUICE_PQ_CTGRIND)
#include <valgrind/memcheck.h>
#define SLUICE_PQ_DECLASSIFY(ptr, len) ((void)VALGRIND_MAKE_MEM_DEFINED((ptr), (len)))
#else
#define SLUICE_PQ_DECLASSIFY(ptr, len) ((void)(ptr), (void)(len))
#endif

namespace sluice::pq::ct {

// value_barrier hides |v| from the optimiser so it cannot turn mask
// arithmetic on it back into a branch.
inline uint32_t value_barrier(uint32_t v) noexcept {
  __asm__("" : "+r"(v));
  return v;
}

// differ_mask returns 0xffffffff if the bytes of |a| and |b| differ anywhere
// and 0 otherwise, reading every byte and branching on none.
inline uint32_t differ_mask(const uint8_t* a, const uint8_t* b, size_t len) noexcept {
  uint32_t diff = 0;
  for (size_t i = 0; i < len; ++i) diff |= static_cast<uint32_t>(a[i] ^ b[i]);
  // (diff | -diff) has its top bit set iff diff != 0 (diff < 2^8).
  const uint32_t bit = value_barrier((diff | (0u - diff)) >> 31);
  return 0u - bit;
}

// select_bytes sets out = mask ? b : a, byte-wise; |mask| is 0 or all ones.
inline void select_bytes(uint8_t* out, const uint8_t* a, const uint8_t* b, size_t len,
                         uint32_t mask) noexcept {
  const auto m = static_cast<uint8_t>(mask);
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(a[i] ^ (m & (a[i] ^ b[i])));
}

}  // namespace sluice::pq::ct

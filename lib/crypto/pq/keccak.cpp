// keccak.cpp: Keccak-f[1600] and the sponge (FIPS 202).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Speed matters here: one ML-KEM-768 key generation runs the permutation about
// fifty times, and the TLS hybrid key share sits on every REALITY handshake.
// The permutation therefore keeps the 25 lanes in named locals (the compiler
// holds most in registers), fuses θ, ρ, π, χ and ι into one pass per round,
// and alternates between two lane sets so no round copies its state back.
// Constants are derived at compile time from the spec's own definitions
// (Algorithms 2 and 5) rather than typed in, so they cannot be mistyped.
#include "crypto/pq/keccak.hpp"

#include <bit>
#include <cstring>

#include <openssl/mem.h>

#include "core/check.hpp"

namespace sluice::pq {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the sponge maps bytes onto lanes with memcpy: little-endian hosts only");

// rc_bit is rc(t) of FIPS 202 Algorithm 5: one output bit of an LFSR over
// GF(2)[x] / (x^8 + x^6 + x^5 + x^4 + 1). Bit i of |r| holds R[i].
constexpr uint64_t rc_bit(unsigned t) {
  if (t % 255 == 0) return 1;
  unsigned r = 1;  // R = 10000000
  for (unsigned i = 1; i <= t % 255; ++i) {
    r <<= 1;  // R = 0 || R, so R[8] is the old R[7]
    const unsigned r8 = (r >> 8) & 1;
    r ^= r8 | (r8 << 4) | (r8 << 5) | (r8 << 6);
    r &= 0xff;  // Trunc8
  }
  return r & 1;
}

// round_constant is RC for round |ir| (FIPS 202 Algorithm 6 steps 2-3, w = 64):
// bit 2^j - 1 is rc(j + 7 ir) for j = 0..6.
constexpr uint64_t round_constant(unsigned ir) {
  uint64_t rc = 0;
  for (unsigned j = 0; j <= 6; ++j) rc |= rc_bit(j + 7 * ir) << ((1u << j) - 1);
  return rc;
}

struct RoundConstants {
  uint64_t v[24];
};
constexpr RoundConstants make_round_constants() {
  RoundConstants t{};
  for (unsigned i = 0; i < 24; ++i) t.v[i] = round_constant(i);
  return t;
}
constexpr RoundConstants kRc = make_round_constants();
static_assert(kRc.v[0] == 0x0000000000000001ull && kRc.v[23] == 0x8000000080008008ull,
              "round constants: first and last match FIPS 202 / Keccak reference");

constexpr uint64_t rotl(uint64_t v, int n) { return std::rotl(v, n); }

// SLUICE_KECCAK_ROUND computes E = Rnd(A, rc) (FIPS 202 §3.3) for lane sets
// named A00..A24 and E00..E24. θ's column parities C and D come first; each
// output row Y then reads its five inputs through π (B[X,Y] comes from lane
// ((X + 3Y) mod 5, X)), applies θ's D and ρ's offset (Algorithm 2, listed
// per source lane), and runs χ and, for lane 0, ι. Generated from those two
// rules by a short script, so each index is mechanical.
#define SLUICE_KECCAK_ROUND(A, E, rc)                          \
  do {                                                         \
    const uint64_t c0 = A##00 ^ A##05 ^ A##10 ^ A##15 ^ A##20; \
    const uint64_t c1 = A##01 ^ A##06 ^ A##11 ^ A##16 ^ A##21; \
    const uint64_t c2 = A##02 ^ A##07 ^ A##12 ^ A##17 ^ A##22; \
    const uint64_t c3 = A##03 ^ A##08 ^ A##13 ^ A##18 ^ A##23; \
    const uint64_t c4 = A##04 ^ A##09 ^ A##14 ^ A##19 ^ A##24; \
    const uint64_t d0 = c4 ^ rotl(c1, 1);                      \
    const uint64_t d1 = c0 ^ rotl(c2, 1);                      \
    const uint64_t d2 = c1 ^ rotl(c3, 1);                      \
    const uint64_t d3 = c2 ^ rotl(c4, 1);                      \
    const uint64_t d4 = c3 ^ rotl(c0, 1);                      \
    {                                                          \
      const uint64_t b00 = rotl(A##00 ^ d0, 0);                \
      const uint64_t b01 = rotl(A##06 ^ d1, 44);               \
      const uint64_t b02 = rotl(A##12 ^ d2, 43);               \
      const uint64_t b03 = rotl(A##18 ^ d3, 21);               \
      const uint64_t b04 = rotl(A##24 ^ d4, 14);               \
      E##00 = b00 ^ (~b01 & b02);                              \
      E##01 = b01 ^ (~b02 & b03);                              \
      E##02 = b02 ^ (~b03 & b04);                              \
      E##03 = b03 ^ (~b04 & b00);                              \
      E##04 = b04 ^ (~b00 & b01);                              \
    }                                                          \
    {                                                          \
      const uint64_t b10 = rotl(A##03 ^ d3, 28);               \
      const uint64_t b11 = rotl(A##09 ^ d4, 20);               \
      const uint64_t b12 = rotl(A##10 ^ d0, 3);                \
      const uint64_t b13 = rotl(A##16 ^ d1, 45);               \
      const uint64_t b14 = rotl(A##22 ^ d2, 61);               \
      E##05 = b10 ^ (~b11 & b12);                              \
      E##06 = b11 ^ (~b12 & b13);                              \
      E##07 = b12 ^ (~b13 & b14);                              \
      E##08 = b13 ^ (~b14 & b10);                              \
      E##09 = b14 ^ (~b10 & b11);                              \
    }                                                          \
    {                                                          \
      const uint64_t b20 = rotl(A##01 ^ d1, 1);                \
      const uint64_t b21 = rotl(A##07 ^ d2, 6);                \
      const uint64_t b22 = rotl(A##13 ^ d3, 25);               \
      const uint64_t b23 = rotl(A##19 ^ d4, 8);                \
      const uint64_t b24 = rotl(A##20 ^ d0, 18);               \
      E##10 = b20 ^ (~b21 & b22);                              \
      E##11 = b21 ^ (~b22 & b23);                              \
      E##12 = b22 ^ (~b23 & b24);                              \
      E##13 = b23 ^ (~b24 & b20);                              \
      E##14 = b24 ^ (~b20 & b21);                              \
    }                                                          \
    {                                                          \
      const uint64_t b30 = rotl(A##04 ^ d4, 27);               \
      const uint64_t b31 = rotl(A##05 ^ d0, 36);               \
      const uint64_t b32 = rotl(A##11 ^ d1, 10);               \
      const uint64_t b33 = rotl(A##17 ^ d2, 15);               \
      const uint64_t b34 = rotl(A##23 ^ d3, 56);               \
      E##15 = b30 ^ (~b31 & b32);                              \
      E##16 = b31 ^ (~b32 & b33);                              \
      E##17 = b32 ^ (~b33 & b34);                              \
      E##18 = b33 ^ (~b34 & b30);                              \
      E##19 = b34 ^ (~b30 & b31);                              \
    }                                                          \
    {                                                          \
      const uint64_t b40 = rotl(A##02 ^ d2, 62);               \
      const uint64_t b41 = rotl(A##08 ^ d3, 55);               \
      const uint64_t b42 = rotl(A##14 ^ d4, 39);               \
      const uint64_t b43 = rotl(A##15 ^ d0, 41);               \
      const uint64_t b44 = rotl(A##21 ^ d1, 2);                \
      E##20 = b40 ^ (~b41 & b42);                              \
      E##21 = b41 ^ (~b42 & b43);                              \
      E##22 = b42 ^ (~b43 & b44);                              \
      E##23 = b43 ^ (~b44 & b40);                              \
      E##24 = b44 ^ (~b40 & b41);                              \
    }                                                          \
    E##00 ^= (rc);                                             \
  } while (0)

#define SLUICE_KECCAK_LANES(P)                                                                 \
  uint64_t P##00, P##01, P##02, P##03, P##04, P##05, P##06, P##07, P##08, P##09, P##10, P##11, \
      P##12, P##13, P##14, P##15, P##16, P##17, P##18, P##19, P##20, P##21, P##22, P##23, P##24

}  // namespace

void keccak_f1600(uint64_t s[25]) noexcept {
  SLUICE_KECCAK_LANES(a);
  SLUICE_KECCAK_LANES(e);
  a00 = s[0];
  a01 = s[1];
  a02 = s[2];
  a03 = s[3];
  a04 = s[4];
  a05 = s[5];
  a06 = s[6];
  a07 = s[7];
  a08 = s[8];
  a09 = s[9];
  a10 = s[10];
  a11 = s[11];
  a12 = s[12];
  a13 = s[13];
  a14 = s[14];
  a15 = s[15];
  a16 = s[16];
  a17 = s[17];
  a18 = s[18];
  a19 = s[19];
  a20 = s[20];
  a21 = s[21];
  a22 = s[22];
  a23 = s[23];
  a24 = s[24];
  // Two rounds per iteration, A -> E -> A, so the state never moves.
  for (unsigned ir = 0; ir < 24; ir += 2) {
    SLUICE_KECCAK_ROUND(a, e, kRc.v[ir]);
    SLUICE_KECCAK_ROUND(e, a, kRc.v[ir + 1]);
  }
  s[0] = a00;
  s[1] = a01;
  s[2] = a02;
  s[3] = a03;
  s[4] = a04;
  s[5] = a05;
  s[6] = a06;
  s[7] = a07;
  s[8] = a08;
  s[9] = a09;
  s[10] = a10;
  s[11] = a11;
  s[12] = a12;
  s[13] = a13;
  s[14] = a14;
  s[15] = a15;
  s[16] = a16;
  s[17] = a17;
  s[18] = a18;
  s[19] = a19;
  s[20] = a20;
  s[21] = a21;
  s[22] = a22;
  s[23] = a23;
  s[24] = a24;
}

#undef SLUICE_KECCAK_ROUND
#undef SLUICE_KECCAK_LANES

namespace {

// xor_bytes XORs |len| bytes into the state starting at byte |offset|. Lanes
// are little-endian, so the state's bytes are simply its memory image.
inline void xor_bytes(uint64_t state[25], size_t offset, const uint8_t* data, size_t len) {
  auto* bytes = reinterpret_cast<uint8_t*>(state);
  for (size_t i = 0; i < len; ++i) bytes[offset + i] ^= data[i];
}

// xor_block XORs one whole |rate|-byte block, a lane at a time.
inline void xor_block(uint64_t state[25], const uint8_t* data, size_t rate) {
  for (size_t i = 0; i < rate / 8; ++i) {
    uint64_t lane;
    std::memcpy(&lane, data + 8 * i, 8);
    state[i] ^= lane;
  }
}

}  // namespace

KeccakSponge::~KeccakSponge() { OPENSSL_cleanse(state_, sizeof(state_)); }

void KeccakSponge::reset() noexcept {
  OPENSSL_cleanse(state_, sizeof(state_));
  pos_ = 0;
  squeezing_ = false;
}

void KeccakSponge::absorb(const uint8_t* data, size_t len) noexcept {
  SLUICE_CHECK(!squeezing_);
  if (pos_ != 0) {
    const size_t take = len < rate_ - pos_ ? len : rate_ - pos_;
    xor_bytes(state_, pos_, data, take);
    pos_ += take;
    data += take;
    len -= take;
    if (pos_ < rate_) return;
    keccak_f1600(state_);
    pos_ = 0;
  }
  while (len >= rate_) {
    xor_block(state_, data, rate_);
    keccak_f1600(state_);
    data += rate_;
    len -= rate_;
  }
  if (len != 0) xor_bytes(state_, 0, data, len);
  pos_ = len;
}

// finalize applies the suffix and pad10*1 (FIPS 202 §5.1; the suffix byte
// carries the first 1 of the padding) and permutes once, leaving the first
// output block ready at position 0.
void KeccakSponge::finalize() noexcept {
  auto* bytes = reinterpret_cast<uint8_t*>(state_);
  bytes[pos_] ^= suffix_;
  bytes[rate_ - 1] ^= 0x80;
  keccak_f1600(state_);
  pos_ = 0;
  squeezing_ = true;
}

void KeccakSponge::squeeze(uint8_t* out, size_t len) noexcept {
  if (!squeezing_) finalize();
  const auto* bytes = reinterpret_cast<const uint8_t*>(state_);
  while (len != 0) {
    if (pos_ == rate_) {
      keccak_f1600(state_);
      pos_ = 0;
    }
    const size_t take = len < rate_ - pos_ ? len : rate_ - pos_;
    std::memcpy(out, bytes + pos_, take);
    pos_ += take;
    out += take;
    len -= take;
  }
}

void KeccakSponge::squeeze_blocks(uint8_t* out, size_t nblocks) noexcept {
  if (!squeezing_) finalize();
  SLUICE_CHECK(pos_ == 0 || pos_ == rate_);
  for (size_t i = 0; i < nblocks; ++i) {
    if (pos_ == rate_) keccak_f1600(state_);
    std::memcpy(out, state_, rate_);
    pos_ = rate_;
    out += rate_;
  }
}

}  // namespace sluice::pq

// mlkem_poly.cpp: R_q arithmetic, NTT, sampling and encodings for ML-KEM
// (FIPS 203 §4). See mlkem_poly.hpp for domains, bounds and the constant-time
// rules.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/pq/mlkem_poly.hpp"

#include <cstring>

#include <openssl/mem.h>

#include "crypto/pq/sha3.hpp"

namespace sluice::pq::mlkem {
namespace {

// --- constants, derived at compile time from q = 3329 and ζ = 17 ----------

constexpr int32_t kQ32 = kQ;

// kQInv is q^-1 mod 2^16 (Newton iteration doubles the correct low bits).
constexpr uint16_t make_qinv() {
  uint32_t x = kQ32;  // correct to 1 bit: q is odd
  for (int i = 0; i < 5; ++i) x = (x * (2u - kQ32 * x)) & 0xffffu;
  return static_cast<uint16_t>(x);
}
constexpr uint16_t kQInv = make_qinv();
static_assert((kQInv * kQ32 & 0xffff) == 1);

constexpr int32_t pow_mod(int32_t b, int32_t e) {
  int64_t r = 1;
  int64_t x = b;
  while (e > 0) {
    if (e & 1) r = r * x % kQ32;
    x = x * x % kQ32;
    e >>= 1;
  }
  return static_cast<int32_t>(r);
}
constexpr int32_t kR = (1 << 16) % kQ32;          // R mod q
constexpr int32_t kR2 = int64_t{kR} * kR % kQ32;  // R^2 mod q
// kInvNttScale is 128^-1 (3303, Algorithm 10 step 14) times R^2, so a
// Montgomery multiplication by it scales by 128^-1 and by R.
constexpr int32_t kInv128 = pow_mod(128, kQ32 - 2);
static_assert(kInv128 == 3303, "FIPS 203 Algorithm 10: f <- f * 3303");
constexpr int32_t kInvNttScale = int64_t{kInv128} * kR2 % kQ32;

constexpr unsigned bitrev7(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 7; ++i) r |= ((x >> i) & 1u) << (6 - i);
  return r;
}

// to_mont_centered returns v R mod q in (-q/2, q/2], the form fqmul expects
// for constants (smaller operands keep products far from the bound).
constexpr int16_t to_mont_centered(int32_t v) {
  int32_t m = static_cast<int32_t>(int64_t{v} * kR % kQ32);
  if (m > kQ32 / 2) m -= kQ32;
  return static_cast<int16_t>(m);
}

struct Tables {
  int16_t zetas[128];   // ζ^BitRev7(k) R mod q (Algorithms 9 and 10)
  int16_t gammas[128];  // ζ^(2 BitRev7(i) + 1) R mod q (Algorithm 11)
};
constexpr Tables make_tables() {
  Tables t{};
  for (unsigned k = 0; k < 128; ++k) {
    t.zetas[k] = to_mont_centered(pow_mod(17, static_cast<int32_t>(bitrev7(k))));
    t.gammas[k] = to_mont_centered(pow_mod(17, static_cast<int32_t>(2 * bitrev7(k) + 1)));
  }
  return t;
}
constexpr Tables kTables = make_tables();
static_assert(pow_mod(17, 128) == kQ32 - 1, "ζ = 17 is a primitive 256th root of unity mod q");

// --- reductions -------------------------------------------------------------

// montgomery_reduce returns a R^-1 mod q with |result| < q for
// |a| < q 2^15. C++20 defines the narrowing casts and >> on negatives.
inline int16_t montgomery_reduce(int32_t a) {
  const auto t = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(a) * kQInv));
  return static_cast<int16_t>((a - int32_t{t} * kQ32) >> 16);
}

inline int16_t fqmul(int16_t a, int16_t b) { return montgomery_reduce(int32_t{a} * b); }

// barrett_reduce returns the representative of a mod q in about
// [-(q-1)/2, (q-1)/2] for any int16 a, using v = round(2^26 / q).
constexpr int32_t kBarrettV = ((1 << 26) + kQ32 / 2) / kQ32;
inline int16_t barrett_reduce(int16_t a) {
  const int32_t t = (kBarrettV * a + (1 << 25)) >> 26;
  return static_cast<int16_t>(a - t * kQ32);
}

// canonical maps any int16 to [0, q): Barrett, then add q under a mask.
inline uint16_t canonical(int16_t a) {
  int16_t r = barrett_reduce(a);
  r = static_cast<int16_t>(r + ((r >> 15) & kQ));
  return static_cast<uint16_t>(r);
}

// --- division-free Compress (FIPS 203 §4.2.1, eq. 4.7) ----------------------
//
// Compress_d(x) = round(2^d x / q) mod 2^d = floor((2^d x + (q-1)/2) / q)
// mod 2^d (q is odd, so no ties). The division is a multiplication by
// kDivM = ceil(2^34 / q) and a shift by 34, exact for numerators below 2^22
// because kDivM q - 2^34 <= 2^(34-22); d <= 10 keeps numerators below
// 3328 * 2^10 + 1664 < 2^22. A literal '/' might become a variable-time
// division instruction on some targets; this cannot.
constexpr uint64_t kDivShift = 34;
constexpr uint64_t kDivM = ((uint64_t{1} << kDivShift) + kQ32 - 1) / kQ32;
static_assert(kDivM * kQ32 - (uint64_t{1} << kDivShift) <= (uint64_t{1} << (kDivShift - 22)));

inline uint32_t div_q(uint32_t n) {
  return static_cast<uint32_t>((uint64_t{n} * kDivM) >> kDivShift);
}

// compress takes x in [0, q).
inline uint32_t compress(uint32_t x, int d) {
  return div_q((x << d) + (kQ32 - 1) / 2) & ((1u << d) - 1);
}

// decompress is Decompress_d(y) = round(q y / 2^d) (§4.2.1, eq. 4.8).
inline int16_t decompress(uint32_t y, int d) {
  return static_cast<int16_t>((y * kQ32 + (1u << (d - 1))) >> d);
}

}  // namespace

uint16_t compress_for_test(uint16_t x, int d) noexcept {
  return static_cast<uint16_t>(compress(x, d));
}
uint16_t decompress_for_test(uint16_t y, int d) noexcept {
  return static_cast<uint16_t>(decompress(y, d));
}

void reduce_all(Poly* p) noexcept {
  for (auto& c : p->c) c = barrett_reduce(c);
}

void add(Poly* r, const Poly& a, const Poly& b) noexcept {
  for (int i = 0; i < kN; ++i) r->c[i] = static_cast<int16_t>(a.c[i] + b.c[i]);
}

void sub(Poly* r, const Poly& a, const Poly& b) noexcept {
  for (int i = 0; i < kN; ++i) r->c[i] = static_cast<int16_t>(a.c[i] - b.c[i]);
}

// Each layer adds at most q to a coefficient's magnitude (|fqmul| < q), so
// after seven layers |c| < 8q < 2^15: no reduction is needed until the end.
void ntt(Poly* p) noexcept {
  int16_t* f = p->c;
  unsigned k = 1;
  for (int len = 128; len >= 2; len >>= 1) {
    for (int start = 0; start < kN; start += 2 * len) {
      const int16_t zeta = kTables.zetas[k++];
      for (int j = start; j < start + len; ++j) {
        const int16_t t = fqmul(zeta, f[j + len]);
        f[j + len] = static_cast<int16_t>(f[j] - t);
        f[j] = static_cast<int16_t>(f[j] + t);
      }
    }
  }
  reduce_all(p);
}

// The sum in each butterfly is Barrett-reduced at once, so every coefficient
// stays below q and the difference below 2q: no layer can overflow.
void inv_ntt_from_mont(Poly* p) noexcept {
  int16_t* f = p->c;
  unsigned k = 127;
  for (int len = 2; len <= 128; len <<= 1) {
    for (int start = 0; start < kN; start += 2 * len) {
      const int16_t zeta = kTables.zetas[k--];
      for (int j = start; j < start + len; ++j) {
        const int16_t t = f[j];
        f[j] = barrett_reduce(static_cast<int16_t>(t + f[j + len]));
        f[j + len] = fqmul(zeta, static_cast<int16_t>(f[j + len] - t));
      }
    }
  }
  for (int j = 0; j < kN; ++j) f[j] = fqmul(f[j], static_cast<int16_t>(kInvNttScale));
}

void to_plain_from_mont(Poly* p) noexcept {
  for (auto& c : p->c) c = fqmul(c, static_cast<int16_t>(kR2));
}

void base_mul_acc(BaseMulAcc* acc, const Poly& a, const Poly& b, bool first) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    const int32_t a0 = a.c[2 * i], a1 = a.c[2 * i + 1];
    const int32_t b0 = b.c[2 * i], b1 = b.c[2 * i + 1];
    // c0 = a0 b0 + a1 b1 γ: a1 b1 is reduced first (it picks up R^-1), and
    // γ is stored times R, so both terms carry the same R after summing.
    const int32_t c0 =
        a0 * b0 +
        int32_t{fqmul(static_cast<int16_t>(a1), static_cast<int16_t>(b1))} * kTables.gammas[i];
    const int32_t c1 = a0 * b1 + a1 * b0;
    if (first) {
      acc->c[2 * i] = c0;
      acc->c[2 * i + 1] = c1;
    } else {
      acc->c[2 * i] += c0;
      acc->c[2 * i + 1] += c1;
    }
  }
}

void base_mul_finish(Poly* out, const BaseMulAcc& acc) noexcept {
  for (int i = 0; i < kN; ++i) out->c[i] = montgomery_reduce(acc.c[i]);
}

void byte_encode12(uint8_t out[384], const Poly& p) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    const uint16_t c0 = canonical(p.c[2 * i]);
    const uint16_t c1 = canonical(p.c[2 * i + 1]);
    out[3 * i] = static_cast<uint8_t>(c0);
    out[3 * i + 1] = static_cast<uint8_t>((c0 >> 8) | (c1 << 4));
    out[3 * i + 2] = static_cast<uint8_t>(c1 >> 4);
  }
}

void byte_decode12(Poly* p, const uint8_t in[384]) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    const uint16_t b0 = in[3 * i], b1 = in[3 * i + 1], b2 = in[3 * i + 2];
    int16_t c0 = static_cast<int16_t>(b0 | ((b1 & 0x0f) << 8));
    int16_t c1 = static_cast<int16_t>((b1 >> 4) | (b2 << 4));
    // Subtract q, then add it back under the sign mask: [0, 4096) -> [0, q).
    c0 = static_cast<int16_t>(c0 - kQ);
    c0 = static_cast<int16_t>(c0 + ((c0 >> 15) & kQ));
    c1 = static_cast<int16_t>(c1 - kQ);
    c1 = static_cast<int16_t>(c1 + ((c1 >> 15) & kQ));
    p->c[2 * i] = c0;
    p->c[2 * i + 1] = c1;
  }
}

bool byte_decode12_checked(Poly* p, const uint8_t in[384]) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    const uint16_t b0 = in[3 * i], b1 = in[3 * i + 1], b2 = in[3 * i + 2];
    const auto c0 = static_cast<int16_t>(b0 | ((b1 & 0x0f) << 8));
    const auto c1 = static_cast<int16_t>((b1 >> 4) | (b2 << 4));
    if (c0 >= kQ || c1 >= kQ) return false;
    p->c[2 * i] = c0;
    p->c[2 * i + 1] = c1;
  }
  return true;
}

void compress_encode10(uint8_t out[320], const Poly& p) noexcept {
  for (int i = 0; i < kN / 4; ++i) {
    uint32_t t[4];
    for (int k = 0; k < 4; ++k) t[k] = compress(canonical(p.c[4 * i + k]), 10);
    uint8_t* o = out + 5 * i;
    o[0] = static_cast<uint8_t>(t[0]);
    o[1] = static_cast<uint8_t>((t[0] >> 8) | (t[1] << 2));
    o[2] = static_cast<uint8_t>((t[1] >> 6) | (t[2] << 4));
    o[3] = static_cast<uint8_t>((t[2] >> 4) | (t[3] << 6));
    o[4] = static_cast<uint8_t>(t[3] >> 2);
  }
}

void compress_encode4(uint8_t out[128], const Poly& p) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    const uint32_t t0 = compress(canonical(p.c[2 * i]), 4);
    const uint32_t t1 = compress(canonical(p.c[2 * i + 1]), 4);
    out[i] = static_cast<uint8_t>(t0 | (t1 << 4));
  }
}

void decode_decompress10(Poly* p, const uint8_t in[320]) noexcept {
  for (int i = 0; i < kN / 4; ++i) {
    const uint8_t* b = in + 5 * i;
    const uint32_t t0 = b[0] | ((uint32_t{b[1]} & 0x03) << 8);
    const uint32_t t1 = (b[1] >> 2) | ((uint32_t{b[2]} & 0x0f) << 6);
    const uint32_t t2 = (b[2] >> 4) | ((uint32_t{b[3]} & 0x3f) << 4);
    const uint32_t t3 = (b[3] >> 6) | (uint32_t{b[4]} << 2);
    p->c[4 * i] = decompress(t0, 10);
    p->c[4 * i + 1] = decompress(t1, 10);
    p->c[4 * i + 2] = decompress(t2, 10);
    p->c[4 * i + 3] = decompress(t3, 10);
  }
}

void decode_decompress4(Poly* p, const uint8_t in[128]) noexcept {
  for (int i = 0; i < kN / 2; ++i) {
    p->c[2 * i] = decompress(in[i] & 0x0fu, 4);
    p->c[2 * i + 1] = decompress(static_cast<uint32_t>(in[i] >> 4), 4);
  }
}

void message_to_poly(Poly* p, const uint8_t m[32]) noexcept {
  constexpr int16_t kHalfQ = (kQ + 1) / 2;  // Decompress_1(1) = round(q/2) = 1665
  for (int i = 0; i < kN; ++i) {
    const auto bit = static_cast<int16_t>((m[i / 8] >> (i % 8)) & 1);
    p->c[i] = static_cast<int16_t>(-bit & kHalfQ);
  }
}

void poly_to_message(uint8_t m[32], const Poly& p) noexcept {
  std::memset(m, 0, 32);
  for (int i = 0; i < kN; ++i) {
    const uint32_t bit = compress(canonical(p.c[i]), 1);
    m[i / 8] = static_cast<uint8_t>(m[i / 8] | (bit << (i % 8)));
  }
}

void sample_ntt(Poly* p, const uint8_t rho[32], uint8_t j, uint8_t i) noexcept {
  Shake128 xof;
  xof.absorb(rho, 32);
  const uint8_t ji[2] = {j, i};
  xof.absorb(ji, 2);
  // Three blocks (504 bytes, 336 candidates) finish all but a few percent of
  // polynomials; more blocks follow one at a time (CCTV's "unlucky" vectors
  // need over 575 bytes). 168 is a multiple of 3, so triples never straddle.
  uint8_t buf[3 * Shake128::kRate];
  xof.squeeze_blocks(buf, 3);
  size_t len = sizeof(buf);
  size_t pos = 0;
  int n = 0;
  while (n < kN) {
    if (pos == len) {
      xof.squeeze_blocks(buf, 1);
      len = Shake128::kRate;
      pos = 0;
    }
    const uint16_t d1 = static_cast<uint16_t>(buf[pos] | ((buf[pos + 1] & 0x0f) << 8));
    const uint16_t d2 = static_cast<uint16_t>((buf[pos + 1] >> 4) | (buf[pos + 2] << 4));
    pos += 3;
    if (d1 < kQ) p->c[n++] = static_cast<int16_t>(d1);
    if (d2 < kQ && n < kN) p->c[n++] = static_cast<int16_t>(d2);
  }
}

void sample_cbd2(Poly* p, const uint8_t s[32], uint8_t n) noexcept {
  uint8_t buf[128];  // PRF_2(s, n): 64 η bytes
  Shake256 prf;
  prf.absorb(s, 32);
  prf.absorb(&n, 1);
  prf.squeeze(buf, sizeof(buf));
  for (int w = 0; w < 32; ++w) {
    uint32_t t;
    std::memcpy(&t, buf + 4 * w, 4);  // little-endian: bit k of t is b[32w + k]
    // Add adjacent bit pairs: each 2-bit field at 2m now holds b[2m] + b[2m+1],
    // so nibble c holds x (low field) and y (high field) of coefficient 8w + c.
    const uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
    for (int c = 0; c < 8; ++c) {
      const auto x = static_cast<int16_t>((d >> (4 * c)) & 3);
      const auto y = static_cast<int16_t>((d >> (4 * c + 2)) & 3);
      p->c[8 * w + c] = static_cast<int16_t>(x - y);
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));  // the PRF output determines secret coefficients
}

}  // namespace sluice::pq::mlkem

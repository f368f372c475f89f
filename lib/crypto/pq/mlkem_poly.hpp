// mlkem_poly.hpp: arithmetic in R_q = Z_q[X]/(X^256 + 1), q = 3329, and the
// encodings of FIPS 203 §4 (ByteEncode/ByteDecode, Compress/Decompress,
// SampleNTT, SamplePolyCBD, NTT). Internal to the ML-KEM implementation.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Representation. A Poly holds 256 int16 coefficients. Between steps they are
// kept small (|c| < q) but not canonical; only the encoders need [0, q), and
// they normalise themselves. Products use Montgomery reduction with R = 2^16,
// so base_mul_acc leaves a factor R^-1 on its result; to_plain_from_mont and
// inv_ntt_from_mont remove it again. Each function's comment states the
// domain and bound it expects and returns.
//
// Constant time. Every function here that touches secret data has no branch
// and no memory index that depends on a coefficient value: reductions are
// multiply-and-shift, conditional subtractions are masks, and Compress divides
// by q with a fixed multiply-shift instead of '/'. sample_ntt branches on its
// input, which is public (derived from ρ).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::pq::mlkem {

inline constexpr int kN = 256;
inline constexpr int16_t kQ = 3329;

struct Poly {
  int16_t c[kN];
};

// reduce_all maps every coefficient to its Barrett representative,
// |c| <= (q - 1) / 2 + 1, from any int16 input.
void reduce_all(Poly* p) noexcept;

// add sets r = a + b coefficient-wise, unreduced (callers keep |a + b| < 2^15).
void add(Poly* r, const Poly& a, const Poly& b) noexcept;
// sub sets r = a - b coefficient-wise, unreduced.
void sub(Poly* r, const Poly& a, const Poly& b) noexcept;

// ntt is FIPS 203 Algorithm 9 in place: input |c| < q, output |c| <= (q-1)/2+1
// (Barrett-reduced at the end).
void ntt(Poly* p) noexcept;

// inv_ntt_from_mont is FIPS 203 Algorithm 10 in place, with the final scaling
// by 128^-1 also multiplying by R: it takes a base_mul_acc result (value times
// R^-1, |c| < q) and returns the plain inverse transform, |c| < q.
void inv_ntt_from_mont(Poly* p) noexcept;

// to_plain_from_mont multiplies every coefficient by R, undoing the R^-1
// that base_mul_acc leaves; output |c| < q. Used where the product stays in
// the NTT domain (t̂ in K-PKE.KeyGen).
void to_plain_from_mont(Poly* p) noexcept;

// BaseMulAcc accumulates a sum of NTT-domain products in 32 bits so that k
// products need only one Montgomery reduction per coefficient.
struct BaseMulAcc {
  int32_t c[kN];
};

// base_mul_acc adds a ∘ b (FIPS 203 Algorithms 11 and 12, MultiplyNTTs and
// BaseCaseMultiply) to |acc|, scaled by R^-1 after base_mul_finish. Inputs
// |c| < q (either may be the unreduced [0, q) form). At most 3 products may be
// accumulated (the bound is 6 q^2 < q 2^15).
void base_mul_acc(BaseMulAcc* acc, const Poly& a, const Poly& b, bool first) noexcept;
// base_mul_finish reduces |acc| into |out|: value times R^-1, |c| < q.
void base_mul_finish(Poly* out, const BaseMulAcc& acc) noexcept;

// byte_encode12 writes 384 bytes (ByteEncode_12, FIPS 203 Algorithm 5) of the
// canonical [0, q) representatives of |p|, which may be any |c| < 2^15.
void byte_encode12(uint8_t out[384], const Poly& p) noexcept;
// byte_decode12 reads 384 bytes (ByteDecode_12, Algorithm 6) and reduces
// each 12-bit value mod q, as the spec's m = q for d = 12 requires. Output in
// [0, q). Constant time, so it also serves for the secret ŝ.
void byte_decode12(Poly* p, const uint8_t in[384]) noexcept;
// byte_decode12_checked is the modulus check of FIPS 203 §7.2 for one
// polynomial of an encapsulation key: it decodes |in| and returns false if any
// 12-bit value is >= q (i.e. ByteEncode12(ByteDecode12(in)) != in). Public
// data only: it returns early.
bool byte_decode12_checked(Poly* p, const uint8_t in[384]) noexcept;

// compress_encode10 writes ByteEncode_10(Compress_10(p)) (320 bytes), and
// compress_encode4 ByteEncode_4(Compress_4(p)) (128 bytes); |p| any |c| < q,
// normalised internally (FIPS 203 Algorithm 14 steps 22-23).
void compress_encode10(uint8_t out[320], const Poly& p) noexcept;
void compress_encode4(uint8_t out[128], const Poly& p) noexcept;
// decode_decompress10 / decode_decompress4 invert the above up to rounding:
// Decompress_d(ByteDecode_d(in)) (Algorithm 15 steps 3-4), output in [0, q).
void decode_decompress10(Poly* p, const uint8_t in[320]) noexcept;
void decode_decompress4(Poly* p, const uint8_t in[128]) noexcept;

// message_to_poly is Decompress_1(ByteDecode_1(m)): bit i becomes 0 or
// ⌈q/2⌉ = 1665 (Algorithm 14 step 20). Constant time in |m|.
void message_to_poly(Poly* p, const uint8_t m[32]) noexcept;
// poly_to_message is ByteEncode_1(Compress_1(p)) (Algorithm 15 step 7): each
// coefficient rounds to 0 or 1 by its distance to q/2. Any |c| < q.
void poly_to_message(uint8_t m[32], const Poly& p) noexcept;

// sample_ntt is SampleNTT (FIPS 203 Algorithm 7): rejection-samples a
// uniform NTT-domain polynomial from SHAKE128(ρ ‖ j ‖ i). Output in [0, q).
void sample_ntt(Poly* p, const uint8_t rho[32], uint8_t j, uint8_t i) noexcept;

// sample_cbd2 is SamplePolyCBD_2 (Algorithm 8, η = 2) on the 128 bytes
// PRF_2(s, n) = SHAKE256(s ‖ n, 128) (§4.1). Output in [-2, 2].
void sample_cbd2(Poly* p, const uint8_t s[32], uint8_t n) noexcept;

// compress_d / decompress_d on single coefficients, exposed for the
// exhaustive unit test of the division-free rounding.
uint16_t compress_for_test(uint16_t x, int d) noexcept;
uint16_t decompress_for_test(uint16_t y, int d) noexcept;

}  // namespace sluice::pq::mlkem

// mlkem768.cpp: ML-KEM-768 key generation, encapsulation and decapsulation
// (FIPS 203 §5-§7), on the polynomial layer in mlkem_poly.cpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/pq/mlkem768.hpp"

#include <cstring>

#include <openssl/mem.h>
#include <openssl/rand.h>

#include "crypto/pq/ct.hpp"
#include "crypto/pq/sha3.hpp"

namespace sluice::pq {

using mlkem::BaseMulAcc;
using mlkem::Poly;

namespace {

constexpr int kK = 3;
constexpr size_t kPolyBytes = 384;                   // ByteEncode12 of one polynomial
constexpr size_t kPkeSecretBytes = kPolyBytes * kK;  // dk_PKE
constexpr size_t kU_Bytes = 320 * kK;                // c1 = ByteEncode10(u), k polynomials
static_assert(kU_Bytes + 128 == kMlkem768CiphertextSize);
static_assert(kPkeSecretBytes + kMlkem768EncapsKeySize + 64 == kMlkem768DecapsKeySize);

// Offsets into dk = dk_PKE ‖ ek ‖ H(ek) ‖ z (Algorithm 16 step 3).
constexpr size_t kDkEkOffset = kPkeSecretBytes;
constexpr size_t kDkHashOffset = kDkEkOffset + kMlkem768EncapsKeySize;
constexpr size_t kDkZOffset = kDkHashOffset + 32;

// Wiper cleanses a buffer when it goes out of scope, so every return path
// wipes the secrets of a function.
class Wiper {
 public:
  Wiper(void* p, size_t n) noexcept : p_(p), n_(n) {}
  ~Wiper() { OPENSSL_cleanse(p_, n_); }
  Wiper(const Wiper&) = delete;
  Wiper& operator=(const Wiper&) = delete;

 private:
  void* p_;
  size_t n_;
};

}  // namespace

// --- Mlkem768EncapsKey ------------------------------------------------------

void Mlkem768EncapsKey::expand_matrix() noexcept {
  const uint8_t* rho = ek_ + kPkeSecretBytes;
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) {
      // Algorithm 13 step 6: Â[i, j] <- SampleNTT(ρ ‖ j ‖ i), j first.
      mlkem::sample_ntt(&a_hat_[i][j], rho, static_cast<uint8_t>(j), static_cast<uint8_t>(i));
    }
  }
}

Result<Mlkem768EncapsKey> Mlkem768EncapsKey::parse(std::span<const uint8_t> ek) noexcept {
  if (ek.size() != kMlkem768EncapsKeySize) return Errc::invalid_argument;  // §7.2 type check
  Mlkem768EncapsKey key;
  for (int i = 0; i < kK; ++i) {
    // §7.2 modulus check: ByteEncode12(ByteDecode12(ek[384i : 384(i+1)])) must
    // give back the same bytes, i.e. no 12-bit field may hold a value >= q.
    if (!mlkem::byte_decode12_checked(&key.t_hat_[i], ek.data() + kPolyBytes * i))
      return Errc::bad_key;
  }
  std::memcpy(key.ek_, ek.data(), kMlkem768EncapsKeySize);
  Sha3_256::hash(key.ek_, sizeof(key.ek_), key.ek_hash_);
  key.expand_matrix();
  return key;
}

// encrypt is K-PKE.Encrypt (Algorithm 14) with Â already expanded.
void Mlkem768EncapsKey::encrypt(const uint8_t m[32], const uint8_t r[32],
                                uint8_t out_ct[kMlkem768CiphertextSize]) const noexcept {
  Poly y[kK], e1[kK], e2, mu, u, v;
  Wiper wipe_y(y, sizeof(y)), wipe_e1(e1, sizeof(e1)), wipe_e2(&e2, sizeof(e2)),
      wipe_mu(&mu, sizeof(mu)), wipe_u(&u, sizeof(u)), wipe_v(&v, sizeof(v));
  BaseMulAcc acc;
  Wiper wipe_acc(&acc, sizeof(acc));

  // Steps 9-17: y, e1, e2 from PRF_η(r, N) with N = 0 .. 2k.
  uint8_t n = 0;
  for (int i = 0; i < kK; ++i) mlkem::sample_cbd2(&y[i], r, n++);
  for (int i = 0; i < kK; ++i) mlkem::sample_cbd2(&e1[i], r, n++);
  mlkem::sample_cbd2(&e2, r, n);
  for (auto& p : y) mlkem::ntt(&p);  // step 18: ŷ

  // Step 19: u = NTT^-1(Â^T ∘ ŷ) + e1, so u[i] sums Â[j, i] ∘ ŷ[j].
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) mlkem::base_mul_acc(&acc, a_hat_[j][i], y[j], j == 0);
    mlkem::base_mul_finish(&u, acc);
    mlkem::inv_ntt_from_mont(&u);
    mlkem::add(&u, u, e1[i]);
    mlkem::compress_encode10(out_ct + 320 * i, u);  // step 22: c1
  }

  // Steps 20-21: v = NTT^-1(t̂^T ∘ ŷ) + e2 + Decompress_1(ByteDecode_1(m)).
  for (int j = 0; j < kK; ++j) mlkem::base_mul_acc(&acc, t_hat_[j], y[j], j == 0);
  mlkem::base_mul_finish(&v, acc);
  mlkem::inv_ntt_from_mont(&v);
  mlkem::message_to_poly(&mu, m);
  mlkem::add(&v, v, e2);
  mlkem::add(&v, v, mu);
  mlkem::compress_encode4(out_ct + kU_Bytes, v);  // step 23: c2
}

void Mlkem768EncapsKey::encapsulate_deterministic(
    std::span<const uint8_t, kMlkemMessageSize> m,
    std::span<uint8_t, kMlkem768CiphertextSize> out_ct,
    std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept {
  // Algorithm 17: (K, r) <- G(m ‖ H(ek)); c <- K-PKE.Encrypt(ek, m, r).
  uint8_t kr[64];
  Wiper wipe_kr(kr, sizeof(kr));
  Sha3_512 g;
  g.update(m.data(), m.size());
  g.update(ek_hash_, sizeof(ek_hash_));
  g.finish(kr);
  encrypt(m.data(), kr + 32, out_ct.data());
  std::memcpy(out_secret.data(), kr, kMlkemSharedSecretSize);
}

Status Mlkem768EncapsKey::encapsulate(
    std::span<uint8_t, kMlkem768CiphertextSize> out_ct,
    std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept {
  uint8_t m[kMlkemMessageSize];
  Wiper wipe_m(m, sizeof(m));
  if (RAND_bytes(m, sizeof(m)) != 1) return Errc::crypto_failure;  // Algorithm 20 step 1
  encapsulate_deterministic(std::span<const uint8_t, kMlkemMessageSize>(m), out_ct, out_secret);
  return {};
}

// --- Mlkem768DecapsKey ------------------------------------------------------

Mlkem768DecapsKey::~Mlkem768DecapsKey() {
  OPENSSL_cleanse(s_hat_, sizeof(s_hat_));
  OPENSSL_cleanse(z_, sizeof(z_));
}

Mlkem768DecapsKey Mlkem768DecapsKey::from_seed(
    std::span<const uint8_t, kMlkemSeedSize> seed) noexcept {
  Mlkem768DecapsKey key;
  Mlkem768EncapsKey& ek = key.ek_;

  // K-PKE.KeyGen (Algorithm 13). Step 1: (ρ, σ) <- G(d ‖ k).
  uint8_t rho_sigma[64];
  Wiper wipe_rs(rho_sigma, sizeof(rho_sigma));
  const uint8_t k_byte = kK;
  Sha3_512 g;
  g.update(seed.data(), 32);
  g.update(&k_byte, 1);
  g.finish(rho_sigma);
  const uint8_t* rho = rho_sigma;
  const uint8_t* sigma = rho_sigma + 32;
  // ρ is derived from the secret d but published in ek; SampleNTT may branch on it.
  SLUICE_PQ_DECLASSIFY(rho_sigma, 32);
  std::memcpy(ek.ek_ + kPkeSecretBytes, rho, 32);
  ek.expand_matrix();  // steps 3-7

  // Steps 8-15: s and e from PRF_η1(σ, N), N = 0 .. 2k-1.
  Poly e[kK];
  Wiper wipe_e(e, sizeof(e));
  uint8_t n = 0;
  for (auto& p : key.s_hat_) mlkem::sample_cbd2(&p, sigma, n++);
  for (auto& p : e) mlkem::sample_cbd2(&p, sigma, n++);
  for (auto& p : key.s_hat_) mlkem::ntt(&p);  // step 16: ŝ
  for (auto& p : e) mlkem::ntt(&p);           // step 17: ê

  // Step 18: t̂ = Â ∘ ŝ + ê.
  BaseMulAcc acc;
  Wiper wipe_acc(&acc, sizeof(acc));
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) mlkem::base_mul_acc(&acc, ek.a_hat_[i][j], key.s_hat_[j], j == 0);
    mlkem::base_mul_finish(&ek.t_hat_[i], acc);
    mlkem::to_plain_from_mont(&ek.t_hat_[i]);
    mlkem::add(&ek.t_hat_[i], ek.t_hat_[i], e[i]);
    mlkem::byte_encode12(ek.ek_ + kPolyBytes * i, ek.t_hat_[i]);  // step 19: ek_PKE
  }
  // t̂ is public; keep it in the same [0, q) form parse() produces.
  SLUICE_PQ_DECLASSIFY(ek.ek_, sizeof(ek.ek_));
  for (int i = 0; i < kK; ++i) mlkem::byte_decode12(&ek.t_hat_[i], ek.ek_ + kPolyBytes * i);
  SLUICE_PQ_DECLASSIFY(ek.t_hat_, sizeof(ek.t_hat_));

  // ŝ canonical, so encode() and the decrypt bounds see [0, q).
  uint8_t s_bytes[kPolyBytes];
  Wiper wipe_sb(s_bytes, sizeof(s_bytes));
  for (auto& p : key.s_hat_) {
    mlkem::byte_encode12(s_bytes, p);
    mlkem::byte_decode12(&p, s_bytes);
  }

  // Algorithm 16: dk also holds H(ek) and z.
  Sha3_256::hash(ek.ek_, sizeof(ek.ek_), ek.ek_hash_);
  std::memcpy(key.z_, seed.data() + 32, 32);
  return key;
}

Result<Mlkem768DecapsKey> Mlkem768DecapsKey::generate() noexcept {
  uint8_t seed[kMlkemSeedSize];
  Wiper wipe_seed(seed, sizeof(seed));
  if (RAND_bytes(seed, sizeof(seed)) != 1) return Errc::crypto_failure;  // Algorithm 19 steps 1-2
  return from_seed(std::span<const uint8_t, kMlkemSeedSize>(seed));
}

Result<Mlkem768DecapsKey> Mlkem768DecapsKey::parse(std::span<const uint8_t> dk) noexcept {
  if (dk.size() != kMlkem768DecapsKeySize) return Errc::invalid_argument;  // §7.3 check 2
  // §7.3 check 3 (hash check): H(dk[384k : 768k + 32]) == dk[768k + 32 : 768k + 64].
  // Both sides are public parts of dk, so an ordinary comparison is fine.
  uint8_t h[32];
  Sha3_256::hash(dk.data() + kDkEkOffset, kMlkem768EncapsKeySize, h);
  if (std::memcmp(h, dk.data() + kDkHashOffset, 32) != 0) return Errc::bad_key;

  auto ek = Mlkem768EncapsKey::parse(dk.subspan(kDkEkOffset, kMlkem768EncapsKeySize));
  if (!ek) return Errc::bad_key;
  Mlkem768DecapsKey key;
  key.ek_ = *ek;
  for (int i = 0; i < kK; ++i) mlkem::byte_decode12(&key.s_hat_[i], dk.data() + kPolyBytes * i);
  std::memcpy(key.z_, dk.data() + kDkZOffset, 32);
  return key;
}

void Mlkem768DecapsKey::encode(std::span<uint8_t, kMlkem768DecapsKeySize> out) const noexcept {
  for (int i = 0; i < kK; ++i) mlkem::byte_encode12(out.data() + kPolyBytes * i, s_hat_[i]);
  std::memcpy(out.data() + kDkEkOffset, ek_.ek_, kMlkem768EncapsKeySize);
  std::memcpy(out.data() + kDkHashOffset, ek_.ek_hash_, 32);
  std::memcpy(out.data() + kDkZOffset, z_, 32);
}

Status Mlkem768DecapsKey::decapsulate(
    std::span<const uint8_t> ct,
    std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept {
  if (ct.size() != kMlkem768CiphertextSize) return Errc::invalid_argument;  // §7.3 check 1

  // K-PKE.Decrypt (Algorithm 15): w = v' - NTT^-1(ŝ^T ∘ NTT(u')).
  Poly u[kK], v, w;
  Wiper wipe_w(&w, sizeof(w));
  for (int i = 0; i < kK; ++i) {
    mlkem::decode_decompress10(&u[i], ct.data() + 320 * i);
    mlkem::ntt(&u[i]);
  }
  mlkem::decode_decompress4(&v, ct.data() + kU_Bytes);
  BaseMulAcc acc;
  Wiper wipe_acc(&acc, sizeof(acc));
  for (int i = 0; i < kK; ++i) mlkem::base_mul_acc(&acc, s_hat_[i], u[i], i == 0);
  mlkem::base_mul_finish(&w, acc);
  mlkem::inv_ntt_from_mont(&w);
  mlkem::sub(&w, v, w);

  // Algorithm 18: m' from Decrypt, (K', r') <- G(m' ‖ h), K̄ <- J(z ‖ c).
  uint8_t m[32], kr[64], k_bar[32];
  Wiper wipe_m(m, sizeof(m)), wipe_kr(kr, sizeof(kr)), wipe_kbar(k_bar, sizeof(k_bar));
  mlkem::poly_to_message(m, w);
  Sha3_512 g;
  g.update(m, sizeof(m));
  g.update(ek_.ek_hash_, sizeof(ek_.ek_hash_));
  g.finish(kr);
  Shake256 j;
  j.absorb(z_, sizeof(z_));
  j.absorb(ct.data(), ct.size());
  j.squeeze(k_bar, sizeof(k_bar));

  // Re-encrypt and compare without branching: a mismatch selects K̄
  // (implicit rejection, Algorithm 18 steps 9-11).
  uint8_t ct2[kMlkem768CiphertextSize];
  Wiper wipe_ct2(ct2, sizeof(ct2));
  ek_.encrypt(m, kr + 32, ct2);
  const uint32_t mismatch = ct::differ_mask(ct.data(), ct2, sizeof(ct2));
  ct::select_bytes(out_secret.data(), kr, k_bar, kMlkemSharedSecretSize, mismatch);
  return {};
}

}  // namespace sluice::pq

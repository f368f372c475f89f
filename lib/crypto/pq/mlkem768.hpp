// mlkem768.hpp: ML-KEM-768 (FIPS 203), the key-encapsulation mechanism in the
// X25519MLKEM768 TLS key share.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Written from FIPS 203 (August 2024) because Debian's BoringSSL (API 17) has
// no ML-KEM. Parameter set ML-KEM-768 (§8, Table 2): k = 3, η1 = η2 = 2,
// du = 10, dv = 4.
//
// Objects. Mlkem768EncapsKey is a parsed, checked encapsulation key (ek) with
// its matrix Â already expanded, so encapsulating costs no SampleNTT.
// Mlkem768DecapsKey is a key pair: the decapsulation key (dk) plus its
// Mlkem768EncapsKey, which decapsulation needs to re-encrypt. Both are plain
// values (about 7 KiB and 9 KiB), never allocate, and may be copied; a
// DecapsKey wipes its secrets (ŝ, z) on destruction. Inputs are validated
// once, when parsed (FIPS 203 §7.2 and §7.3), and every operation after that
// is total. Nothing here keeps global state: all functions are thread-safe on
// distinct objects, and const ones on a shared object.
//
// Errors: a buffer of the wrong length is Errc::invalid_argument; a key that
// fails a FIPS 203 input check is Errc::bad_key; a failing RNG is
// Errc::crypto_failure. Decapsulation of a well-formed but wrong ciphertext
// is not an error: it yields the implicit-rejection secret J(z ‖ c).
//
// Secret-dependent work is constant time: no branch or memory index depends
// on d, z, m, ŝ or on the outcome of the re-encryption comparison.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/pq/mlkem_poly.hpp"
#include "sluice/error.hpp"

namespace sluice::pq {

inline constexpr size_t kMlkem768EncapsKeySize = 1184;   // 384 k + 32
inline constexpr size_t kMlkem768DecapsKeySize = 2400;   // 768 k + 96
inline constexpr size_t kMlkem768CiphertextSize = 1088;  // 32 (du k + dv)
inline constexpr size_t kMlkemSharedSecretSize = 32;
inline constexpr size_t kMlkemSeedSize = 64;     // d ‖ z (Algorithm 16 inputs)
inline constexpr size_t kMlkemMessageSize = 32;  // m (Algorithm 17 input)

class Mlkem768DecapsKey;

class Mlkem768EncapsKey {
 public:
  // parse applies the encapsulation-key checks of FIPS 203 §7.2: the length
  // (invalid_argument unless 1184 bytes) and the modulus check, every 12-bit
  // coefficient below q (bad_key otherwise).
  static Result<Mlkem768EncapsKey> parse(std::span<const uint8_t> ek) noexcept;

  // bytes returns the 1184-byte encoding ek = ByteEncode12(t̂) ‖ ρ, borrowed
  // for the object's lifetime.
  std::span<const uint8_t, kMlkem768EncapsKeySize> bytes() const noexcept { return std::span(ek_); }

  // encapsulate is ML-KEM.Encaps (Algorithm 20): a fresh 32-byte m from
  // BoringSSL's RAND_bytes, then encapsulate_deterministic. crypto_failure if
  // the RNG fails.
  Status encapsulate(std::span<uint8_t, kMlkem768CiphertextSize> out_ct,
                     std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept;

  // encapsulate_deterministic is ML-KEM.Encaps_internal (Algorithm 17) on the
  // caller's |m|. For known-answer tests; m must be fresh randomness in use.
  void encapsulate_deterministic(
      std::span<const uint8_t, kMlkemMessageSize> m,
      std::span<uint8_t, kMlkem768CiphertextSize> out_ct,
      std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept;

 private:
  friend class Mlkem768DecapsKey;
  Mlkem768EncapsKey() noexcept = default;

  // expand_matrix fills a_hat_ from rho (Algorithm 13 steps 3-7).
  void expand_matrix() noexcept;
  // encrypt is K-PKE.Encrypt (Algorithm 14).
  void encrypt(const uint8_t m[32], const uint8_t r[32],
               uint8_t out_ct[kMlkem768CiphertextSize]) const noexcept;

  mlkem::Poly t_hat_[3];     // t̂, NTT domain, [0, q)
  mlkem::Poly a_hat_[3][3];  // a_hat_[i][j] = Â[i, j] = SampleNTT(ρ ‖ j ‖ i), [0, q)
  uint8_t ek_[kMlkem768EncapsKeySize];  // the encoding; ρ is its last 32 bytes
  uint8_t ek_hash_[32];                 // H(ek) = SHA3-256(ek), §7.1 / Algorithm 17 step 1
};

class Mlkem768DecapsKey {
 public:
  // generate is ML-KEM.KeyGen (Algorithm 19): d and z from RAND_bytes.
  // crypto_failure if the RNG fails.
  static Result<Mlkem768DecapsKey> generate() noexcept;

  // from_seed is ML-KEM.KeyGen_internal (Algorithm 16) on seed = d ‖ z.
  static Mlkem768DecapsKey from_seed(std::span<const uint8_t, kMlkemSeedSize> seed) noexcept;

  // parse applies the decapsulation-key checks of FIPS 203 §7.3: the length
  // (invalid_argument unless 2400 bytes) and the hash check
  // H(dk[1152:2336]) == dk[2336:2368] (bad_key). It is stricter than §7.3 in
  // one way: the embedded ek must also pass the §7.2 modulus check (bad_key),
  // which every honestly generated key does.
  static Result<Mlkem768DecapsKey> parse(std::span<const uint8_t> dk) noexcept;

  ~Mlkem768DecapsKey();
  Mlkem768DecapsKey(const Mlkem768DecapsKey&) noexcept = default;
  Mlkem768DecapsKey& operator=(const Mlkem768DecapsKey&) noexcept = default;

  // encaps_key returns the matching encapsulation key, borrowed.
  const Mlkem768EncapsKey& encaps_key() const noexcept { return ek_; }

  // encode writes dk = ByteEncode12(ŝ) ‖ ek ‖ H(ek) ‖ z (Algorithm 16 step 3).
  // ŝ is written in canonical form, so a parsed key whose ŝ bytes held values
  // >= q re-encodes differently (such keys come from no honest KeyGen).
  void encode(std::span<uint8_t, kMlkem768DecapsKeySize> out) const noexcept;

  // decapsulate is ML-KEM.Decaps (Algorithm 21 with the §7.3 ciphertext
  // length check: invalid_argument unless |ct| is 1088 bytes). A ciphertext
  // that does not re-encrypt to itself yields J(z ‖ c), in constant time.
  Status decapsulate(std::span<const uint8_t> ct,
                     std::span<uint8_t, kMlkemSharedSecretSize> out_secret) const noexcept;

 private:
  Mlkem768DecapsKey() noexcept = default;

  Mlkem768EncapsKey ek_;  // public half; decapsulation re-encrypts with it
  mlkem::Poly s_hat_[3];  // ŝ, secret, NTT domain, [0, q)
  uint8_t z_[32];         // implicit-rejection seed, secret
};

}  // namespace sluice::pq

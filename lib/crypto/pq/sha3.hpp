// sha3.hpp: SHA3-256, SHA3-512, SHAKE128 and SHAKE256 (FIPS 202 §6).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Debian's BoringSSL (API 17) has no SHA-3, and ML-KEM (FIPS 203 §4.1) needs
// all four: H = SHA3-256, G = SHA3-512, J and PRF = SHAKE256, XOF = SHAKE128.
// Each type is a KeccakSponge with its rate and domain suffix fixed. They are
// plain values: no allocation, copyable (a copy forks the hash state), state
// wiped on destruction. One owner at a time; no locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/pq/keccak.hpp"

namespace sluice::pq {

// Sha3 is SHA3-|Bits| (FIPS 202 §6.1): capacity 2*Bits, digest Bits/8 bytes.
template <size_t Bits>
class Sha3 {
 public:
  static constexpr size_t kDigestSize = Bits / 8;
  static constexpr size_t kBlockSize = 200 - 2 * kDigestSize;  // the rate in bytes

  Sha3() noexcept : sponge_(kBlockSize, KeccakSponge::kSha3Suffix) {}

  // update absorbs more message bytes.
  void update(const uint8_t* data, size_t len) noexcept { sponge_.absorb(data, len); }
  void update(std::span<const uint8_t> data) noexcept { update(data.data(), data.size()); }

  // finish writes the kDigestSize-byte digest. The object may not be updated
  // afterwards (reset() starts a new message).
  void finish(uint8_t* out) noexcept { sponge_.squeeze(out, kDigestSize); }

  void reset() noexcept { sponge_.reset(); }

  // hash is the one-shot form: out = SHA3-Bits(data).
  static void hash(const uint8_t* data, size_t len, uint8_t* out) noexcept {
    Sha3 h;
    h.update(data, len);
    h.finish(out);
  }

 private:
  KeccakSponge sponge_;
};

// Shake is SHAKE|Security| (FIPS 202 §6.2): absorb, then squeeze any amount.
template <size_t Security>
class Shake {
 public:
  static constexpr size_t kRate = 200 - Security / 4;  // bytes: 168 or 136

  Shake() noexcept : sponge_(kRate, KeccakSponge::kShakeSuffix) {}

  // absorb feeds input; all of it must come before the first squeeze.
  void absorb(const uint8_t* data, size_t len) noexcept { sponge_.absorb(data, len); }
  void absorb(std::span<const uint8_t> data) noexcept { absorb(data.data(), data.size()); }

  // squeeze writes the next |len| bytes of the output stream.
  void squeeze(uint8_t* out, size_t len) noexcept { sponge_.squeeze(out, len); }

  // squeeze_blocks writes |nblocks| * kRate bytes; only while every squeeze
  // so far has been whole blocks (see KeccakSponge::squeeze_blocks).
  void squeeze_blocks(uint8_t* out, size_t nblocks) noexcept {
    sponge_.squeeze_blocks(out, nblocks);
  }

  void reset() noexcept { sponge_.reset(); }

  // hash is the one-shot form: out = SHAKE(data, 8 * out_len).
  static void hash(const uint8_t* data, size_t len, uint8_t* out, size_t out_len) noexcept {
    Shake x;
    x.absorb(data, len);
    x.squeeze(out, out_len);
  }

 private:
  KeccakSponge sponge_;
};

using Sha3_256 = Sha3<256>;
using Sha3_512 = Sha3<512>;
using Shake128 = Shake<128>;
using Shake256 = Shake<256>;

extern template class Sha3<256>;
extern template class Sha3<512>;
extern template class Shake<128>;
extern template class Shake<256>;

}  // namespace sluice::pq

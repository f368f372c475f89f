// keccak.hpp: the Keccak-f[1600] permutation and the sponge construction
// (FIPS 202 §3 and §4) under SHA-3 and SHAKE.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Written from FIPS 202 because Debian's BoringSSL (API 17) has no SHA-3.
// KeccakSponge is the one state machine behind Sha3_256, Sha3_512, Shake128
// and Shake256 (sha3.hpp): absorb any number of times, then squeeze any number
// of times. It never allocates and wipes its state on destruction. One owner,
// no locking; the permutation itself is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::pq {

// keccak_f1600 applies the 24-round Keccak-f[1600] permutation (FIPS 202
// Algorithm 7 with Keccak-p[1600, 24]) to |state| in place. Lane i is the
// 64-bit word for x = i % 5, y = i / 5, bytes in little-endian order.
void keccak_f1600(uint64_t state[25]) noexcept;

// KeccakSponge is SPONGE[Keccak-f[1600], pad10*1, rate] (FIPS 202 §4) with the
// domain-separation suffix of a SHA-3 function (0x06) or a SHAKE XOF (0x1F)
// folded into the first padding byte.
class KeccakSponge {
 public:
  // kSha3Suffix and kShakeSuffix are the domain bits 01 and 1111 (FIPS 202
  // §6.1, §6.2) followed by the first padding bit, as one byte.
  static constexpr uint8_t kSha3Suffix = 0x06;
  static constexpr uint8_t kShakeSuffix = 0x1f;

  // |rate| is in bytes, a multiple of 8 below 200; |suffix| one of the above.
  KeccakSponge(size_t rate, uint8_t suffix) noexcept : rate_(rate), suffix_(suffix) {}
  ~KeccakSponge();
  KeccakSponge(const KeccakSponge&) = default;
  KeccakSponge& operator=(const KeccakSponge&) = default;

  // absorb feeds |len| bytes. Absorbing after the first squeeze is a
  // programming error and aborts (SLUICE_CHECK): the output so far would be
  // for a different message.
  void absorb(const uint8_t* data, size_t len) noexcept;

  // squeeze pads on its first call and then writes the next |len| output
  // bytes; successive calls continue the same output stream.
  void squeeze(uint8_t* out, size_t len) noexcept;

  // squeeze_blocks writes |nblocks| whole rate-sized blocks; only valid when
  // the output position is on a block boundary (always true if every squeeze
  // so far was whole blocks). ML-KEM's SampleNTT reads this way.
  void squeeze_blocks(uint8_t* out, size_t nblocks) noexcept;

  // reset returns to the empty, absorbing state.
  void reset() noexcept;

  size_t rate() const noexcept { return rate_; }

 private:
  void finalize() noexcept;

  uint64_t state_[25] = {};  // the 1600-bit state, lanes little-endian
  size_t rate_;              // bytes per block (r / 8)
  size_t pos_ = 0;           // byte offset into the current block, < rate_
  uint8_t suffix_;           // domain bits plus the first pad bit
  bool squeezing_ = false;   // set by the first squeeze; absorb is then illegal
};

}  // namespace sluice::pq

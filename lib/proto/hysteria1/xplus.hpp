// proto/hysteria1/xplus.hpp: XPlus, Hysteria v1's per-packet obfuscation
// ("obfs"), sans I/O (apernet/hysteria v1.x core/pktconns/obfs/obfs.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every UDP packet under QUIC becomes
//
//   salt (16 random bytes) | packet XOR keystream
//   keystream[i] = SHA-256(password || salt)[i mod 32]
//
// The password is the raw bytes of the `obfs` option (no KDF). The SHA-256
// state after absorbing the password is kept, so each packet costs the hash
// of the 16-byte salt and a 32-byte-period XOR. A received datagram of 16
// bytes or fewer is dropped; anything else is XORed back and left to QUIC,
// which drops what does not decrypt (a peer without the password, a probe).
//
// Threading: one socket's object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sluice/cipher.hpp"

namespace sluice::hysteria1 {

class XPlus {
 public:
  static constexpr size_t kSaltLen = 16;
  static constexpr size_t kKeyLen = 32;

  explicit XPlus(std::string_view password) noexcept;

  // encode writes kSaltLen + |len| bytes to |out| (a fresh random salt);
  // |in| and |out| may not overlap.
  void encode(const uint8_t* in, size_t len, uint8_t* out) noexcept;
  // encode_with_salt is encode() with a given salt (test vectors).
  void encode_with_salt(std::span<const uint8_t, kSaltLen> salt, const uint8_t* in, size_t len,
                        uint8_t* out) noexcept;
  // decode restores a datagram in place: the packet is [data + kSaltLen,
  // data + len) and its length is returned; 0 drops it (len <= kSaltLen).
  size_t decode(uint8_t* data, size_t len) noexcept;
  // key derives SHA-256(password || salt).
  void key(std::span<const uint8_t, kSaltLen> salt, std::span<uint8_t, kKeyLen> out) noexcept;

 private:
  Digest base_{DigestAlgorithm::sha256};  // the password absorbed
};

}  // namespace sluice::hysteria1

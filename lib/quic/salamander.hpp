// salamander.hpp: Salamander, Hysteria v2's packet obfuscation, as a
// PacketTransform under QUIC (apernet/hysteria extras/obfs/salamander.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every UDP packet becomes
//
//   salt (8 random bytes) | packet XOR keystream
//   keystream[i] = BLAKE2b-256(psk || salt)[i mod 32]
//
// (unkeyed BLAKE2b with a 32-byte digest, not BLAKE2b-512 truncated). The
// key hash state after absorbing the PSK is kept, so each packet costs one
// BLAKE2b compression over the 8-byte salt and a 32-byte-period XOR.
// A received datagram of 8 bytes or fewer is dropped; anything else is
// XORed back and left to QUIC, which drops what does not decrypt (a peer
// without the PSK, or a probe).
//
// Threads: one socket's object (the loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "quic/udp_socket.hpp"
#include "sluice/cipher.hpp"
#include "sluice/error.hpp"

namespace sluice::quic {

class Salamander final : public PacketTransform {
 public:
  static constexpr size_t kSaltLen = 8;
  // kMinPsk: the official implementation refuses shorter passwords
  // (ErrPSKTooShort).
  static constexpr size_t kMinPsk = 4;

  // create: invalid_argument for a PSK shorter than kMinPsk.
  static Result<std::shared_ptr<Salamander>> create(std::string_view psk);

  size_t overhead() const noexcept override { return kSaltLen; }
  void encode(const uint8_t* in, size_t len, uint8_t* out) noexcept override;
  size_t decode(uint8_t* data, size_t len) noexcept override;

  // encode_with_salt is encode() with a given salt (test vectors).
  void encode_with_salt(std::span<const uint8_t, kSaltLen> salt, const uint8_t* in, size_t len,
                        uint8_t* out) noexcept;
  // key derives BLAKE2b-256(psk || salt).
  void key(std::span<const uint8_t, kSaltLen> salt,
           std::span<uint8_t, kBlake2b256Len> out) noexcept;

 private:
  explicit Salamander(std::string_view psk) noexcept;
  Blake2b256 base_;  // the PSK absorbed
};

}  // namespace sluice::quic

// x25519_mlkem768.hpp: the X25519MLKEM768 hybrid key exchange of TLS 1.3
// (named group 0x11EC, draft-ietf-tls-ecdhe-mlkem), as the TLS engine calls it.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Wire layout (ML-KEM part first for this group, unlike the P-256 hybrids):
//   client key_share  = ML-KEM-768 encapsulation key (1184) ‖ X25519 public (32)
//   server key_share  = ML-KEM-768 ciphertext (1088)        ‖ X25519 public (32)
//   shared secret     = ML-KEM shared secret (32)           ‖ X25519 secret (32)
// The 64-byte secret is the (EC)DHE input to the TLS 1.3 key schedule.
//
// Client: X25519Mlkem768Client::generate() makes the private state and the
// share to send; finish() takes the server's share and yields the secret. The
// object holds the ML-KEM decapsulation key and the X25519 private key until
// it is destroyed (which wipes them), so keep it for one handshake only.
// Server: x25519_mlkem768_server() takes the client's share and yields its own
// share and the secret in one call; it keeps no state.
//
// Errors: a share of the wrong length is Errc::malformed (peer input; TLS
// answers illegal_parameter or decode_error); an encapsulation key failing the
// FIPS 203 §7.2 modulus check, or an X25519 result of all zeros (a low-order
// peer point, RFC 7748 §6.1), is Errc::bad_key; a failing RNG is
// Errc::crypto_failure. Nothing global: thread-safe on distinct objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/pq/mlkem768.hpp"
#include "sluice/error.hpp"

namespace sluice::pq {

inline constexpr uint16_t kX25519Mlkem768GroupId = 0x11ec;  // IANA TLS Supported Groups
inline constexpr size_t kX25519Mlkem768ClientShareSize = kMlkem768EncapsKeySize + 32;   // 1216
inline constexpr size_t kX25519Mlkem768ServerShareSize = kMlkem768CiphertextSize + 32;  // 1120
inline constexpr size_t kX25519Mlkem768SecretSize = kMlkemSharedSecretSize + 32;        // 64

class X25519Mlkem768Client {
 public:
  // generate draws a fresh ML-KEM-768 key pair and X25519 key pair from
  // BoringSSL's RNG. crypto_failure if the RNG fails.
  static Result<X25519Mlkem768Client> generate() noexcept;

  // from_seed_for_test is generate() with the ML-KEM seed d ‖ z and the X25519
  // private key supplied, for known-answer and cross-check tests.
  static X25519Mlkem768Client from_seed_for_test(
      std::span<const uint8_t, kMlkemSeedSize> mlkem_seed,
      std::span<const uint8_t, 32> x25519_private) noexcept;

  ~X25519Mlkem768Client();
  X25519Mlkem768Client(const X25519Mlkem768Client&) noexcept = default;
  X25519Mlkem768Client& operator=(const X25519Mlkem768Client&) noexcept = default;

  // share returns the 1216-byte client key_share data, borrowed.
  std::span<const uint8_t, kX25519Mlkem768ClientShareSize> share() const noexcept {
    return std::span(share_);
  }

  // finish decapsulates the ML-KEM ciphertext and completes X25519 with the
  // server's public value from |server_share| (1120 bytes), writing the 64-byte
  // secret. malformed on a wrong length, bad_key on an all-zero X25519 result;
  // |out_secret| is zeroed on error. May be called more than once.
  Status finish(std::span<const uint8_t> server_share,
                std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) const noexcept;

 private:
  X25519Mlkem768Client(const Mlkem768DecapsKey& mlkem,
                       std::span<const uint8_t, 32> x25519_private) noexcept;

  Mlkem768DecapsKey mlkem_;     // ML-KEM key pair; its encapsulation key opens share_
  uint8_t x25519_private_[32];  // secret scalar (BoringSSL clamps when used)
  uint8_t share_[kX25519Mlkem768ClientShareSize];  // ek ‖ X25519 public
};

// x25519_mlkem768_server is the server's half: it checks and encapsulates to
// the client's ML-KEM key, runs X25519 with a fresh key, and writes its
// 1120-byte share and the 64-byte secret. Errors as listed above; on error
// both outputs are zeroed.
Status x25519_mlkem768_server(std::span<const uint8_t> client_share,
                              std::span<uint8_t, kX25519Mlkem768ServerShareSize> out_share,
                              std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) noexcept;

// x25519_mlkem768_server_for_test is x25519_mlkem768_server with the ML-KEM
// message m and the X25519 private key supplied instead of drawn.
Status x25519_mlkem768_server_for_test(
    std::span<const uint8_t> client_share, std::span<const uint8_t, kMlkemMessageSize> mlkem_m,
    std::span<const uint8_t, 32> x25519_private,
    std::span<uint8_t, kX25519Mlkem768ServerShareSize> out_share,
    std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) noexcept;

}  // namespace sluice::pq

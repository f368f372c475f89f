// proto/tls13/key_schedule.hpp: the TLS 1.3 cipher suites and key schedule
// (RFC 8446 §7.1-§7.3, §4.4.4 Finished, §4.6.3 KeyUpdate).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//            0 / PSK -> HKDF-Extract = Early Secret
//   Derive-Secret(., "derived", "") + (EC)DHE -> Handshake Secret
//        -> c hs traffic, s hs traffic           (transcript CH..SH)
//   Derive-Secret(., "derived", "") + 0 -> Master Secret
//        -> c ap traffic, s ap traffic, exp master (CH..server Finished)
//        -> res master                             (CH..client Finished)
//
// KeySchedule holds the current stage secret and wipes every secret it holds
// when destroyed. Secrets are at most 48 bytes (SHA-384).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/cipher.hpp"
#include "sluice/error.hpp"

namespace sluice::tls13 {

inline constexpr size_t kMaxSecretLen = 48;

struct CipherSuite {
  uint16_t id;
  AeadAlgorithm aead;
  DigestAlgorithm hash;
  const char* name;  // the RFC's name, "TLS_AES_128_GCM_SHA256"
  size_t hash_len() const noexcept { return digest_len(hash); }
  size_t key_len() const noexcept { return aead_key_len(aead); }
};

// find_cipher_suite returns the suite for |id| or nullptr for anything but
// the three RFC 8446 suites the engine implements.
const CipherSuite* find_cipher_suite(uint16_t id) noexcept;

// Secret is a hash-length secret with its length, wiped on destruction.
struct Secret {
  std::array<uint8_t, kMaxSecretLen> bytes{};
  size_t len = 0;
  Secret() noexcept = default;
  Secret(const Secret&) noexcept = default;
  Secret& operator=(const Secret&) noexcept = default;
  ~Secret() { secure_wipe(bytes); }
  std::span<const uint8_t> span() const noexcept { return {bytes.data(), len}; }
};

// TrafficKeys are an AEAD key and static IV derived from a traffic secret.
struct TrafficKeys {
  std::array<uint8_t, kAeadMaxKeyLen> key{};
  size_t key_len = 0;
  std::array<uint8_t, kAeadNonceLen> iv{};
  ~TrafficKeys() {
    secure_wipe(key);
    secure_wipe(iv);
  }
  std::span<const uint8_t> key_span() const noexcept { return {key.data(), key_len}; }
};

// derive_traffic_keys expands [sender]_write_key and _iv (§7.3).
[[nodiscard]] Status derive_traffic_keys(const CipherSuite& suite, std::span<const uint8_t> secret,
                                         TrafficKeys& out) noexcept;

// next_traffic_secret is application_traffic_secret_N+1 (§7.2).
[[nodiscard]] Status next_traffic_secret(const CipherSuite& suite, std::span<const uint8_t> secret,
                                         Secret& out) noexcept;

// finished_verify_data is HMAC(finished_key(base_key), transcript_hash)
// (§4.4.4); |out| receives hash_len bytes.
[[nodiscard]] Status finished_verify_data(const CipherSuite& suite,
                                          std::span<const uint8_t> base_key,
                                          std::span<const uint8_t> transcript_hash,
                                          Secret& out) noexcept;

class KeySchedule {
 public:
  explicit KeySchedule(const CipherSuite& suite) noexcept : suite_(&suite) {}

  const CipherSuite& suite() const noexcept { return *suite_; }

  // early sets the Early Secret from |psk| (empty: no PSK, HashLen zeros).
  [[nodiscard]] Status early(std::span<const uint8_t> psk) noexcept;

  // binder_key is Derive-Secret(Early Secret, "res binder", "") (§7.1), the
  // base key of a resumption PSK's binder (finished_verify_data over the
  // truncated ClientHello's transcript hash). invalid_state unless early()
  // ran.
  [[nodiscard]] Status binder_key(Secret& out) const noexcept;

  // handshake mixes in the (EC)DHE secret and derives the handshake traffic
  // secrets with |hello_hash| = Transcript-Hash(ClientHello..ServerHello).
  // invalid_state unless early() ran.
  [[nodiscard]] Status handshake(std::span<const uint8_t> shared_secret,
                                 std::span<const uint8_t> hello_hash) noexcept;

  // master derives the Master Secret and the application traffic and
  // exporter secrets with |server_finished_hash| = Transcript-Hash(
  // ClientHello..server Finished). invalid_state unless handshake() ran.
  [[nodiscard]] Status master(std::span<const uint8_t> server_finished_hash) noexcept;

  // resumption derives resumption_master_secret with Transcript-Hash(
  // ClientHello..client Finished). invalid_state unless master() ran.
  [[nodiscard]] Status resumption(std::span<const uint8_t> client_finished_hash) noexcept;

  // ticket_psk is HKDF-Expand-Label(resumption_master_secret, "resumption",
  // ticket_nonce, Hash.length) (§4.6.1).
  [[nodiscard]] Status ticket_psk(std::span<const uint8_t> nonce, Secret& out) const noexcept;

  const Secret& early_secret() const noexcept { return early_; }
  const Secret& handshake_secret() const noexcept { return handshake_; }
  const Secret& master_secret() const noexcept { return master_; }
  const Secret& client_handshake_traffic() const noexcept { return c_hs_; }
  const Secret& server_handshake_traffic() const noexcept { return s_hs_; }
  const Secret& client_application_traffic() const noexcept { return c_ap_; }
  const Secret& server_application_traffic() const noexcept { return s_ap_; }
  const Secret& exporter_master() const noexcept { return exporter_; }
  const Secret& resumption_master() const noexcept { return resumption_; }

 private:
  [[nodiscard]] Status derive(const Secret& from, const char* label, std::span<const uint8_t> hash,
                              Secret& out) const noexcept;

  const CipherSuite* suite_;
  Secret early_, handshake_, master_;
  Secret c_hs_, s_hs_, c_ap_, s_ap_, exporter_, resumption_;
};

}  // namespace sluice::tls13

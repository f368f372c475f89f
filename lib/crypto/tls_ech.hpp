// tls_ech.hpp: ECH configuration blobs (draft-ietf-tls-esni-22
// sections 4 and 7, RFC 9180 HPKE): client ECHConfigLists, server key sets, and key generation.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Lists vs single configs (docs/protocols/tls-ech.md): a PEM "ECH CONFIGS" block, a share
// link's base64, DNS and retry_configs all carry an ECHConfigList (u16 total
// length first); the sing-box "ECH KEYS" blob pairs each X25519 private key
// with one ECHConfig (no list length).
//
// BoringSSL API 17 rejects a whole list when one entry has a KEM it lacks
// (its HPKE KEM table), so the client filters the list first and keeps only entries it
// can use: version 0xfe0d, KEM 0x0020 (X25519), a suite with KDF 1 and AEAD
// 1, 2 or 3, a valid DNS public_name, no mandatory extension.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/error.hpp"

namespace sluice::tls {

inline constexpr uint16_t kEchVersion = 0xfe0d;
inline constexpr uint16_t kHpkeKemX25519 = 0x0020;
inline constexpr uint16_t kHpkeKdfSha256 = 0x0001;

// EchConfig is one parsed ECHConfig.
struct EchConfig {
  uint16_t version = 0;
  uint8_t config_id = 0;
  uint16_t kem_id = 0;
  std::vector<uint8_t> public_key;
  std::vector<std::pair<uint16_t, uint16_t>> suites;  // (kdf, aead)
  uint8_t max_name_len = 0;
  std::string public_name;
  bool has_mandatory_extension = false;
  std::vector<uint8_t> raw;  // the whole ECHConfig: version, length, contents
};

// parse_ech_config_list splits an ECHConfigList. Entries of unknown
// version keep only version and raw. malformed (with |why|) when a length
// does not add up.
Result<std::vector<EchConfig>> parse_ech_config_list(std::span<const uint8_t> list,
                                                     std::string* why);
// parse_ech_config parses one ECHConfig that must fill |bytes| exactly.
Result<EchConfig> parse_ech_config(std::span<const uint8_t> bytes, std::string* why);

// usable_by_client tells whether BoringSSL's client can use |c|.
bool usable_by_client(const EchConfig& c) noexcept;

// filter_ech_config_list keeps the usable entries and re-serialises them as
// a list. not_supported (with |why|) when none is usable.
Result<std::vector<uint8_t>> filter_ech_config_list(std::span<const uint8_t> list,
                                                    std::string* why);

// ech_config_list_from_text reads a PEM "ECH CONFIGS" block (exactly one,
// nothing after it) or, failing the PEM shape, bare base64.
Result<std::vector<uint8_t>> ech_config_list_from_text(std::string_view text, std::string* why);

// EchKey is one entry of an "ECH KEYS" blob.
struct EchKey {
  std::vector<uint8_t> private_key;  // X25519, 32 bytes
  std::vector<uint8_t> config;       // one ECHConfig
};

// parse_ech_keys reads a PEM "ECH KEYS" block (sing-box format). malformed
// with |why| for a bad blob, a key that is not 32 bytes, or a config that
// does not parse.
Result<std::vector<EchKey>> parse_ech_keys(std::string_view pem, std::string* why);

// EchKeyPairPem is what `sluice generate ech-keypair` prints.
struct EchKeyPairPem {
  std::string configs;  // PEM "ECH CONFIGS" (an ECHConfigList with one config)
  std::string keys;     // PEM "ECH KEYS"
};

// generate_ech_keypair makes a fresh X25519 key and an ECHConfig laid out as
// sing-box's `generate ech-keypair` does: config_id 0, KEM X25519, suites
// HKDF-SHA256 x {AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305},
// maximum_name_length 0, no extensions. invalid_argument when |public_name|
// is not a valid DNS host name. |config_id| and |private_key| (32 bytes, or
// empty for a random one) are for tests.
Result<EchKeyPairPem> generate_ech_keypair(std::string_view public_name, uint8_t config_id = 0,
                                           std::span<const uint8_t> private_key = {});

// valid_public_name checks the ECHConfig rules for public_name (draft-ietf-tls-esni-22 section 4):
// a DNS host name, not IP-like, labels of 1..63 letters, digits or hyphens, no trailing dot.
bool valid_public_name(std::string_view name) noexcept;

}  // namespace sluice::tls

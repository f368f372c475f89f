// proto/tls13/profile.hpp: ClientHello profiles as data. A profile lists the
// cipher suites, groups, signature algorithms, versions and the extensions in
// their canonical order; the builder in client.cpp fills computed extensions
// (server_name, key_share, ...) from the connection and copies literal ones.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// kGrease in a list stands for that connection's GREASE value of the list
// (RFC 8701); an extension of kind grease_first / grease_last is a GREASE
// extension (empty / one zero byte, as BoringSSL sends them). With |permute|
// set, every extension except the GREASE ones is shuffled per connection, as
// Chrome does since 110. A new browser is a new table row, not new code.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::tls13 {

inline constexpr uint16_t kGrease =
    0x0a0a;  // marks where a fresh GREASE value goes in a profile list

enum class ExtKind : uint8_t {
  literal,                 // |literal| bytes as they are
  grease_first,            // GREASE type, empty body
  grease_last,             // GREASE type (another value), body 00
  server_name,             // from the connection's SNI; omitted when empty
  supported_groups,        // the profile's groups
  signature_algorithms,    // the profile's signature algorithms
  supported_versions,      // the profile's versions
  key_share,               // the key shares of the policy
  alpn,                    // the connection's ALPN list; omitted when empty
  application_settings,    // ALPS: the ALPN protocols that have settings (h2)
  encrypted_client_hello,  // ECH GREASE (draft-ietf-tls-esni §6.2)
  cookie,                  // the HelloRetryRequest's cookie; omitted when there is none
                           // (a profile without this row sends it after its extensions)
};

struct ProfileExtension {
  uint16_t type;
  ExtKind kind;
  std::span<const uint8_t> literal;  // ExtKind::literal only
};

enum class PaddingRule : uint8_t {
  none,
  boringssl,  // pad hellos of 256..511 bytes up to 512 (the F5 workaround)
};

struct ClientProfile {
  std::string_view name;
  bool permute_extensions;
  uint8_t session_id_len;  // 32: middlebox compatibility mode (then CCS is sent)
  std::span<const uint16_t> cipher_suites;
  std::span<const uint16_t> groups;
  std::span<const uint16_t> signature_algorithms;
  std::span<const uint16_t> versions;
  std::span<const ProfileExtension> extensions;
  PaddingRule padding;
};

// chrome_profile is Chromium 156's ClientHello, as captured from Debian's
// chromium 156.0.8078.129 (tests/data/client_hello/chromium-156.0.8078.129.bin).
const ClientProfile& chrome_profile() noexcept;

// find_profile returns the profile named |name| ("chrome") or nullptr.
const ClientProfile* find_profile(std::string_view name) noexcept;

}  // namespace sluice::tls13

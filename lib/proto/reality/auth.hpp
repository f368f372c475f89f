// proto/reality/auth.hpp: the REALITY token hidden in a TLS 1.3
// ClientHello's legacy_session_id: its 16-byte plaintext, the auth key both
// ends derive from X25519, and the AES-256-GCM seal/open over the hello.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Layout (docs/protocols/reality.md):
//   CH[39..71)  = session id = AES-256-GCM(authKey, nonce = random[20..32),
//                 aad = the whole ClientHello message with CH[39..71) zeroed,
//                 plaintext = version(3) | 0 | unix seconds (u32 BE) | short id(8))
//   authKey     = HKDF-SHA256(X25519 shared, salt = random[0..20), "REALITY", 32)
// The client's X25519 key is its plain X25519 share when it sends one, else
// the X25519 half of its X25519MLKEM768 share (find_client_x25519).
//
// Pure functions over caller-owned bytes: no clock, no I/O, thread-safe.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/tls13/messages.hpp"
#include "sluice/error.hpp"

namespace sluice::reality {

inline constexpr size_t kShortIdLen = 8;        // on the wire, right-zero-padded
inline constexpr size_t kSessionIdLen = 32;     // 16 plaintext + 16 tag
inline constexpr size_t kPlaintextLen = 16;     // version, reserved, time, short id
inline constexpr size_t kAuthKeyLen = 32;       // AES-256-GCM key
inline constexpr size_t kKeyLen = 32;           // X25519 private / public key
inline constexpr size_t kSessionIdOffset = 39;  // in the ClientHello message, header included

using ShortId = std::array<uint8_t, kShortIdLen>;
using AuthKey = std::array<uint8_t, kAuthKeyLen>;
using Key = std::array<uint8_t, kKeyLen>;

// Version is the client's x.y.z triple (Xray sends its own build version).
struct Version {
  uint8_t x = 0, y = 0, z = 0;
  auto operator<=>(const Version&) const = default;
};

// kDefaultClientVersion is what the sluice client sends unless configured:
// a current Xray release, since Xray 26.7.x servers refuse anything below
// 26.3.27 by default.
inline constexpr Version kDefaultClientVersion{26, 7, 28};

// parse_short_id decodes a hex short id of even length 0..16 into 8 bytes,
// zero-padded on the right ("aa" = aa00000000000000). config_invalid for an
// odd length, more than 16 digits or a non-hex digit.
Result<ShortId> parse_short_id(std::string_view hex);

// parse_version decodes "x.y.z" (each 0..255). config_invalid otherwise.
Result<Version> parse_version(std::string_view text);

// parse_key decodes a 32-byte X25519 key written in base64 RawURL (43
// characters, URL alphabet, no padding). Standard-alphabet or '='-padded
// input is accepted too when it decodes to 32 bytes. config_invalid
// otherwise.
Result<Key> parse_key(std::string_view text);

// encode_key writes |key| in base64 RawURL, as Xray and sing-box print it.
std::string encode_key(std::span<const uint8_t, kKeyLen> key);

// public_key_of returns X25519(private_key, 9).
Key public_key_of(std::span<const uint8_t, kKeyLen> private_key);

// SessionPlaintext is the 16-byte plaintext of the session id.
struct SessionPlaintext {
  Version version;
  uint32_t unix_seconds = 0;
  ShortId short_id{};
};

void encode_plaintext(const SessionPlaintext& p, std::span<uint8_t, kPlaintextLen> out) noexcept;
SessionPlaintext decode_plaintext(std::span<const uint8_t, kPlaintextLen> in) noexcept;

// derive_auth_key computes HKDF-SHA256(shared, salt = random[0..20),
// info = "REALITY", 32). invalid_argument unless |random| is 32 bytes.
[[nodiscard]] Status derive_auth_key(std::span<const uint8_t, kKeyLen> shared,
                                     std::span<const uint8_t> random, AuthKey& out) noexcept;

// seal_session_id encrypts |plaintext| into |out| (32 bytes) with
// |client_hello| (the whole message, its session id bytes zero) as AAD.
// invalid_argument if the hello is too short to hold a session id at
// kSessionIdOffset or its session id bytes are not zero.
[[nodiscard]] Status seal_session_id(const AuthKey& key, std::span<const uint8_t> client_hello,
                                     std::span<const uint8_t, kPlaintextLen> plaintext,
                                     std::span<uint8_t, kSessionIdLen> out);

// open_session_id authenticates the 32-byte session id of |client_hello|
// (the message as received, header included) and decrypts it into |out|.
// malformed if the hello has no 32-byte session id at kSessionIdOffset;
// decrypt_failed if the tag does not verify (not a REALITY client, or the
// wrong key).
[[nodiscard]] Status open_session_id(const AuthKey& key, std::span<const uint8_t> client_hello,
                                     std::span<uint8_t, kPlaintextLen> out);

// find_client_x25519 returns the client X25519 public key the auth key uses
// (see the header comment). malformed if the key_share extension does not
// decode; not_supported if it has neither a 32-byte X25519 share nor a
// 1216-byte X25519MLKEM768 share.
Result<std::span<const uint8_t, kKeyLen>> find_client_x25519(const tls13::ClientHello& ch);

// server_auth_key derives the auth key on the server: X25519(private_key,
// client share) then derive_auth_key. bad_key for a low-order share.
[[nodiscard]] Status server_auth_key(std::span<const uint8_t, kKeyLen> private_key,
                                     std::span<const uint8_t, kKeyLen> client_share,
                                     std::span<const uint8_t> random, AuthKey& out) noexcept;

// client_auth_key derives it on the client: X25519(share private key,
// server public key) then derive_auth_key.
[[nodiscard]] Status client_auth_key(std::span<const uint8_t, kKeyLen> share_private,
                                     std::span<const uint8_t, kKeyLen> server_public,
                                     std::span<const uint8_t> random, AuthKey& out) noexcept;

}  // namespace sluice::reality

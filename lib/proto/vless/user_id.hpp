// proto/vless/user_id.hpp: UserId, the 16-byte VLESS user id, and its text
// forms (vless.md section 2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Text accepted by parse_user_id, as Xray (common/uuid/uuid.go, and the
// account parser) and sing-box accept it:
//   - 32..36 characters: a hex UUID; each of the five groups (8-4-4-4-12 hex
//     digits) may be preceded by one '-', so both the canonical form and the
//     bare 32-digit form parse;
//   - 1..30 characters: any other string names the user; its id is
//     UUIDv5(namespace = Nil UUID, name = the string): SHA-1 over
//     16 zero bytes || name, first 16 bytes, version nibble 5, RFC 4122
//     variant (RFC 4122 section 4.3). "test" -> e8b764da-5fe5-51ed-8af8-c5c6eca28d7a.
//   - length 0, 31 and > 36 are errors (Xray rejects them).
// A 32..36 character string that is not a valid UUID is an error too (Xray
// does not fall back to UUIDv5 there).
//
// Threading: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/error.hpp"

namespace sluice::vless {

// kUserIdSize: a VLESS user id is 16 raw bytes on the wire (vless.md section 3).
inline constexpr size_t kUserIdSize = 16;

using UserId = std::array<uint8_t, kUserIdSize>;

// parse_user_id turns a configured id string into the 16 wire bytes (rules
// above). invalid_argument for an empty, 31-character, > 36-character or
// malformed hex string.
Result<UserId> parse_user_id(std::string_view text);

// uuid_v5_nil computes UUIDv5 with the Nil namespace over |name| (any length).
UserId uuid_v5_nil(std::string_view name) noexcept;

// format_user_id is the canonical lowercase 8-4-4-4-12 form.
std::string format_user_id(const UserId& id);

}  // namespace sluice::vless

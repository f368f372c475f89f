// proto/base64.hpp: Base64 (RFC 4648 sections 4 and 5) for protocol fields:
// HTTP Basic credentials, share-link userinfo, REALITY keys.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sluice/error.hpp"

namespace sluice {

enum class Base64Alphabet : uint8_t { standard, url };

// base64_encode encodes |data|; |pad| appends '=' to a multiple of 4.
std::string base64_encode(std::span<const uint8_t> data,
                          Base64Alphabet alphabet = Base64Alphabet::standard, bool pad = true);
std::string base64_encode(std::string_view data, Base64Alphabet alphabet = Base64Alphabet::standard,
                          bool pad = true);

// base64_decode decodes |text| in the given alphabet. Padding is optional but,
// when present, must be correct; whitespace, characters of the other alphabet
// and non-zero trailing bits (RFC 4648 section 3.5) are malformed.
Result<std::string> base64_decode(std::string_view text,
                                  Base64Alphabet alphabet = Base64Alphabet::standard);

}  // namespace sluice

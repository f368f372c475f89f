// proto/vless/user_id.cpp: VLESS user id text forms and UUIDv5 (vless.md
// section 2; RFC 4122 section 4.3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/user_id.hpp"

#include <cstring>

#include "crypto/sha1.hpp"

namespace sluice::vless {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// parse_hex_uuid follows Xray's ParseString: five groups of 8, 4, 4, 4, 12
// hex digits, each optionally preceded by '-', and nothing after them.
bool parse_hex_uuid(std::string_view s, UserId* out) noexcept {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t pos = 0;
  size_t o = 0;
  for (size_t g : kGroups) {
    if (pos < s.size() && s[pos] == '-') ++pos;
    if (s.size() - pos < g) return false;
    for (size_t i = 0; i < g; i += 2) {
      int hi = hex_value(s[pos + i]);
      int lo = hex_value(s[pos + i + 1]);
      if (hi < 0 || lo < 0) return false;
      (*out)[o++] = static_cast<uint8_t>((hi << 4) | lo);
    }
    pos += g;
  }
  return pos == s.size();
}

}  // namespace

UserId uuid_v5_nil(std::string_view name) noexcept {
  static constexpr uint8_t kNilNamespace[16] = {};
  uint8_t digest[crypto::kSha1Len];
  crypto::sha1({kNilNamespace, {reinterpret_cast<const uint8_t*>(name.data()), name.size()}},
               digest);
  UserId id;
  std::memcpy(id.data(), digest, id.size());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x50);  // version 5
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

Result<UserId> parse_user_id(std::string_view text) {
  size_t n = text.size();
  if (n == 0 || n == 31 || n > 36) return Errc::invalid_argument;
  if (n <= 30) return uuid_v5_nil(text);
  UserId id{};
  if (!parse_hex_uuid(text, &id)) return Errc::invalid_argument;
  return id;
}

std::string format_user_id(const UserId& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[id[i] >> 4]);
    s.push_back(kHex[id[i] & 0xf]);
  }
  return s;
}

}  // namespace sluice::vless

// hex.hpp: hex and byte helpers shared by the test suites.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

using Bytes = std::vector<uint8_t>;

// hex decodes a hex string, skipping anything that is not a hex digit
// (spaces, newlines, colons), so vectors can be pasted as printed.
inline Bytes hex(std::string_view s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  int hi = -1;
  for (char c : s) {
    const int v = nib(c);
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

// to_hex encodes bytes as lower-case hex.
inline std::string to_hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t x : b) {
    s += kDigits[x >> 4];
    s += kDigits[x & 15];
  }
  return s;
}

// ascii returns the bytes of a string.
inline Bytes ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace sluice::test

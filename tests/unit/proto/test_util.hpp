// Helpers shared by the proto unit tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace sluice::test {

using Bytes = std::vector<uint8_t>;

inline Bytes bytes(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(static_cast<uint8_t>(x));
  return b;
}

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline std::span<const uint8_t> sv(const Bytes& b) { return {b.data(), b.size()}; }

// every_prefix_needs_more checks that each strict prefix of a valid frame is
// answered need_more with nothing consumed.
template <typename Fn>
bool every_prefix_needs_more(const Bytes& frame, Fn parse) {
  for (size_t n = 0; n < frame.size(); ++n) {
    auto r = parse(std::span<const uint8_t>(frame.data(), n));
    if (!r.need_more() || r.consumed != 0) return false;
  }
  return true;
}

}  // namespace sluice::test

// hex.hpp: the post-quantum tests' names for the shared hex helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/hex.hpp"

namespace sluice::pq::test {

inline std::vector<uint8_t> unhex(std::string_view s) { return sluice::test::hex(s); }

inline std::string hex(const uint8_t* p, size_t n) { return sluice::test::to_hex({p, n}); }

template <typename C>
std::string hex(const C& c) {
  return hex(c.data(), c.size());
}

}  // namespace sluice::pq::test

// Tests for random_bytes, secure_wipe and constant_time_equal
// (lib/crypto/random.cpp). Randomness itself is BoringSSL's to test; these
// check the wrapper fills what it is given and nothing else.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "sluice/cipher.hpp"

using namespace sluice;

TEST_CASE("random_bytes fills exactly the span, differently each time", "[crypto][random]") {
  std::array<uint8_t, 48> a{}, b{};
  random_bytes(std::span<uint8_t>(a).subspan(8, 32));
  random_bytes(std::span<uint8_t>(b).subspan(8, 32));
  // Untouched guard bytes on both sides.
  CHECK(std::all_of(a.begin(), a.begin() + 8, [](uint8_t x) { return x == 0; }));
  CHECK(std::all_of(a.begin() + 40, a.end(), [](uint8_t x) { return x == 0; }));
  // 32 random bytes all zero, or equal twice, has probability 2^-256.
  CHECK_FALSE(std::all_of(a.begin() + 8, a.begin() + 40, [](uint8_t x) { return x == 0; }));
  CHECK(a != b);
  random_bytes({});  // an empty span is fine
}

TEST_CASE("secure_wipe zeroes and constant_time_equal compares", "[crypto][random]") {
  std::vector<uint8_t> v = {1, 2, 3, 4};
  const std::vector<uint8_t> same = {1, 2, 3, 4}, other = {1, 2, 3, 5}, shorter = {1, 2, 3};
  CHECK(constant_time_equal(v, same));
  CHECK_FALSE(constant_time_equal(v, other));
  CHECK_FALSE(constant_time_equal(v, shorter));
  CHECK(constant_time_equal({}, {}));
  secure_wipe(v);
  CHECK(v == std::vector<uint8_t>(4, 0));
  secure_wipe({});
}

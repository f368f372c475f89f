// sha1_test.cpp: crypto::sha1 against the FIPS 180 example vectors.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/sha1.hpp"

namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string hex(std::span<const uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

TEST_CASE("sha1: FIPS 180 vectors, in one part and split", "[sha1]") {
  uint8_t out[sluice::crypto::kSha1Len];
  sluice::crypto::sha1({bytes("abc")}, out);
  REQUIRE(hex(out) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  sluice::crypto::sha1({}, out);
  REQUIRE(hex(out) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const std::string_view two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sluice::crypto::sha1({bytes(two)}, out);
  REQUIRE(hex(out) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  // The same message in three parts hashes the same.
  sluice::crypto::sha1({bytes(two.substr(0, 5)), bytes(two.substr(5, 30)), bytes(two.substr(35))},
                       out);
  REQUIRE(hex(out) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

// Tests for Blake2b256 (lib/crypto/blake2b.cpp).
//
// RFC 7693 Appendix A gives only BLAKE2b-512("abc"); the 32-byte-digest
// values below are the ones published with independent BLAKE2b
// implementations (BouncyCastle's digest tests, stellar-core's
// crypto tests, cosmopolitan's BLAKE2B256 tests), which all agree.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/cipher.hpp"
#include "support/hex.hpp"

using namespace sluice;

namespace {

using test::ascii;
using test::Bytes;
using test::hex;
using test::to_hex;

std::string b2(std::string_view msg) {
  std::array<uint8_t, kBlake2b256Len> out;
  Blake2b256::hash(ascii(msg), out);
  return to_hex(out);
}

}  // namespace

TEST_CASE("BLAKE2b-256 known answers", "[crypto][blake2b]") {
  CHECK(b2("") == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(b2("abc") == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  CHECK(b2("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "5f7a93da9c5621583f22e49e8e91a40cbba37536622235a380f434b9f68e49c4");
  std::array<uint8_t, kBlake2b256Len> out;
  Blake2b256::hash(hex("00"), out);
  CHECK(to_hex(out) == "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314");
}

TEST_CASE("BLAKE2b-256 incremental over block boundaries equals one-shot", "[crypto][blake2b]") {
  Bytes msg(1000);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i * 7);
  std::array<uint8_t, kBlake2b256Len> one, inc;
  Blake2b256::hash(msg, one);
  for (size_t step : {1, 3, 64, 127, 128, 129, 999}) {
    INFO("step " << step);
    Blake2b256 h;
    for (size_t off = 0; off < msg.size(); off += step) {
      h.update(std::span<const uint8_t>(msg).subspan(off, std::min(step, msg.size() - off)));
    }
    h.finish(inc);
    CHECK(inc == one);
    // finish() reset the object.
    h.update(ascii("abc"));
    h.finish(inc);
    CHECK(to_hex(inc) == b2("abc"));
  }
  Blake2b256 a;
  a.update(ascii("ab"));
  Blake2b256 fork = a;
  a.update(ascii("c"));
  a.finish(inc);
  CHECK(to_hex(inc) == b2("abc"));
  fork.finish(inc);
  CHECK(to_hex(inc) == b2("ab"));
}

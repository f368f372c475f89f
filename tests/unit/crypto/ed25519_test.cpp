// Tests for Ed25519 (lib/crypto/ed25519.cpp): RFC 8032 §7.1 tests 1-3,
// verification failures and argument checks.
#include <catch2/catch.hpp>

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

struct Case {
  const char* name;
  const char* seed;
  const char* pub;
  const char* msg;
  const char* sig;
};

// RFC 8032 §7.1, TEST 1, TEST 2 and TEST 3.
const Case kCases[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
     "f9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0"
     "f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76098"
     "4dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

}  // namespace

TEST_CASE("Ed25519 matches RFC 8032 section 7.1 tests 1-3", "[crypto][ed25519]") {
  for (const Case& c : kCases) {
    INFO(c.name);
    auto kp = Ed25519KeyPair::from_seed(hex(c.seed));
    REQUIRE(kp.has_value());
    CHECK(to_hex(kp->public_key()) == c.pub);
    CHECK(to_hex(kp->seed()) == c.seed);
    uint8_t sig[64];
    REQUIRE(kp->sign(hex(c.msg), sig).has_value());
    CHECK(to_hex(sig) == c.sig);
    CHECK(ed25519_verify(hex(c.pub), hex(c.msg), hex(c.sig)).has_value());
  }
}

TEST_CASE("Ed25519 verification fails on any change", "[crypto][ed25519]") {
  const Case& c = kCases[2];
  const Bytes pub = hex(c.pub), msg = hex(c.msg), sig = hex(c.sig);
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    Bytes bad = sig;
    bad[i] ^= 0x04;
    CHECK(ed25519_verify(pub, msg, bad).error() == Errc::crypto_failure);
  }
  Bytes bad_msg = msg;
  bad_msg[1] ^= 1;
  CHECK(ed25519_verify(pub, bad_msg, sig).error() == Errc::crypto_failure);
  CHECK(ed25519_verify(pub, {}, sig).error() == Errc::crypto_failure);
  CHECK(ed25519_verify(hex(kCases[0].pub), msg, sig).error() == Errc::crypto_failure);
}

TEST_CASE("Ed25519 checks lengths", "[crypto][ed25519]") {
  const Bytes pub = hex(kCases[0].pub), sig = hex(kCases[0].sig);
  CHECK(ed25519_verify(Bytes(31, 0), {}, sig).error() == Errc::invalid_argument);
  CHECK(ed25519_verify(pub, {}, Bytes(63, 0)).error() == Errc::invalid_argument);
  CHECK(ed25519_verify(pub, {}, Bytes(65, 0)).error() == Errc::invalid_argument);
  CHECK(Ed25519KeyPair::from_seed(Bytes(31, 1)).error() == Errc::invalid_argument);
  CHECK(Ed25519KeyPair::from_seed(Bytes(64, 1)).error() == Errc::invalid_argument);
  auto kp = Ed25519KeyPair::from_seed(hex(kCases[0].seed));
  REQUIRE(kp.has_value());
  uint8_t small[63];
  CHECK(kp->sign({}, small).error() == Errc::buffer_too_small);
}

TEST_CASE("a generated Ed25519 key signs and verifies", "[crypto][ed25519]") {
  Ed25519KeyPair a = Ed25519KeyPair::generate();
  Ed25519KeyPair b = Ed25519KeyPair::generate();
  CHECK(to_hex(a.public_key()) != to_hex(b.public_key()));
  auto again = Ed25519KeyPair::from_seed(a.seed());
  REQUIRE(again.has_value());
  CHECK(to_hex(again->public_key()) == to_hex(a.public_key()));
  const Bytes msg = ascii("sluice");
  uint8_t sig[64];
  REQUIRE(a.sign(msg, sig).has_value());
  CHECK(ed25519_verify(a.public_key(), msg, sig).has_value());
  CHECK(ed25519_verify(b.public_key(), msg, sig).error() == Errc::crypto_failure);
}

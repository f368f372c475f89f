// Tests for X25519 (lib/crypto/x25519.cpp): RFC 7748 §5.2 and §6.1, the
// all-zero-output rejection, and argument checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <iterator>
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

}  // namespace

TEST_CASE("X25519 matches the RFC 7748 section 5.2 vectors", "[crypto][x25519]") {
  struct Case {
    const char* scalar;
    const char* u;
    const char* out;
  };
  const Case cases[] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      // The u-coordinate's top bit is set: implementations must mask it.
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (const Case& c : cases) {
    uint8_t out[32];
    REQUIRE(x25519(hex(c.scalar), hex(c.u), out).has_value());
    CHECK(to_hex(out) == c.out);
  }
}

TEST_CASE("X25519 iterated 1 and 1000 times (RFC 7748 section 5.2)", "[crypto][x25519]") {
  // k = u = 9; then repeatedly k, u = X25519(k, u), k.
  std::array<uint8_t, 32> k{}, u{}, r{};
  k[0] = 9;
  u[0] = 9;
  for (int i = 1; i <= 1000; ++i) {
    REQUIRE(x25519(k, u, r).has_value());
    u = k;
    k = r;
    if (i == 1)
      CHECK(to_hex(k) == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  CHECK(to_hex(k) == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST_CASE("X25519 Diffie-Hellman of RFC 7748 section 6.1", "[crypto][x25519]") {
  const Bytes alice_priv = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_priv = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const char* alice_pub = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  const char* bob_pub = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  const char* shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

  uint8_t pub[32];
  REQUIRE(x25519_public_from_private(alice_priv, pub).has_value());
  CHECK(to_hex(pub) == alice_pub);

  auto alice = X25519KeyPair::from_private(alice_priv);
  auto bob = X25519KeyPair::from_private(bob_priv);
  REQUIRE(alice.has_value());
  REQUIRE(bob.has_value());
  CHECK(to_hex(alice->public_key()) == alice_pub);
  CHECK(to_hex(bob->public_key()) == bob_pub);
  CHECK(to_hex(alice->private_key()) == to_hex(alice_priv));

  uint8_t k1[32], k2[32];
  REQUIRE(alice->shared_secret(bob->public_key(), k1).has_value());
  REQUIRE(bob->shared_secret(alice->public_key(), k2).has_value());
  CHECK(to_hex(k1) == shared);
  CHECK(to_hex(k2) == shared);
}

TEST_CASE("generated X25519 key pairs agree and differ", "[crypto][x25519]") {
  X25519KeyPair a = X25519KeyPair::generate();
  X25519KeyPair b = X25519KeyPair::generate();
  CHECK(to_hex(a.public_key()) != to_hex(b.public_key()));
  uint8_t pub[32];
  REQUIRE(x25519_public_from_private(a.private_key(), pub).has_value());
  CHECK(to_hex(pub) == to_hex(a.public_key()));
  uint8_t k1[32], k2[32];
  REQUIRE(a.shared_secret(b.public_key(), k1).has_value());
  REQUIRE(b.shared_secret(a.public_key(), k2).has_value());
  CHECK(to_hex(k1) == to_hex(k2));
}

TEST_CASE("X25519 rejects a small-order peer key with bad_key and a zeroed output",
          "[crypto][x25519]") {
  X25519KeyPair kp = X25519KeyPair::generate();
  // u = 0 and u = 1 are points of small order: every scalar maps them to 0.
  const Bytes small_order[] = {
      Bytes(32, 0),
      hex("0100000000000000000000000000000000000000000000000000000000000000"),
  };
  for (const Bytes& peer : small_order) {
    uint8_t out[32];
    std::fill(std::begin(out), std::end(out), 0xee);
    CHECK(kp.shared_secret(peer, out).error() == Errc::bad_key);
    CHECK(to_hex(out) == std::string(64, '0'));
    CHECK(x25519(kp.private_key(), peer, out).error() == Errc::bad_key);
  }
}

TEST_CASE("X25519 checks key and buffer lengths", "[crypto][x25519]") {
  const Bytes k32(32, 5), k31(31, 5), k33(33, 5);
  uint8_t out[32], small[31];
  CHECK(x25519(k31, k32, out).error() == Errc::invalid_argument);
  CHECK(x25519(k32, k33, out).error() == Errc::invalid_argument);
  CHECK(x25519(k32, {}, out).error() == Errc::invalid_argument);
  CHECK(x25519(k32, hex("09"), small).error() == Errc::invalid_argument);
  Bytes nine(32, 0);
  nine[0] = 9;
  CHECK(x25519(k32, nine, small).error() == Errc::buffer_too_small);
  CHECK(x25519_public_from_private(k33, out).error() == Errc::invalid_argument);
  CHECK(x25519_public_from_private(k32, small).error() == Errc::buffer_too_small);
  CHECK(X25519KeyPair::from_private(k31).error() == Errc::invalid_argument);
  auto kp = X25519KeyPair::from_private(k32);
  REQUIRE(kp.has_value());
  CHECK(kp->shared_secret(k31, out).error() == Errc::invalid_argument);
}

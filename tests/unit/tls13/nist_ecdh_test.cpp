// Tests for the P-256 / P-384 ECDH key pairs the TLS 1.3 engine uses
// (lib/crypto/p256.hpp, p384.hpp): the generator from scalar 1 (SEC 2
// constants), agreement both ways, and the rejections of bad scalars and
// bad peer points. The engine's use of them against OpenSSL is in
// tests/interop/tls13_openssl_test.cpp.
#include <catch2/catch.hpp>

#include <vector>

#include "crypto/p256.hpp"
#include "crypto/p384.hpp"
#include "support/hex.hpp"

using namespace sluice;
using namespace sluice::crypto;
using test::hex;
using test::to_hex;

namespace {

// SEC 2 v2 §2.5.1: secp384r1's base point and order.
constexpr const char* kP384G =
    "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872"
    "760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c"
    "90ea0e5f";
constexpr const char* kP384Order =
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc529"
    "73";
// SEC 2 v2 §2.4.2: secp256r1's base point.
constexpr const char* kP256G =
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f"
    "9e162bce33576b315ececbb6406837bf51f5";

}  // namespace

TEST_CASE("P-384: scalar 1 is the generator; agreement both ways", "[tls13][crypto][p384]") {
  std::vector<uint8_t> one(kP384ScalarLen, 0);
  one.back() = 1;
  auto g = P384KeyPair::from_private(one);
  REQUIRE(g.has_value());
  CHECK(to_hex(g->public_key()) == kP384G);

  for (int i = 0; i < 4; ++i) {
    auto a = P384KeyPair::generate();
    auto b = P384KeyPair::generate();
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(to_hex(a->public_key()) != to_hex(b->public_key()));
    std::array<uint8_t, kP384SecretLen> ab{}, ba{};
    REQUIRE(a->shared_secret(b->public_key(), ab).has_value());
    REQUIRE(b->shared_secret(a->public_key(), ba).has_value());
    CHECK(ab == ba);
    // 1 * B is B's own x-coordinate.
    std::array<uint8_t, kP384SecretLen> x{};
    REQUIRE(g->shared_secret(b->public_key(), x).has_value());
    CHECK(to_hex(x) == to_hex(b->public_key().subspan(1, 48)));
  }
}

TEST_CASE("P-384: bad scalars and bad peer points are refused", "[tls13][crypto][p384]") {
  CHECK(P384KeyPair::from_private(std::vector<uint8_t>(48, 0)).error() == Errc::invalid_argument);
  CHECK(P384KeyPair::from_private(hex(kP384Order)).error() == Errc::invalid_argument);
  CHECK(P384KeyPair::from_private(std::vector<uint8_t>(48, 0xff)).error() ==
        Errc::invalid_argument);
  CHECK(P384KeyPair::from_private(std::vector<uint8_t>(32, 1)).error() == Errc::invalid_argument);

  auto a = P384KeyPair::generate();
  REQUIRE(a.has_value());
  std::array<uint8_t, kP384SecretLen> out{};
  const auto g = hex(kP384G);
  REQUIRE(a->shared_secret(g, out).has_value());
  auto off_curve = g;
  off_curve.back() ^= 1;
  CHECK(a->shared_secret(off_curve, out).error() == Errc::malformed);
  auto compressed = std::vector<uint8_t>(g.begin(), g.begin() + 49);
  compressed[0] = 0x03;
  CHECK(a->shared_secret(compressed, out).error() == Errc::malformed);
  auto wrong_prefix = g;
  wrong_prefix[0] = 0x06;
  CHECK(a->shared_secret(wrong_prefix, out).error() == Errc::malformed);
  CHECK(a->shared_secret(std::vector<uint8_t>(g.begin(), g.end() - 1), out).error() ==
        Errc::malformed);
  CHECK(a->shared_secret(hex(kP256G), out).error() == Errc::malformed);  // a P-256 point
  // The point at infinity is not a valid share.
  CHECK_FALSE(a->shared_secret(std::vector<uint8_t>{0x00}, out).has_value());
}

TEST_CASE("P-256 over the shared NIST helpers: generator and agreement", "[tls13][crypto][p256]") {
  std::vector<uint8_t> one(kP256ScalarLen, 0);
  one.back() = 1;
  auto g = P256KeyPair::from_private(one);
  REQUIRE(g.has_value());
  CHECK(to_hex(g->public_key()) == kP256G);
  auto a = P256KeyPair::generate();
  auto b = P256KeyPair::generate();
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  std::array<uint8_t, 32> ab{}, ba{};
  REQUIRE(a->shared_secret(b->public_key(), ab).has_value());
  REQUIRE(b->shared_secret(a->public_key(), ba).has_value());
  CHECK(ab == ba);
  auto bad = hex(kP256G);
  bad[10] ^= 0x40;
  CHECK(a->shared_secret(bad, ab).error() == Errc::malformed);
  CHECK(a->shared_secret(hex(kP384G), ab).error() == Errc::malformed);
}

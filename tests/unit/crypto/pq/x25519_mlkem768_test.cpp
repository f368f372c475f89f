// Tests for lib/crypto/pq/x25519_mlkem768.cpp (the X25519MLKEM768 TLS hybrid,
// draft-ietf-tls-ecdhe-mlkem): layout, agreement, and every error path. The
// component algorithms have their own known-answer tests; interoperability
// with an independent implementation is tests/crosscheck/pq.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include <openssl/curve25519.h>

#include "crypto/pq/mlkem768.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"

using namespace sluice;
using namespace sluice::pq;

namespace {

using ServerShare = std::array<uint8_t, kX25519Mlkem768ServerShareSize>;
using Secret = std::array<uint8_t, kX25519Mlkem768SecretSize>;

}  // namespace

TEST_CASE("X25519MLKEM768 sizes and group id", "[crypto][pq][hybrid]") {
  STATIC_REQUIRE(kX25519Mlkem768GroupId == 0x11ec);
  STATIC_REQUIRE(kX25519Mlkem768ClientShareSize == 1216);
  STATIC_REQUIRE(kX25519Mlkem768ServerShareSize == 1120);
  STATIC_REQUIRE(kX25519Mlkem768SecretSize == 64);
}

TEST_CASE("X25519MLKEM768 client and server agree", "[crypto][pq][hybrid]") {
  for (int i = 0; i < 10; ++i) {
    auto client = X25519Mlkem768Client::generate();
    REQUIRE(client.has_value());
    ServerShare sshare;
    Secret ssecret, csecret;
    REQUIRE(x25519_mlkem768_server(client->share(), sshare, ssecret).has_value());
    REQUIRE(client->finish(sshare, csecret).has_value());
    CHECK(ssecret == csecret);
    CHECK(ssecret != Secret{});
  }
}

TEST_CASE("X25519MLKEM768 layout: ML-KEM first, then X25519", "[crypto][pq][hybrid]") {
  uint8_t seed[kMlkemSeedSize], cpriv[32], spriv[32], m[32];
  for (int i = 0; i < 64; ++i) seed[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 32; ++i) {
    cpriv[i] = static_cast<uint8_t>(0x40 + i);
    spriv[i] = static_cast<uint8_t>(0x80 + i);
    m[i] = static_cast<uint8_t>(0xc0 + i);
  }
  const auto client = X25519Mlkem768Client::from_seed_for_test(std::span<const uint8_t, 64>(seed),
                                                               std::span<const uint8_t, 32>(cpriv));
  const auto dk = Mlkem768DecapsKey::from_seed(std::span<const uint8_t, 64>(seed));
  uint8_t cpub[32], spub[32];
  X25519_public_from_private(cpub, cpriv);
  X25519_public_from_private(spub, spriv);

  // client share = ek ‖ X25519 public
  const auto share = client.share();
  CHECK(std::memcmp(share.data(), dk.encaps_key().bytes().data(), kMlkem768EncapsKeySize) == 0);
  CHECK(std::memcmp(share.data() + kMlkem768EncapsKeySize, cpub, 32) == 0);

  ServerShare sshare;
  Secret ssecret, csecret;
  REQUIRE(x25519_mlkem768_server_for_test(share, std::span<const uint8_t, 32>(m),
                                          std::span<const uint8_t, 32>(spriv), sshare, ssecret)
              .has_value());
  // server share = ciphertext ‖ X25519 public; secret = K ‖ X25519(a, B)
  uint8_t ct[kMlkem768CiphertextSize], k[32], dh[32];
  dk.encaps_key().encapsulate_deterministic(std::span<const uint8_t, 32>(m), ct, k);
  REQUIRE(X25519(dh, spriv, cpub) == 1);
  CHECK(std::memcmp(sshare.data(), ct, sizeof(ct)) == 0);
  CHECK(std::memcmp(sshare.data() + kMlkem768CiphertextSize, spub, 32) == 0);
  CHECK(std::memcmp(ssecret.data(), k, 32) == 0);
  CHECK(std::memcmp(ssecret.data() + 32, dh, 32) == 0);

  REQUIRE(client.finish(sshare, csecret).has_value());
  CHECK(csecret == ssecret);
}

TEST_CASE("X25519MLKEM768 server rejects bad client shares", "[crypto][pq][hybrid]") {
  auto client = X25519Mlkem768Client::generate();
  REQUIRE(client.has_value());
  const std::vector<uint8_t> good(client->share().begin(), client->share().end());
  ServerShare sshare;
  Secret secret;

  SECTION("wrong lengths are malformed") {
    for (size_t len : {size_t{0}, size_t{32}, size_t{1184}, size_t{1215}, size_t{1217}}) {
      std::vector<uint8_t> bad(len, 0);
      if (len) std::memcpy(bad.data(), good.data(), std::min(len, good.size()));
      CHECK(x25519_mlkem768_server(bad, sshare, secret).error() == Errc::malformed);
    }
  }
  SECTION("an ML-KEM key with a coefficient >= q is bad_key") {
    auto bad = good;
    bad[0] = 0xff;
    bad[1] |= 0x0f;  // first coefficient = 4095
    CHECK(x25519_mlkem768_server(bad, sshare, secret).error() == Errc::bad_key);
    CHECK(secret == Secret{});
  }
  SECTION("a low-order X25519 point is bad_key") {
    auto bad = good;
    std::memset(bad.data() + kMlkem768EncapsKeySize, 0, 32);
    CHECK(x25519_mlkem768_server(bad, sshare, secret).error() == Errc::bad_key);
    CHECK(secret == Secret{});
    CHECK(sshare == ServerShare{});
  }
}

TEST_CASE("X25519MLKEM768 client rejects bad server shares", "[crypto][pq][hybrid]") {
  auto client = X25519Mlkem768Client::generate();
  REQUIRE(client.has_value());
  ServerShare sshare;
  Secret ssecret, csecret;
  REQUIRE(x25519_mlkem768_server(client->share(), sshare, ssecret).has_value());

  SECTION("wrong lengths are malformed") {
    for (size_t len : {size_t{0}, size_t{32}, size_t{1088}, size_t{1119}, size_t{1121}}) {
      std::vector<uint8_t> bad(len, 0);
      if (len) std::memcpy(bad.data(), sshare.data(), std::min(len, sshare.size()));
      CHECK(client->finish(bad, csecret).error() == Errc::malformed);
    }
  }
  SECTION("a low-order X25519 point is bad_key") {
    auto bad = sshare;
    std::memset(bad.data() + kMlkem768CiphertextSize, 0, 32);
    CHECK(client->finish(bad, csecret).error() == Errc::bad_key);
    CHECK(csecret == Secret{});
  }
  SECTION("a modified ciphertext gives a different ML-KEM half (implicit rejection)") {
    auto bad = sshare;
    bad[100] ^= 1;
    REQUIRE(client->finish(bad, csecret).has_value());
    CHECK(std::memcmp(csecret.data(), ssecret.data(), 32) != 0);
    CHECK(std::memcmp(csecret.data() + 32, ssecret.data() + 32, 32) == 0);
  }
}

// Tests for Hmac (lib/crypto/hmac.cpp): RFC 4231 test cases for SHA-256,
// SHA-384 and SHA-512, incremental use, and a cross-check of the in-house
// HMAC construction against BoringSSL's own HMAC() for many key lengths.
#include <openssl/digest.h>
#include <openssl/hmac.h>
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
  Bytes key;
  Bytes data;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

// RFC 4231 §4.2-4.8, except test case 5 (truncated output).
std::vector<Case> rfc4231() {
  return {
      {"test case 1", Bytes(20, 0x0b), ascii("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8"
       "b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274e"
       "aea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"test case 2", ascii("Jefe"), ascii("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ec"
       "fab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65"
       "f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"test case 3", Bytes(20, 0xaa), Bytes(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e1"
       "01a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a4"
       "7e67c807b946a337bee8942674278859e13292fb"},
      {"test case 6 (key longer than a block)", Bytes(131, 0xaa),
       ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df1"
       "63f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd221"
       "5d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {"test case 7 (key and data longer than a block)", Bytes(131, 0xaa),
       ascii("This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e611"
       "0c46523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55"
       "c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
}

std::string mac_hex(DigestAlgorithm alg, const Bytes& key, const Bytes& data) {
  uint8_t out[kMaxDigestLen];
  REQUIRE(Hmac::mac(alg, key, data, out).has_value());
  return to_hex(std::span<const uint8_t>(out, digest_len(alg)));
}

}  // namespace

TEST_CASE("HMAC-SHA256/384/512 match RFC 4231", "[crypto][hmac]") {
  for (const Case& c : rfc4231()) {
    INFO(c.name);
    CHECK(mac_hex(DigestAlgorithm::sha256, c.key, c.data) == c.sha256);
    CHECK(mac_hex(DigestAlgorithm::sha384, c.key, c.data) == c.sha384);
    CHECK(mac_hex(DigestAlgorithm::sha512, c.key, c.data) == c.sha512);
  }
}

TEST_CASE("incremental HMAC equals one-shot, and finish() rekeys for the next message",
          "[crypto][hmac]") {
  for (const Case& c : rfc4231()) {
    INFO(c.name);
    Hmac h(DigestAlgorithm::sha512, c.key);
    CHECK(h.size() == 64);
    CHECK(h.algorithm() == DigestAlgorithm::sha512);
    for (int round = 0; round < 3; ++round) {
      for (uint8_t b : c.data) h.update(&b, 1);
      uint8_t out[64];
      REQUIRE(h.finish(out).has_value());
      CHECK(to_hex(out) == c.sha512);
    }
    // reset() drops a half-fed message.
    h.update(ascii("garbage"));
    h.reset();
    h.update(c.data);
    uint8_t out[64];
    REQUIRE(h.finish(out).has_value());
    CHECK(to_hex(out) == c.sha512);
  }
}

TEST_CASE("copying an Hmac forks the running MAC", "[crypto][hmac]") {
  const Case c = rfc4231()[1];
  Hmac h(DigestAlgorithm::sha256, c.key);
  h.update(std::span<const uint8_t>(c.data).first(10));
  Hmac fork = h;
  h.update(std::span<const uint8_t>(c.data).subspan(10));
  uint8_t out[32];
  REQUIRE(h.finish(out).has_value());
  CHECK(to_hex(out) == c.sha256);
  fork.update(std::span<const uint8_t>(c.data).subspan(10));
  REQUIRE(fork.finish(out).has_value());
  CHECK(to_hex(out) == c.sha256);
}

TEST_CASE("HMAC refuses a short output buffer", "[crypto][hmac]") {
  uint8_t small[31];
  CHECK(Hmac::mac(DigestAlgorithm::sha256, ascii("k"), ascii("m"), small).error() ==
        Errc::buffer_too_small);
  Hmac h(DigestAlgorithm::sha256, ascii("k"));
  h.update(ascii("m"));
  CHECK(h.finish(small).error() == Errc::buffer_too_small);
  uint8_t out[32];
  REQUIRE(h.finish(out).has_value());
  CHECK(to_hex(out) == mac_hex(DigestAlgorithm::sha256, ascii("k"), ascii("m")));
}

TEST_CASE("HMAC agrees with BoringSSL's HMAC() for keys of every length around the block",
          "[crypto][hmac]") {
  struct Pair {
    DigestAlgorithm alg;
    const EVP_MD* md;
  };
  const Pair pairs[] = {{DigestAlgorithm::sha224, EVP_sha224()},
                        {DigestAlgorithm::sha256, EVP_sha256()},
                        {DigestAlgorithm::sha384, EVP_sha384()},
                        {DigestAlgorithm::sha512, EVP_sha512()}};
  Bytes key(300), data(777);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 31 + 7);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + 1);
  for (const Pair& p : pairs) {
    for (size_t klen = 0; klen <= 300; klen += (klen < 140 ? 1 : 37)) {
      INFO("alg " << static_cast<int>(p.alg) << " key length " << klen);
      uint8_t want[EVP_MAX_MD_SIZE];
      unsigned want_len = 0;
      REQUIRE(HMAC(p.md, key.data(), klen, data.data(), data.size(), want, &want_len) != nullptr);
      CHECK(mac_hex(p.alg, Bytes(key.begin(), key.begin() + klen), data) ==
            to_hex(std::span<const uint8_t>(want, want_len)));
    }
  }
}

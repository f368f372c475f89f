// Tests for Digest (lib/crypto/digest.cpp): FIPS 180-4 example digests for
// SHA-224/256/384/512, incremental use, state forks and sizes.
#include <catch2/catch.hpp>

#include <algorithm>
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

std::string digest_hex(DigestAlgorithm alg, std::string_view msg) {
  uint8_t out[kMaxDigestLen];
  REQUIRE(Digest::hash(alg, ascii(msg), out).has_value());
  return to_hex(std::span<const uint8_t>(out, digest_len(alg)));
}

// The FIPS 180 example messages (also RFC 6234 §8.5's TEST1 and TEST2).
constexpr std::string_view kAbc = "abc";
constexpr std::string_view k448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr std::string_view k896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmno"
    "pqrsmnopqrstnopqrstu";

}  // namespace

TEST_CASE("SHA-2 digests match the FIPS 180 examples", "[crypto][digest]") {
  CHECK(digest_hex(DigestAlgorithm::sha224, kAbc) ==
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  CHECK(digest_hex(DigestAlgorithm::sha224, "") ==
        "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
  CHECK(digest_hex(DigestAlgorithm::sha224, k448) ==
        "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525");

  CHECK(digest_hex(DigestAlgorithm::sha256, kAbc) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_hex(DigestAlgorithm::sha256, "") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest_hex(DigestAlgorithm::sha256, k448) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  CHECK(digest_hex(DigestAlgorithm::sha384, kAbc) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
        "34c825a7");
  CHECK(digest_hex(DigestAlgorithm::sha384, "") ==
        "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f1"
        "4898b95b");
  CHECK(digest_hex(DigestAlgorithm::sha384, k896) ==
        "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa"
        "91746039");

  CHECK(digest_hex(DigestAlgorithm::sha512, kAbc) ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
        "a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  CHECK(digest_hex(DigestAlgorithm::sha512, "") ==
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2"
        "877eec2f63b931bd47417a81a538327af927da3e");
}

TEST_CASE("Digest sizes and block sizes", "[crypto][digest]") {
  CHECK(digest_len(DigestAlgorithm::sha224) == 28);
  CHECK(digest_len(DigestAlgorithm::sha256) == 32);
  CHECK(digest_len(DigestAlgorithm::sha384) == 48);
  CHECK(digest_len(DigestAlgorithm::sha512) == 64);
  CHECK(digest_block_len(DigestAlgorithm::sha224) == 64);
  CHECK(digest_block_len(DigestAlgorithm::sha256) == 64);
  CHECK(digest_block_len(DigestAlgorithm::sha384) == 128);
  CHECK(digest_block_len(DigestAlgorithm::sha512) == 128);
  Digest d(DigestAlgorithm::sha384);
  CHECK(d.size() == 48);
  CHECK(d.algorithm() == DigestAlgorithm::sha384);
}

TEST_CASE("Digest fed a byte at a time equals the one-shot hash; finish resets",
          "[crypto][digest]") {
  for (auto alg : {DigestAlgorithm::sha224, DigestAlgorithm::sha256, DigestAlgorithm::sha384,
                   DigestAlgorithm::sha512}) {
    INFO(static_cast<int>(alg));
    const Bytes msg = ascii(k896);
    Digest d(alg);
    for (uint8_t b : msg) d.update(&b, 1);
    uint8_t a[kMaxDigestLen], b[kMaxDigestLen];
    REQUIRE(d.finish(a).has_value());
    REQUIRE(Digest::hash(alg, msg, b).has_value());
    CHECK(to_hex(std::span<const uint8_t>(a, d.size())) ==
          to_hex(std::span<const uint8_t>(b, d.size())));
    // finish() reset the state: the next message starts from scratch.
    d.update(ascii(kAbc));
    REQUIRE(d.finish(a).has_value());
    CHECK(to_hex(std::span<const uint8_t>(a, d.size())) == digest_hex(alg, kAbc));
  }
}

TEST_CASE("copying a Digest forks the running hash (transcript snapshots)", "[crypto][digest]") {
  Digest running(DigestAlgorithm::sha256);
  running.update(ascii("ab"));
  Digest snapshot = running;
  running.update(ascii("c"));
  uint8_t out[32];
  REQUIRE(running.finish(out).has_value());
  CHECK(to_hex(out) == digest_hex(DigestAlgorithm::sha256, "abc"));
  REQUIRE(snapshot.finish(out).has_value());
  CHECK(to_hex(out) == digest_hex(DigestAlgorithm::sha256, "ab"));
  snapshot.update(ascii("x"));
  snapshot.reset();
  REQUIRE(snapshot.finish(out).has_value());
  CHECK(to_hex(out) == digest_hex(DigestAlgorithm::sha256, ""));
}

TEST_CASE("Digest refuses an output buffer shorter than the digest", "[crypto][digest]") {
  uint8_t small[47] = {};
  CHECK(Digest::hash(DigestAlgorithm::sha384, ascii(kAbc), small).error() ==
        Errc::buffer_too_small);
  Digest d(DigestAlgorithm::sha384);
  d.update(ascii(kAbc));
  CHECK(d.finish(small).error() == Errc::buffer_too_small);
  // The state survives a refused finish.
  uint8_t out[48];
  REQUIRE(d.finish(out).has_value());
  CHECK(to_hex(out) == digest_hex(DigestAlgorithm::sha384, kAbc));
  // A longer buffer is fine; only the front is written.
  uint8_t big[64];
  std::fill(std::begin(big), std::end(big), 0xee);
  REQUIRE(Digest::hash(DigestAlgorithm::sha224, ascii(kAbc), big).has_value());
  CHECK(big[28] == 0xee);
}

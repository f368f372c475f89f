// Retry and NEW_TOKEN tokens (lib/quic/retry_token): round trip, and every
// way a token from the network can be wrong: size, magic, bit flips, another
// client address (or port, for Retry), another DCID, expiry, a clock running
// backwards, a bad original-DCID length sealed inside, and one kind of token
// relabelled as the other.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "quic/retry_token.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {

sockaddr_in v4(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

ngtcp2_cid cid(uint8_t fill, size_t len) {
  ngtcp2_cid c;
  c.datalen = len;
  std::memset(c.data, fill, len);
  return c;
}

const sockaddr* sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }

}  // namespace

TEST_CASE("Retry token round trip carries the original DCID", "[unit][quic]") {
  RetryTokenKey key;
  const auto client = v4("192.0.2.7", 4433);
  const auto odcid = cid(0x11, 18), scid = cid(0x22, 16);
  uint8_t tok[RetryTokenKey::kTokenLen];
  REQUIRE(key.seal(sa(client), odcid, scid, 1000, tok));
  auto r = key.open(tok, sa(client), scid, 1500, 10000);
  REQUIRE(r);
  CHECK(r->datalen == 18);
  CHECK(std::memcmp(r->data, odcid.data, 18) == 0);
  // IPv6 clients too.
  sockaddr_in6 c6{};
  c6.sin6_family = AF_INET6;
  c6.sin6_port = htons(9);
  inet_pton(AF_INET6, "2001:db8::1", &c6.sin6_addr);
  REQUIRE(key.seal(reinterpret_cast<sockaddr*>(&c6), odcid, scid, 1000, tok));
  CHECK(key.open(tok, reinterpret_cast<sockaddr*>(&c6), scid, 1000, 10000));
  CHECK(key.open(tok, sa(client), scid, 1000, 10000).error() == Errc::decrypt_failed);
}

TEST_CASE("Retry token validation rejects bad tokens with specific errors", "[unit][quic]") {
  RetryTokenKey key;
  const auto client = v4("192.0.2.7", 4433);
  const auto odcid = cid(0x11, 8), scid = cid(0x22, 16);
  uint8_t tok[RetryTokenKey::kTokenLen];
  REQUIRE(key.seal(sa(client), odcid, scid, 5000, tok));

  SECTION("wrong size or magic: not ours") {
    CHECK(key.open({tok, sizeof tok - 1}, sa(client), scid, 5000, 10000).error() ==
          Errc::malformed);
    CHECK(key.open({tok, size_t{0}}, sa(client), scid, 5000, 10000).error() == Errc::malformed);
    uint8_t longer[RetryTokenKey::kTokenLen + 1] = {};
    std::memcpy(longer, tok, sizeof tok);
    CHECK(key.open(longer, sa(client), scid, 5000, 10000).error() == Errc::malformed);
    tok[0] ^= 1;
    CHECK(key.open(tok, sa(client), scid, 5000, 10000).error() == Errc::malformed);
  }
  SECTION("any flipped bit after the magic fails authentication") {
    for (size_t i = 1; i < sizeof tok; ++i) {
      uint8_t t[RetryTokenKey::kTokenLen];
      std::memcpy(t, tok, sizeof t);
      t[i] ^= 0x40;
      INFO("byte " << i);
      CHECK(key.open(t, sa(client), scid, 5000, 10000).error() == Errc::decrypt_failed);
    }
  }
  SECTION("another address, port or DCID") {
    CHECK(key.open(tok, sa(v4("192.0.2.8", 4433)), scid, 5000, 10000).error() ==
          Errc::decrypt_failed);
    CHECK(key.open(tok, sa(v4("192.0.2.7", 4434)), scid, 5000, 10000).error() ==
          Errc::decrypt_failed);
    CHECK(key.open(tok, sa(client), cid(0x23, 16), 5000, 10000).error() == Errc::decrypt_failed);
    CHECK(key.open(tok, sa(client), cid(0x22, 15), 5000, 10000).error() == Errc::decrypt_failed);
  }
  SECTION("another endpoint's key") {
    RetryTokenKey other;
    CHECK(other.open(tok, sa(client), scid, 5000, 10000).error() == Errc::decrypt_failed);
  }
  SECTION("expiry and a clock that went backwards") {
    CHECK(key.open(tok, sa(client), scid, 15000, 10000));
    CHECK(key.open(tok, sa(client), scid, 15001, 10000).error() == Errc::timed_out);
    CHECK(key.open(tok, sa(client), scid, 4999, 10000).error() == Errc::timed_out);
  }
  SECTION("an original DCID shorter than 8 bytes sealed inside") {
    // Only our own key can produce this; the length check still holds.
    REQUIRE(key.seal(sa(client), cid(0x11, 4), scid, 5000, tok));
    CHECK(key.open(tok, sa(client), scid, 5000, 10000).error() == Errc::malformed);
  }
  SECTION("an over-long CID cannot be sealed") {
    ngtcp2_cid bad = cid(0, 20);
    bad.datalen = 21;
    CHECK(key.seal(sa(client), bad, scid, 5000, tok).error() == Errc::invalid_argument);
  }
}

TEST_CASE("Retry tokens from a fixed key are reproducible across endpoints", "[unit][quic]") {
  uint8_t k[32];
  for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(i);
  RetryTokenKey a{std::span<const uint8_t, 32>(k)}, b{std::span<const uint8_t, 32>(k)};
  const auto client = v4("127.0.0.1", 5000);
  uint8_t tok[RetryTokenKey::kTokenLen];
  REQUIRE(a.seal(sa(client), cid(1, 20), cid(2, 8), 42, tok));
  auto r = b.open(tok, sa(client), cid(2, 8), 42, 0);
  REQUIRE(r);
  CHECK(r->datalen == 20);
}

// --- NEW_TOKEN tokens (RFC 9000 §8.1.3) ---------------------------------------

TEST_CASE("NEW_TOKEN round trip binds the client IP, not its port", "[unit][quic]") {
  RetryTokenKey key;
  const auto client = v4("192.0.2.7", 4433);
  uint8_t tok[RetryTokenKey::kNewTokenLen];
  REQUIRE(key.seal_new_token(sa(client), 1'000'000, tok));
  CHECK(tok[0] == RetryTokenKey::kNewTokenMagic);
  CHECK(key.open_new_token(tok, sa(client), 1'000'500, 10000));
  // A client rebinds between connections: another port is fine.
  CHECK(key.open_new_token(tok, sa(v4("192.0.2.7", 1)), 1'000'500, 10000));
  CHECK(key.open_new_token(tok, sa(v4("192.0.2.8", 4433)), 1'000'500, 10000).error() ==
        Errc::decrypt_failed);
  // IPv6, and the families never mix.
  sockaddr_in6 c6{};
  c6.sin6_family = AF_INET6;
  c6.sin6_port = htons(9);
  inet_pton(AF_INET6, "2001:db8::1", &c6.sin6_addr);
  REQUIRE(key.seal_new_token(reinterpret_cast<sockaddr*>(&c6), 1'000'000, tok));
  CHECK(key.open_new_token(tok, reinterpret_cast<sockaddr*>(&c6), 1'000'000, 10000));
  c6.sin6_port = htons(10);
  CHECK(key.open_new_token(tok, reinterpret_cast<sockaddr*>(&c6), 1'000'000, 10000));
  CHECK(key.open_new_token(tok, sa(client), 1'000'000, 10000).error() == Errc::decrypt_failed);
  // Two tokens for the same client at the same time differ (random nonce).
  uint8_t a[RetryTokenKey::kNewTokenLen], b[RetryTokenKey::kNewTokenLen];
  REQUIRE(key.seal_new_token(sa(client), 5, a));
  REQUIRE(key.seal_new_token(sa(client), 5, b));
  CHECK(std::memcmp(a, b, sizeof a) != 0);
}

TEST_CASE("NEW_TOKEN validation rejects bad tokens with specific errors", "[unit][quic]") {
  RetryTokenKey key;
  const auto client = v4("198.51.100.1", 5000);
  const uint64_t t0 = 1'700'000'000'000;  // wall-clock milliseconds
  const uint64_t life = 24ull * 3600 * 1000;
  uint8_t tok[RetryTokenKey::kNewTokenLen];
  REQUIRE(key.seal_new_token(sa(client), t0, tok));

  SECTION("truncated, extended, empty or another magic: not a NEW_TOKEN of ours") {
    for (size_t n = 0; n < sizeof tok; ++n) {
      INFO("length " << n);
      CHECK(key.open_new_token({tok, n}, sa(client), t0, life).error() == Errc::malformed);
    }
    uint8_t longer[RetryTokenKey::kNewTokenLen + 1] = {};
    std::memcpy(longer, tok, sizeof tok);
    CHECK(key.open_new_token(longer, sa(client), t0, life).error() == Errc::malformed);
    for (int m = 0; m < 256; ++m) {
      if (m == RetryTokenKey::kNewTokenMagic) continue;
      tok[0] = static_cast<uint8_t>(m);
      INFO("magic " << m);
      CHECK(key.open_new_token(tok, sa(client), t0, life).error() == Errc::malformed);
    }
  }
  SECTION("any flipped bit after the magic fails authentication") {
    for (size_t i = 1; i < sizeof tok; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        uint8_t t[RetryTokenKey::kNewTokenLen];
        std::memcpy(t, tok, sizeof t);
        t[i] ^= static_cast<uint8_t>(1u << bit);
        INFO("byte " << i << " bit " << bit);
        CHECK(key.open_new_token(t, sa(client), t0, life).error() == Errc::decrypt_failed);
      }
    }
  }
  SECTION("another endpoint's key") {
    RetryTokenKey other;
    CHECK(other.open_new_token(tok, sa(client), t0, life).error() == Errc::decrypt_failed);
  }
  SECTION("lifetime, and clocks a little (but not far) behind the issuer's") {
    CHECK(key.open_new_token(tok, sa(client), t0 + life, life));
    CHECK(key.open_new_token(tok, sa(client), t0 + life + 1, life).error() == Errc::timed_out);
    CHECK(key.open_new_token(tok, sa(client), t0 - RetryTokenKey::kNewTokenClockSkewMs, life));
    CHECK(key.open_new_token(tok, sa(client), t0 - RetryTokenKey::kNewTokenClockSkewMs - 1, life)
              .error() == Errc::timed_out);
    CHECK(key.open_new_token(tok, sa(client), t0, 0));
  }
}

TEST_CASE("Retry tokens and NEW_TOKEN tokens never open as each other", "[unit][quic]") {
  RetryTokenKey key;
  const auto client = v4("203.0.113.9", 443);
  const auto odcid = cid(0x11, 18), scid = cid(0x22, 16);
  uint8_t retry[RetryTokenKey::kTokenLen];
  REQUIRE(key.seal(sa(client), odcid, scid, 7000, retry));
  uint8_t nt[RetryTokenKey::kNewTokenLen];
  REQUIRE(key.seal_new_token(sa(client), 7000, nt));

  // As they are: told apart by magic and size.
  CHECK(key.open_new_token(retry, sa(client), 7000, 10000).error() == Errc::malformed);
  CHECK(key.open(nt, sa(client), scid, 7000, 10000).error() == Errc::malformed);

  // Relabelled and cut or padded to the other kind's size: the associated
  // data of each kind starts with its own label, so authentication fails.
  uint8_t as_nt[RetryTokenKey::kNewTokenLen];
  std::memcpy(as_nt, retry, sizeof as_nt);
  as_nt[0] = RetryTokenKey::kNewTokenMagic;
  CHECK(key.open_new_token(as_nt, sa(client), 7000, 10000).error() == Errc::decrypt_failed);
  uint8_t as_retry[RetryTokenKey::kTokenLen] = {};
  std::memcpy(as_retry, nt, sizeof nt);
  as_retry[0] = RetryTokenKey::kMagic;
  CHECK(key.open(as_retry, sa(client), scid, 7000, 10000).error() == Errc::decrypt_failed);
  // The NEW_TOKEN's ciphertext and tag placed where a Retry token keeps them.
  std::memset(as_retry, 0, sizeof as_retry);
  as_retry[0] = RetryTokenKey::kMagic;
  std::memcpy(as_retry + 1, nt + 1, kAeadNonceLen + 8);
  std::memcpy(as_retry + RetryTokenKey::kTokenLen - kAeadTagLen, nt + 1 + kAeadNonceLen + 8,
              kAeadTagLen);
  CHECK(key.open(as_retry, sa(client), scid, 7000, 10000).error() == Errc::decrypt_failed);
}

TEST_CASE("Token keys: set_key takes exactly 32 bytes and interoperates", "[unit][quic]") {
  RetryTokenKey a, b;
  uint8_t k[32];
  for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(3 * i);
  CHECK(a.set_key({k, size_t{16}}).error() == Errc::invalid_argument);
  CHECK(a.set_key({k, size_t{0}}).error() == Errc::invalid_argument);
  REQUIRE(a.set_key(k));
  const auto client = v4("127.0.0.1", 1);
  uint8_t tok[RetryTokenKey::kNewTokenLen];
  REQUIRE(a.seal_new_token(sa(client), 100, tok));
  CHECK(b.open_new_token(tok, sa(client), 100, 1000).error() == Errc::decrypt_failed);
  REQUIRE(b.set_key(k));
  CHECK(b.open_new_token(tok, sa(client), 100, 1000));
  RetryTokenKey c{std::span<const uint8_t, 32>(k)};
  CHECK(c.open_new_token(tok, sa(client), 100, 1000));
  // A rejected key leaves the old one in place.
  CHECK(b.set_key({k, size_t{31}}).error() == Errc::invalid_argument);
  CHECK(b.open_new_token(tok, sa(client), 100, 1000));
}

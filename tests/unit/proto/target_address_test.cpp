#include "proto/target_address.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;

TEST_CASE("TargetAddress parses host:port forms", "[proto][target_address]") {
  auto a = TargetAddress::parse("1.2.3.4:80");
  REQUIRE(a);
  CHECK(a->kind() == TargetAddress::ipv4);
  CHECK(a->port() == 80);
  CHECK(a->to_string() == "1.2.3.4:80");
  CHECK(a->host() == "1.2.3.4");
  CHECK(a->ip_bytes().size() == 4);
  CHECK(a->domain_name().empty());

  auto b = TargetAddress::parse("[2001:db8::1]:443");
  REQUIRE(b);
  CHECK(b->kind() == TargetAddress::ipv6);
  CHECK(b->to_string() == "[2001:db8::1]:443");
  CHECK(b->host() == "2001:db8::1");
  CHECK(b->ip_bytes().size() == 16);

  auto c = TargetAddress::parse("example.com:65535");
  REQUIRE(c);
  CHECK(c->kind() == TargetAddress::domain);
  CHECK(c->domain_name() == "example.com");
  CHECK(c->port() == 65535);
  CHECK(c->to_string() == "example.com:65535");
  CHECK(c->ip_bytes().empty());

  // Not a valid dotted quad: stays a domain for the resolver.
  auto d = TargetAddress::parse("1.2.3.256:1");
  REQUIRE(d);
  CHECK(d->kind() == TargetAddress::domain);
}

TEST_CASE("TargetAddress rejects bad host:port", "[proto][target_address]") {
  const char* bad[] = {
      "",
      "example.com",
      "example.com:",
      ":80",
      "example.com:0",
      "example.com:65536",
      "example.com:99999",
      "example.com:+80",
      "example.com:8a",
      "example.com:-1",
      "example.com: 80",
      "::1:80",
      "[::1]80",
      "[::1]:",
      "[::1:80",
      "[zzz]:80",
      "[1.2.3.4]:80",
      "exa mple.com:80",
      "a/b:80",
      "user@host:80",
      "example.com:123456",
  };
  for (const char* s : bad) {
    INFO(s);
    CHECK(TargetAddress::parse(s).error() == Errc::malformed);
  }
  std::string nul("a\0b:80", 6);
  CHECK(!TargetAddress::parse(nul));
  std::string long_name(256, 'a');
  CHECK(!TargetAddress::parse(long_name + ":80"));
  std::string max_name(255, 'a');
  CHECK(TargetAddress::parse(max_name + ":80"));
}

TEST_CASE("TargetAddress from_host detects literals", "[proto][target_address]") {
  CHECK(TargetAddress::from_host("::1", 1)->kind() == TargetAddress::ipv6);
  CHECK(TargetAddress::from_host("[::1]", 1)->kind() == TargetAddress::ipv6);
  CHECK(TargetAddress::from_host("10.0.0.1", 1)->kind() == TargetAddress::ipv4);
  CHECK(TargetAddress::from_host("host", 1)->kind() == TargetAddress::domain);
  CHECK(!TargetAddress::from_host("", 1));
  CHECK(!TargetAddress::from_host("[::1", 1));
  CHECK(!TargetAddress::from_host("a:b", 1));
  CHECK(!TargetAddress::from_domain("", 1));
  CHECK(!TargetAddress::from_domain("a\tb", 1));
  CHECK(!TargetAddress::from_domain("a\x7f", 1));
  // from_domain keeps an IP literal as a domain.
  CHECK(TargetAddress::from_domain("1.2.3.4", 1)->kind() == TargetAddress::domain);
}

TEST_CASE("TargetAddress default and equality", "[proto][target_address]") {
  TargetAddress z;
  CHECK(z.to_string() == "0.0.0.0:0");
  auto a = *TargetAddress::parse("example.com:1");
  auto b = *TargetAddress::parse("example.com:1");
  auto c = *TargetAddress::parse("example.com:2");
  auto d = *TargetAddress::parse("example.org:1");
  CHECK(a == b);
  CHECK(!(a == c));
  CHECK(!(a == d));
  c.set_port(1);
  CHECK(a == c);
}

TEST_CASE("TargetAddress SOCKS encoding round-trips", "[proto][target_address]") {
  for (const char* s :
       {"1.2.3.4:80", "[::ffff:1.2.3.4]:8080", "example.com:443", "[2001:db8::1]:1"}) {
    INFO(s);
    auto t = *TargetAddress::parse(s);
    uint8_t buf[TargetAddress::kMaxSocksSize];
    auto n = t.encode_socks(buf);
    REQUIRE(n);
    CHECK(*n == t.socks_size());
    Bytes wire(buf, buf + *n);
    auto r = TargetAddress::decode_socks(sv(wire));
    REQUIRE(r.done());
    CHECK(r.consumed == *n);
    CHECK(r.value == t);
    CHECK(every_prefix_needs_more(wire, TargetAddress::decode_socks));
    // Trailing bytes are not consumed.
    auto r2 = TargetAddress::decode_socks(sv(cat(wire, bytes({9, 9}))));
    CHECK(r2.consumed == *n);
    // Too small an output buffer.
    CHECK(t.encode_socks(std::span<uint8_t>(buf, *n - 1)).error() == Errc::buffer_too_small);
  }
  auto v4 = *TargetAddress::parse("1.2.3.4:258");
  uint8_t buf[16];
  REQUIRE(v4.encode_socks(buf));
  CHECK(Bytes(buf, buf + 7) == bytes({1, 1, 2, 3, 4, 1, 2}));
  auto dom = *TargetAddress::parse("ab:1");
  REQUIRE(dom.encode_socks(buf));
  CHECK(Bytes(buf, buf + 6) == bytes({3, 2, 'a', 'b', 0, 1}));
}

TEST_CASE("TargetAddress SOCKS decoding rejects garbage", "[proto][target_address]") {
  CHECK(TargetAddress::decode_socks(sv(bytes({0x02, 1, 2, 3, 4, 0, 80}))).error ==
        Errc::unsupported_address_type);
  CHECK(TargetAddress::decode_socks(sv(bytes({0x00}))).error == Errc::unsupported_address_type);
  CHECK(TargetAddress::decode_socks(sv(bytes({0xff}))).error == Errc::unsupported_address_type);
  CHECK(TargetAddress::decode_socks(sv(bytes({0x03, 0, 0, 80}))).error == Errc::malformed);
  // A NUL or control byte in a domain fails as soon as it arrives.
  CHECK(TargetAddress::decode_socks(sv(bytes({0x03, 5, 'a', 0}))).error == Errc::malformed);
  CHECK(TargetAddress::decode_socks(sv(bytes({0x03, 2, 'a', ' ', 0, 1}))).error == Errc::malformed);
  CHECK(TargetAddress::decode_socks(sv(bytes({0x03, 2, 'a', '\n', 0, 1}))).error ==
        Errc::malformed);
  // Max-length domain.
  Bytes big = bytes({0x03, 255});
  big.insert(big.end(), 255, 'x');
  big.push_back(0);
  big.push_back(1);
  auto r = TargetAddress::decode_socks(sv(big));
  REQUIRE(r.done());
  CHECK(r.value.domain_name().size() == 255);
}

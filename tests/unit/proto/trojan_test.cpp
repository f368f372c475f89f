// Trojan request header and UDP framing (lib/proto/trojan).
#include <catch2/catch.hpp>

#include "proto/trojan/trojan.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::trojan;

namespace {

Bytes header(std::string_view password, Command cmd, const TargetAddress& t) {
  Bytes b(request_size(t));
  auto n = encode_request(hash_password(password), cmd, t, {b.data(), b.size()});
  REQUIRE(n);
  REQUIRE(*n == b.size());
  return b;
}

}  // namespace

TEST_CASE("trojan password hash is hex SHA-224", "[proto][trojan]") {
  // SHA-224("") and SHA-224("abc") (FIPS 180-4 examples).
  auto e = hash_password("");
  CHECK(std::string(e.begin(), e.end()) ==
        "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
  auto h = hash_password("abc");
  CHECK(std::string(h.begin(), h.end()) ==
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
}

TEST_CASE("trojan CONNECT header round-trips, byte layout", "[proto][trojan]") {
  auto t = *TargetAddress::from_domain("example.com", 443);
  Bytes b = header("pw", Command::connect, t);
  auto h = hash_password("pw");
  CHECK(std::string(b.begin(), b.begin() + 56) == std::string(h.begin(), h.end()));
  CHECK(b[56] == '\r');
  CHECK(b[57] == '\n');
  CHECK(b[58] == 0x01);
  CHECK(b[59] == 0x03);  // ATYP domain
  CHECK(b[60] == 11);
  CHECK(b[b.size() - 2] == '\r');
  CHECK(b.back() == '\n');
  Bytes with_payload = cat(b, bytes("GET /"));
  auto r = parse_request(sv(with_payload));
  REQUIRE(r.done());
  CHECK(r.consumed == b.size());
  CHECK(r.value.hash == h);
  CHECK(r.value.command == Command::connect);
  CHECK(r.value.target == t);
  CHECK(every_prefix_needs_more(b, parse_request));
}

TEST_CASE("trojan UDP ASSOCIATE header with IPv4 and IPv6", "[proto][trojan]") {
  auto v4 = TargetAddress::from_ipv4({1, 2, 3, 4}, 53);
  auto r = parse_request(sv(header("x", Command::udp_associate, v4)));
  REQUIRE(r.done());
  CHECK(r.value.command == Command::udp_associate);
  CHECK(r.value.target == v4);
  std::array<uint8_t, 16> a{};
  a[15] = 1;
  auto v6 = TargetAddress::from_ipv6(a, 80);
  r = parse_request(sv(header("x", Command::connect, v6)));
  REQUIRE(r.done());
  CHECK(r.value.target == v6);
}

TEST_CASE("trojan header: malformed input fails early and specifically", "[proto][trojan]") {
  auto t = *TargetAddress::from_domain("example.com", 443);
  Bytes good = header("pw", Command::connect, t);
  SECTION("an HTTP request fails at its first byte") {
    auto r = parse_request(sv(bytes("G")));
    CHECK(r.failed());
    CHECK(r.error == Errc::malformed);
    CHECK(parse_request(sv(bytes("GET / HTTP/1.1\r\n"))).error == Errc::malformed);
  }
  SECTION("a TLS ClientHello fails at its first byte") {
    CHECK(parse_request(sv(bytes({0x16, 0x03, 0x01}))).error == Errc::malformed);
  }
  SECTION("non-hex inside the hash") {
    Bytes b = good;
    b[30] = 'g';
    CHECK(parse_request(sv(b)).error == Errc::malformed);
  }
  SECTION("missing CRLF after the hash") {
    Bytes b = good;
    b[56] = '\n';
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b = good;
    b[57] = '\r';
    CHECK(parse_request(sv(b)).error == Errc::malformed);
  }
  SECTION("unknown command (BIND-like 0x02)") {
    Bytes b = good;
    b[58] = 0x02;
    CHECK(parse_request(sv(b)).error == Errc::unknown_command);
  }
  SECTION("unknown address type") {
    Bytes b = good;
    b[59] = 0x05;
    CHECK(parse_request(sv(b)).error == Errc::unsupported_address_type);
  }
  SECTION("empty domain") {
    Bytes b = good;
    b[60] = 0;
    CHECK(parse_request(sv(b)).error == Errc::malformed);
  }
  SECTION("missing final CRLF") {
    Bytes b = good;
    b[b.size() - 2] = 'x';
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b = good;
    b.back() = 'x';
    CHECK(parse_request(sv(b)).error == Errc::malformed);
  }
}

TEST_CASE("trojan UDP packets: framing, several in a row, incremental", "[proto][trojan]") {
  auto t = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  Bytes payload = bytes("dns query");
  Bytes pkt(udp_header_size(t));
  auto n = encode_udp_header(t, payload.size(), {pkt.data(), pkt.size()});
  REQUIRE(n);
  pkt = cat(pkt, payload);
  CHECK(pkt[7] == 0);
  CHECK(pkt[8] == payload.size());
  CHECK(pkt[9] == '\r');
  CHECK(pkt[10] == '\n');
  CHECK(every_prefix_needs_more(pkt, parse_udp_packet));
  Bytes two = cat(pkt, pkt);
  auto r = parse_udp_packet(sv(two));
  REQUIRE(r.done());
  CHECK(r.consumed == pkt.size());
  CHECK(r.value.target == t);
  CHECK(r.value.header == 11);
  CHECK(r.value.length == payload.size());
  CHECK(Bytes(two.begin() + 11, two.begin() + 11 + 9) == payload);
  auto r2 = parse_udp_packet(std::span<const uint8_t>(two).subspan(r.consumed));
  CHECK(r2.done());
  SECTION("bad CRLF") {
    Bytes b = pkt;
    b[9] = 0;
    CHECK(parse_udp_packet(sv(b)).error == Errc::malformed);
  }
  SECTION("bad address type") {
    Bytes b = pkt;
    b[0] = 9;
    CHECK(parse_udp_packet(sv(b)).error == Errc::unsupported_address_type);
  }
  SECTION("oversized payload refused by the encoder") {
    Bytes h(udp_header_size(t));
    CHECK(encode_udp_header(t, 70000, {h.data(), h.size()}).error() == Errc::invalid_argument);
  }
  SECTION("zero-length payload") {
    Bytes h(udp_header_size(t));
    REQUIRE(encode_udp_header(t, 0, {h.data(), h.size()}));
    auto z = parse_udp_packet(sv(h));
    REQUIRE(z.done());
    CHECK(z.value.length == 0);
  }
}

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
  SECTION("upper-case hex inside the hash (the hash is lower-case hex)") {
    Bytes b = good;
    size_t i = 0;
    while (!(b[i] >= 'a' && b[i] <= 'f')) ++i;
    b[i] = static_cast<uint8_t>(b[i] - 'a' + 'A');
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

namespace {

// chain_of splits |b| into pool Slices of at most |piece| bytes each.
Chain chain_of(BufferPool& pool, const Bytes& b, size_t piece) {
  Chain c;
  for (size_t off = 0; off < b.size(); off += piece) {
    auto s = pool.copy_from(b.data() + off, std::min(piece, b.size() - off));
    REQUIRE(s);
    REQUIRE(c.push_back(std::move(*s)));
  }
  return c;
}

Bytes bytes_of(const Chain& c) {
  Bytes b(c.size());
  c.copy_out(b.data(), b.size());
  return b;
}

Bytes framed(const TargetAddress& t, const Bytes& payload) {
  Bytes h(udp_header_size(t));
  REQUIRE(encode_udp_header(t, payload.size(), {h.data(), h.size()}));
  return cat(h, payload);
}

}  // namespace

TEST_CASE("trojan UDP header parses without its payload", "[proto][trojan]") {
  auto t =
      TargetAddress::from_ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 443);
  Bytes pkt = framed(t, Bytes(300, 0x5a));
  auto r = parse_udp_header(std::span<const uint8_t>(pkt).first(23));
  REQUIRE(r.done());
  CHECK(r.consumed == 23);
  CHECK(r.value.header == 23);
  CHECK(r.value.length == 300);
  CHECK(r.value.target == t);
  for (size_t n = 0; n < 23; ++n)
    CHECK(parse_udp_header(std::span<const uint8_t>(pkt).first(n)).need_more());
  Bytes bad = pkt;
  bad[22] = 'x';  // LF of the CRLF
  CHECK(parse_udp_header(sv(bad)).error == Errc::malformed);
}

TEST_CASE("trojan UDP framing into pool chunks", "[proto][trojan]") {
  BufferPool pool;
  auto t = TargetAddress::from_ipv4({127, 0, 0, 1}, 5353);
  const Bytes payload = bytes("a datagram");
  SECTION("in the payload's headroom: one Slice, nothing copied") {
    auto s = pool.copy_from(payload.data(), payload.size());
    REQUIRE(s);
    const uint8_t* at = s->data();
    Chain out;
    REQUIRE(frame_udp_packet(t, std::move(*s), pool, &out));
    REQUIRE(out.count() == 1);
    CHECK(out[0].data() + udp_header_size(t) == at);
    CHECK(bytes_of(out) == framed(t, payload));
  }
  SECTION("a shared payload gets its framing in a chunk of its own") {
    auto s = pool.copy_from(payload.data(), payload.size());
    REQUIRE(s);
    Slice keep = *s;  // shared: its bytes must not be written
    Chain out;
    REQUIRE(frame_udp_packet(t, std::move(*s), pool, &out));
    REQUIRE(out.count() == 2);
    CHECK(out[1].data() == keep.data());
    CHECK(bytes_of(out) == framed(t, payload));
  }
  SECTION("a long domain does not fit the headroom") {
    auto d = TargetAddress::from_domain(std::string(200, 'a') + ".example", 53);
    REQUIRE(d);
    auto s = pool.copy_from(payload.data(), payload.size());
    REQUIRE(s);
    Chain out;
    REQUIRE(frame_udp_packet(*d, std::move(*s), pool, &out));
    CHECK(out.count() == 2);
    CHECK(bytes_of(out) == framed(*d, payload));
  }
  SECTION("the largest payload frames; one byte more is refused") {
    auto big = pool.get(kMaxUdpPayload + 1);
    REQUIRE(big);
    big->append(kMaxUdpPayload);
    Chain out;
    REQUIRE(frame_udp_packet(t, Slice(*big), pool, &out));
    CHECK(out.size() == kMaxUdpPayload + udp_header_size(t));
    out.clear();
    REQUIRE(big->append(1) != nullptr);
    Chain none;
    CHECK(frame_udp_packet(t, std::move(*big), pool, &none).error() == Errc::frame_too_large);
    CHECK(none.empty());
  }
}

TEST_CASE("trojan UDP packets taken off a stream, however it is split", "[proto][trojan]") {
  BufferPool pool;
  auto a = TargetAddress::from_ipv4({10, 0, 0, 1}, 53);
  auto b = TargetAddress::from_domain("dns.example", 853);
  REQUIRE(b);
  Bytes big(5000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  const Bytes stream = cat(cat(framed(a, bytes("first")), framed(*b, big)),
                           cat(framed(a, {}), framed(a, bytes("x"))));
  for (size_t piece : {size_t{1}, size_t{3}, size_t{11}, size_t{4096}, stream.size()}) {
    INFO("pieces of " << piece);
    Chain all = chain_of(pool, stream, piece);
    Chain in;
    std::vector<ReceivedUdpPacket> got;
    // Feed one piece at a time, taking every complete packet as it arrives.
    while (!all.empty()) {
      REQUIRE(in.push_back(all.pop_front()));
      for (;;) {
        ReceivedUdpPacket p;
        auto r = take_udp_packet(in, pool, &p);
        REQUIRE(r);
        if (!*r) break;
        got.push_back(std::move(p));
      }
    }
    CHECK(in.empty());
    REQUIRE(got.size() == 4);
    CHECK(got[0].target == a);
    CHECK(Bytes(got[0].payload.span().begin(), got[0].payload.span().end()) == bytes("first"));
    CHECK(got[1].target == *b);
    CHECK(Bytes(got[1].payload.span().begin(), got[1].payload.span().end()) == big);
    CHECK(got[2].payload.empty());
    CHECK(Bytes(got[3].payload.span().begin(), got[3].payload.span().end()) == bytes("x"));
  }
}

TEST_CASE("trojan UDP stream: malformed frames fail specifically", "[proto][trojan]") {
  BufferPool pool;
  auto t = TargetAddress::from_ipv4({10, 0, 0, 1}, 53);
  Bytes good = framed(t, bytes("ok"));
  auto take = [&](const Bytes& bytes_in, size_t piece) {
    Chain in = chain_of(pool, bytes_in, piece);
    ReceivedUdpPacket p;
    auto r = take_udp_packet(in, pool, &p);  // the good packet
    REQUIRE(r);
    REQUIRE(*r);
    return take_udp_packet(in, pool, &p);
  };
  for (size_t piece : {size_t{1}, size_t{5}, size_t{1000}}) {
    Bytes atyp = cat(good, good);
    atyp[good.size()] = 0x02;
    CHECK(take(atyp, piece).error() == Errc::unsupported_address_type);
    Bytes cr = cat(good, good);
    cr[good.size() + 9] = '\n';
    CHECK(take(cr, piece).error() == Errc::malformed);
    Bytes empty_domain = cat(good, Bytes{0x03, 0x00, 0x00, 0x35, 0x00, 0x01, '\r', '\n', 'z'});
    CHECK(take(empty_domain, piece).error() == Errc::malformed);
    // A frame cut short is not an error yet: the caller decides at EOF.
    Bytes cut = cat(good, Bytes(good.begin(), good.end() - 1));
    auto r = take(cut, piece);
    REQUIRE(r);
    CHECK_FALSE(*r);
  }
}

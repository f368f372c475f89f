// Hysteria v2 wire format (lib/proto/hysteria2): TCP request/response,
// UDPMessage, fragmentation and reassembly, the stream server core.
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "proto/hysteria2/hysteria2.hpp"
#include "proto/hysteria2/server.hpp"
#include "proto/hysteria2/udp_message.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::hysteria2;

namespace {

Bytes request(std::string_view addr, size_t pad) {
  Bytes b(tcp_request_size(addr, pad));
  auto n = encode_tcp_request(addr, pad, {b.data(), b.size()});
  REQUIRE(n);
  REQUIRE(*n == b.size());
  return b;
}

Bytes udp(const UdpHeader& h, std::string_view addr, const Bytes& data) {
  Bytes b(udp_header_size(addr.size()));
  auto n = encode_udp_header(h, addr, {b.data(), b.size()});
  REQUIRE(n);
  return cat(b, data);
}

}  // namespace

TEST_CASE("hysteria2 varints are QUIC varints", "[proto][hysteria2]") {
  uint8_t b[8];
  CHECK(write_varint(0x401, b) == 2);
  CHECK(b[0] == 0x44);
  CHECK(b[1] == 0x01);
  CHECK(write_varint(63, b) == 1);
  CHECK(write_varint(16383, b) == 2);
  CHECK(write_varint(16384, b) == 4);
  CHECK(write_varint(uint64_t{1} << 30, b) == 8);
  auto r = read_varint({b, 8});
  REQUIRE(r.done());
  CHECK(r.value == uint64_t{1} << 30);
  CHECK(read_varint({b, 7}).need_more());
}

TEST_CASE("hysteria2 TCPRequest: spec 14.3 vector", "[proto][hysteria2]") {
  Bytes b = request("example.com:443", 0);
  CHECK(b == cat(bytes({0x44, 0x01, 0x0f}), cat(bytes("example.com:443"), bytes({0x00}))));
  Bytes p = request("example.com:443", 100);
  CHECK(p[18] == 0x40);
  CHECK(p[19] == 0x64);
  CHECK(p.size() == 20 + 100);
  for (size_t i = 20; i < p.size(); ++i) CHECK(std::isalnum(p[i]));
  auto r = parse_tcp_request(sv(p));
  REQUIRE(r.done());
  CHECK(r.consumed == p.size());
  CHECK(r.value.target.to_string() == "example.com:443");
  CHECK(r.value.padding == 100);
  CHECK(every_prefix_needs_more(p, [](auto s) { return parse_tcp_request(s); }));
}

TEST_CASE("hysteria2 TCPRequest reader: upstream cases", "[proto][hysteria2]") {
  // proxy_test.go: the body after the 0x401 the dispatcher consumed.
  auto a = parse_tcp_request_body(sv(cat(cat(bytes({0x0e}), bytes("google.com:443")), bytes({0}))));
  REQUIRE(a.done());
  CHECK(a.value.target.to_string() == "google.com:443");
  auto b = parse_tcp_request_body(
      sv(cat(cat(bytes({0x0b}), bytes("holy.cc:443")), cat(bytes({0x02}), bytes("gg")))));
  REQUIRE(b.done());
  CHECK(b.value.padding == 2);
  CHECK(parse_tcp_request_body(sv(cat(bytes({0x0b}), bytes("hoho")))).need_more());
}

TEST_CASE("hysteria2 TCPRequest: payload after the request is not consumed", "[proto][hysteria2]") {
  Bytes b = cat(request("[::1]:8080", 7), bytes("GET / HTTP/1.1\r\n"));
  auto r = parse_tcp_request(sv(b));
  REQUIRE(r.done());
  CHECK(r.value.target.to_string() == "[::1]:8080");
  CHECK(r.value.target.kind() == TargetAddress::ipv6);
  CHECK(b.size() - r.consumed == 16);
}

TEST_CASE("hysteria2 TCPRequest: malformed input", "[proto][hysteria2]") {
  // Another frame type.
  CHECK(parse_tcp_request(sv(bytes({0x44, 0x02, 0x01, 'a', 0}))).error == Errc::unknown_command);
  CHECK(parse_tcp_request(sv(bytes({0x01}))).error == Errc::unknown_command);
  // Address length 0, and over 2048.
  CHECK(parse_tcp_request(sv(bytes({0x44, 0x01, 0x00}))).error == Errc::malformed);
  CHECK(parse_tcp_request(sv(bytes({0x44, 0x01, 0x48, 0x01}))).error == Errc::malformed);
  // Not host:port.
  CHECK(
      parse_tcp_request(sv(cat(cat(bytes({0x44, 0x01, 0x04}), bytes("host")), bytes({0})))).error ==
      Errc::malformed);
  CHECK(parse_tcp_request(sv(cat(cat(bytes({0x44, 0x01, 0x06}), bytes("host:0")), bytes({0}))))
            .error == Errc::malformed);
  CHECK(parse_tcp_request(sv(cat(cat(bytes({0x44, 0x01, 0x05}), bytes("::1:8")), bytes({0}))))
            .error == Errc::malformed);
  // Padding over 4096.
  CHECK(
      parse_tcp_request(sv(cat(cat(bytes({0x44, 0x01, 0x03}), bytes("a:1")), bytes({0x50, 0x01}))))
          .error == Errc::malformed);
  // Encoder limits.
  uint8_t out[16];
  CHECK(encode_tcp_request("", 0, out).error() == Errc::invalid_argument);
  CHECK(encode_tcp_request("a:1", 4097, out).error() == Errc::invalid_argument);
  CHECK(encode_tcp_request("example.com:443", 0, out).error() == Errc::buffer_too_small);
}

TEST_CASE("hysteria2 TCPResponse: spec 14.3 vector and round trip", "[proto][hysteria2]") {
  Bytes b(tcp_response_size("Connected", 0));
  REQUIRE(encode_tcp_response(kTcpStatusOk, "Connected", 0, {b.data(), b.size()}));
  CHECK(b == cat(bytes({0x00, 0x09}), cat(bytes("Connected"), bytes({0x00}))));
  Bytes e(tcp_response_size("dial failed", 300));
  REQUIRE(encode_tcp_response(kTcpStatusError, "dial failed", 300, {e.data(), e.size()}));
  Bytes withdata = cat(e, bytes("xyz"));
  auto r = parse_tcp_response(sv(withdata));
  REQUIRE(r.done());
  CHECK(r.value.status == kTcpStatusError);
  CHECK(r.value.message == "dial failed");
  CHECK(r.consumed == e.size());
  CHECK(every_prefix_needs_more(e, [](auto s) { return parse_tcp_response(s); }));
  // An empty message is allowed.
  auto z = parse_tcp_response(sv(bytes({0x00, 0x00, 0x00})));
  REQUIRE(z.done());
  CHECK(z.value.message.empty());
}

TEST_CASE("hysteria2 TCPResponse: malformed input", "[proto][hysteria2]") {
  CHECK(parse_tcp_response(sv(bytes({0x00, 0x48, 0x01}))).error == Errc::malformed);  // msg 2049
  CHECK(parse_tcp_response(sv(bytes({0x00, 0x00, 0x50, 0x01}))).error == Errc::malformed);
  uint8_t out[8];
  CHECK(encode_tcp_response(0, std::string(2049, 'x'), 0, out).error() == Errc::invalid_argument);
}

TEST_CASE("hysteria2 UDPMessage: spec 14.2 vector", "[proto][hysteria2]") {
  Bytes want = bytes({0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x0e});
  want = cat(cat(want, bytes("example.com:80")), bytes("GET /nothing HTTP/1.1\r\n"));
  Bytes got = udp({1, 1, 0, 1}, "example.com:80", bytes("GET /nothing HTTP/1.1\r\n"));
  CHECK(got == want);
  auto m = parse_udp_message(sv(want));
  REQUIRE(m);
  CHECK(m->header.session_id == 1);
  CHECK(m->header.packet_id == 1);
  CHECK(m->header.frag_id == 0);
  CHECK(m->header.frag_count == 1);
  CHECK(m->address == "example.com:80");
  CHECK(std::string(m->data.begin(), m->data.end()) == "GET /nothing HTTP/1.1\r\n");
}

TEST_CASE("hysteria2 UDPMessage: malformed input", "[proto][hysteria2]") {
  // proxy_test.go's failing inputs.
  CHECK(!parse_udp_message({}));
  CHECK(!parse_udp_message(sv(bytes({0, 0, 0, 0}))));
  CHECK(!parse_udp_message(sv(Bytes(12, 0))));
  CHECK(!parse_udp_message(sv(bytes({0x66, 0xcc, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x55}))));
  CHECK(!parse_udp_message(sv(bytes({0x66, 0xcc, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x90, 0xaa,
                                     0xbb, 0xcc, 0xdd, 0xee, 0xff}))));
  // No data byte; fragID >= fragCount; fragCount 0.
  CHECK(parse_udp_message(sv(udp({1, 0, 0, 1}, "a:1", {}))).error() == Errc::truncated);
  CHECK(parse_udp_message(sv(udp({1, 0, 2, 2}, "a:1", bytes("x")))).error() == Errc::malformed);
  CHECK(parse_udp_message(sv(udp({1, 0, 0, 0}, "a:1", bytes("x")))).error() == Errc::malformed);
}

TEST_CASE("hysteria2 fragmentation cuts as the official sender, reassembly restores",
          "[proto][hysteria2]") {
  const std::string addr = "127.0.0.1:5353";
  const size_t hdr = udp_header_size(addr.size());
  const size_t maxp = 1197;
  CHECK(fragment_count(hdr, 1000, maxp) == 1);
  CHECK(fragment_count(hdr, maxp - hdr, maxp) == 1);
  CHECK(fragment_count(hdr, maxp - hdr + 1, maxp) == 2);
  CHECK(fragment_count(hdr, 0, maxp) == 0);
  CHECK(fragment_count(maxp, 10, maxp) == 0);                 // no room beside the header
  CHECK(fragment_count(hdr, 300 * (maxp - hdr), maxp) == 0);  // > 255 fragments

  Bytes data(4000);
  std::iota(data.begin(), data.end(), 0);
  const size_t n = fragment_count(hdr, data.size(), maxp);
  REQUIRE(n == 4);
  std::vector<Bytes> frags;
  for (size_t i = 0; i < n; ++i) {
    auto sp = fragment_span(hdr, data.size(), maxp, i);
    if (i + 1 < n) CHECK(sp.length == maxp - hdr);
    frags.push_back(udp({9, 77, uint8_t(i), uint8_t(n)}, addr,
                        Bytes(data.begin() + sp.offset, data.begin() + sp.offset + sp.length)));
    CHECK(frags.back().size() <= maxp);
  }
  SECTION("in order") {
    Defragmenter d;
    for (size_t i = 0; i < n; ++i) {
      auto p = d.feed(*parse_udp_message(sv(frags[i])));
      CHECK(p.complete == (i + 1 == n));
      if (p.complete) CHECK(Bytes(p.data.begin(), p.data.end()) == data);
    }
  }
  SECTION("last first, duplicates ignored") {
    Defragmenter d;
    const size_t order[] = {3, 1, 1, 0, 2};
    for (size_t k = 0; k < 5; ++k) {
      auto p = d.feed(*parse_udp_message(sv(frags[order[k]])));
      CHECK(p.complete == (k == 4));
      if (p.complete) CHECK(Bytes(p.data.begin(), p.data.end()) == data);
    }
  }
  SECTION("a fragment of another packet discards the one in progress") {
    Defragmenter d;
    CHECK(!d.feed(*parse_udp_message(sv(frags[0]))).complete);
    Bytes other = udp({9, 78, 0, 2}, addr, bytes("zz"));
    CHECK(!d.feed(*parse_udp_message(sv(other))).complete);
    CHECK(d.drops() == 1);
    for (size_t i = 1; i < n; ++i) CHECK(!d.feed(*parse_udp_message(sv(frags[i]))).complete);
  }
  SECTION("an unfragmented message passes through whole") {
    Defragmenter d;
    Bytes one = udp({9, 0, 0, 1}, addr, bytes("hello"));
    auto m = *parse_udp_message(sv(one));
    auto p = d.feed(m);
    REQUIRE(p.complete);
    CHECK(p.data.data() == m.data.data());
  }
  SECTION("inconsistent chunk sizes drop the packet") {
    Defragmenter d;
    CHECK(!d.feed(*parse_udp_message(sv(udp({9, 5, 0, 3}, addr, Bytes(100, 1))))).complete);
    CHECK(!d.feed(*parse_udp_message(sv(udp({9, 5, 1, 3}, addr, Bytes(90, 1))))).complete);
    CHECK(d.drops() == 1);
  }
}

TEST_CASE("hysteria2 server core: request, answer, refusals", "[proto][hysteria2]") {
  hysteria2::ServerCore c("alice");
  Bytes b = cat(request("example.com:80", 64), bytes("payload"));
  auto d = c.feed(sv(b));
  REQUIRE(d.kind == ServerDecision::open);
  CHECK(d.target.to_string() == "example.com:80");
  CHECK(d.consumed == b.size() - 7);
  CHECK(d.user == "alice");
  c.answer(Errc::ok, {});
  auto out = c.output();
  auto r = parse_tcp_response(out);
  REQUIRE(r.done());
  CHECK(r.value.status == 0);
  CHECK(r.value.message == "Connected");
  CHECK(r.consumed == out.size());
  c.clear_output();
  c.answer(Errc::connection_refused, {});
  auto e = parse_tcp_response(c.output());
  REQUIRE(e.done());
  CHECK(e.value.status == 1);
  CHECK(e.value.message == errc_message(Errc::connection_refused));

  hysteria2::ServerCore m("");
  CHECK(m.feed(sv(bytes({0x44, 0x01}))).kind == ServerDecision::need_more);
  CHECK(m.feed(sv(bytes({0x44, 0x01, 0x00}))).kind == ServerDecision::reject);
  CHECK(m.eof(2).kind == ServerDecision::reject);
  CHECK(m.expired(0).kind == ServerDecision::reject);
}

// Tests for proto/vless: user ids, addons, request and response headers
// (vless.md sections 2-4).
#include "proto/vless/header.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "proto/vless/addons.hpp"
#include "proto/vless/address.hpp"
#include "proto/vless/user_id.hpp"
#include "support/hex.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::vless;
using namespace sluice::test;

namespace {


const char* kSpecUser = "bf000d23-0752-40b4-affe-68f7707a9661";

UserId spec_user() { return *parse_user_id(kSpecUser); }

Request make_request(Flow flow, Command cmd, const TargetAddress& t) {
  Request r;
  r.user = spec_user();
  r.addons = Addons::with_flow(flow);
  r.command = cmd;
  r.target = t;
  return r;
}

Bytes encode(const Request& r) {
  Bytes b(kMaxRequestSize);
  auto n = encode_request(r, b);
  REQUIRE(n);
  CHECK(*n == request_size(r));
  b.resize(*n);
  return b;
}

}  // namespace

TEST_CASE("vless user id: hex forms and UUIDv5 (spec 2)", "[proto][vless]") {
  auto a = parse_user_id(kSpecUser);
  REQUIRE(a);
  CHECK(format_user_id(*a) == kSpecUser);
  auto bare = parse_user_id("bf000d23075240b4affe68f7707a9661");
  REQUIRE(bare);
  CHECK(*bare == *a);
  auto upper = parse_user_id("BF000D23-0752-40B4-AFFE-68F7707A9661");
  REQUIRE(upper);
  CHECK(*upper == *a);

  // The spec's example, and RFC 4122 version/variant bits.
  auto t = parse_user_id("test");
  REQUIRE(t);
  CHECK(format_user_id(*t) == "e8b764da-5fe5-51ed-8af8-c5c6eca28d7a");
  CHECK((*t)[6] >> 4 == 5);
  CHECK(((*t)[8] & 0xc0) == 0x80);
  CHECK(uuid_v5_nil("test") == *t);
  CHECK(parse_user_id(std::string(30, 'x')));  // 30 chars: a name

  CHECK(parse_user_id("").error() == Errc::invalid_argument);
  CHECK(parse_user_id(std::string(31, 'a')).error() == Errc::invalid_argument);
  CHECK(parse_user_id(std::string(37, 'a')).error() == Errc::invalid_argument);
  CHECK(parse_user_id("zf000d23-0752-40b4-affe-68f7707a9661").error() == Errc::invalid_argument);
  CHECK(parse_user_id("bf000d23-0752-40b4-affe-68f7707a966").error() == Errc::invalid_argument);
  CHECK(parse_user_id("bf000d23--0752-40b4-affe-68f7707a96").error() == Errc::invalid_argument);
  CHECK(parse_user_id("bf000d23-0752-40b4-affe-68f7707a9661-").error() == Errc::invalid_argument);
}

TEST_CASE("vless addons protobuf (spec 3)", "[proto][vless]") {
  uint8_t buf[32];
  auto n = encode_addons(Flow::vision, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == cat(hex("12 0a10"), bytes("xtls-rprx-vision")));
  n = encode_addons(Flow::none, buf);
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(buf[0] == 0);
  CHECK(encode_addons(Flow::other, buf).error() == Errc::invalid_argument);
  CHECK(encode_addons(Flow::vision, std::span<uint8_t>(buf, 18)).error() == Errc::buffer_too_small);

  auto vision = parse_addons(sv(cat(hex("0a10"), bytes("xtls-rprx-vision"))));
  REQUIRE(vision);
  CHECK(vision->flow() == Flow::vision);
  CHECK(vision->flow_name() == kFlowVision);
  CHECK(!vision->has_seed());

  // Empty message, empty flow, unknown fields of every wire type, a Seed,
  // the flow after them, and a repeated flow (last wins).
  CHECK(parse_addons({})->flow() == Flow::none);
  CHECK(parse_addons(sv(hex("0a00")))->flow() == Flow::none);
  Bytes rich = cat(hex("18 96 01  21 0102030405060708  2d 01020304  3a 03 616263  12 02 ffee"),
                   cat(hex("0a10"), bytes("xtls-rprx-vision")));
  auto r = parse_addons(sv(rich));
  REQUIRE(r);
  CHECK(r->flow() == Flow::vision);
  CHECK(r->has_seed());
  auto last =
      parse_addons(sv(cat(cat(hex("0a10"), bytes("xtls-rprx-vision")), hex("0a 03 616263"))));
  REQUIRE(last);
  CHECK(last->flow() == Flow::other);
  CHECK(last->flow_name() == "abc");
  // A known field number with another wire type is an unknown field.
  CHECK(parse_addons(sv(hex("08 05")))->flow() == Flow::none);
  // Flow names that are not Vision.
  CHECK(parse_addons(sv(cat(hex("0a 17"), bytes("xtls-rprx-vision-udp443"))))->flow() ==
        Flow::other);
  CHECK(parse_addons(sv(cat(hex("0a 0f"), bytes("xtls-rprx-visio"))))->flow() == Flow::other);

  // Malformed: truncated length-delimited field, varint cut, overlong
  // varint, groups, wire types 6/7, field 0, truncated fixed fields.
  CHECK(parse_addons(sv(cat(hex("0a11"), bytes("xtls-rprx-vision")))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("0a"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("18 ff"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("18 ffffffffffffffffff7f"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("1b"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("1c"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("1e 00"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("1f 00"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("02 00"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("21 01020304050607"))).error() == Errc::malformed);
  CHECK(parse_addons(sv(hex("2d 010203"))).error() == Errc::malformed);
  CHECK(parse_addons(Bytes(256, 0)).error() == Errc::malformed);
}

TEST_CASE("vless request: spec examples byte for byte (spec 3)", "[proto][vless]") {
  auto ex = TargetAddress::from_domain("example.com", 443);
  REQUIRE(ex);
  Bytes vision_tcp = hex(
      "00 bf000d23075240b4affe68f7707a9661 12 0a10 78746c732d727072782d766973696f6e 01 01bb 02 0b "
      "6578616d706c652e636f6d");
  CHECK(vision_tcp.size() == 52);
  CHECK(encode(make_request(Flow::vision, Command::tcp, *ex)) == vision_tcp);

  auto dns = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  Bytes plain_udp = hex("00 bf000d23075240b4affe68f7707a9661 00 02 0035 01 08080808");
  CHECK(encode(make_request(Flow::none, Command::udp, dns)) == plain_udp);

  Bytes vision_mux =
      hex("00 bf000d23075240b4affe68f7707a9661 12 0a10 78746c732d727072782d766973696f6e 03");
  CHECK(encode(make_request(Flow::vision, Command::mux, TargetAddress())) == vision_mux);

  for (const Bytes* b : {&vision_tcp, &plain_udp, &vision_mux}) {
    Bytes with_payload = cat(*b, bytes("GET /"));
    auto r = parse_request(sv(with_payload));
    REQUIRE(r.done());
    CHECK(r.consumed == b->size());
    CHECK(r.value.user == spec_user());
    CHECK(encode(r.value) == *b);
    CHECK(every_prefix_needs_more(*b, parse_request));
  }
  auto r = parse_request(sv(vision_tcp));
  CHECK(r.value.addons.flow() == Flow::vision);
  CHECK(r.value.command == Command::tcp);
  CHECK(r.value.target == *ex);
  auto m = parse_request(sv(vision_mux));
  CHECK(m.value.command == Command::mux);

  // IPv6 target, and the reverse command (no address).
  std::array<uint8_t, 16> v6{};
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[15] = 1;
  Bytes six = encode(make_request(Flow::none, Command::tcp, TargetAddress::from_ipv6(v6, 8443)));
  CHECK(six.size() == 1 + 16 + 1 + 1 + 2 + 1 + 16);
  CHECK(six[21] == kAtypIpv6);
  auto p6 = parse_request(sv(six));
  REQUIRE(p6.done());
  CHECK(p6.value.target == TargetAddress::from_ipv6(v6, 8443));
  Bytes rvs = encode(make_request(Flow::none, Command::rvs, TargetAddress()));
  CHECK(rvs.size() == 19);
  CHECK(parse_request(sv(rvs)).value.command == Command::rvs);
}

TEST_CASE("vless request: malformed fields fail with their own error", "[proto][vless]") {
  auto ex = TargetAddress::from_domain("example.com", 443);
  Bytes good = encode(make_request(Flow::vision, Command::tcp, *ex));

  // Version.
  for (uint8_t v : {1, 2, 0x05, 0x16, 0xff}) {
    Bytes b = good;
    b[0] = v;
    CHECK(parse_request(sv(b)).error == Errc::unsupported_version);
    CHECK(parse_request(std::span<const uint8_t>(b.data(), 1)).error == Errc::unsupported_version);
  }
  // Addons length that cuts the protobuf, or swallows the command.
  {
    Bytes b = good;
    b[17] = 0x11;  // message one byte short: the string runs past A
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b[17] = 0x01;
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b[17] = 0x13;  // the command byte 0x01 becomes a truncated varint field tag 0
    CHECK(parse_request(sv(b)).failed());
  }
  // Command.
  for (uint8_t c : {0x00, 0x05, 0x7f, 0xff}) {
    Bytes b = good;
    b[36] = c;
    CHECK(parse_request(sv(b)).error == Errc::unknown_command);
    CHECK(parse_request(std::span<const uint8_t>(b.data(), 37)).error == Errc::unknown_command);
  }
  // Address type: the SOCKS numbers 0x04 (IPv6 in SOCKS) and others.
  for (uint8_t t : {0x00, 0x04, 0x05, 0xff}) {
    Bytes b = good;
    b[39] = t;
    CHECK(parse_request(sv(b)).error == Errc::unsupported_address_type);
  }
  // Domain: empty, control byte, space.
  {
    Bytes b = good;
    b[40] = 0;
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b = good;
    b[44] = 0x00;
    CHECK(parse_request(sv(b)).error == Errc::malformed);
    b = good;
    b[44] = ' ';
    CHECK(parse_request(std::span<const uint8_t>(b.data(), 45)).error == Errc::malformed);
  }
  // Every truncation of a valid header is need_more, never an error.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = parse_request(std::span<const uint8_t>(good.data(), n));
    CHECK(r.need_more());
  }
  // A 255-byte domain is the longest; 256 cannot be built.
  auto longest = TargetAddress::from_domain(std::string(255, 'a'), 1);
  REQUIRE(longest);
  Bytes big = encode(make_request(Flow::vision, Command::tcp, *longest));
  CHECK(big.size() == 1 + 16 + 19 + 1 + 2 + 1 + 1 + 255);
  CHECK(big.size() <= kMaxRequestSize);
  CHECK(parse_request(sv(big)).consumed == big.size());
  CHECK(!TargetAddress::from_domain(std::string(256, 'a'), 1));
  // Encoder refusals.
  uint8_t small[10];
  CHECK(encode_request(make_request(Flow::none, Command::tcp, *ex), small).error() ==
        Errc::buffer_too_small);
  Request bad = make_request(Flow::none, Command::tcp, *ex);
  bad.command = static_cast<Command>(9);
  uint8_t out[kMaxRequestSize];
  CHECK(encode_request(bad, out).error() == Errc::invalid_argument);
}

TEST_CASE("vless response header (spec 4)", "[proto][vless]") {
  uint8_t b[2];
  auto n = encode_response(b);
  REQUIRE(n);
  CHECK(Bytes(b, b + 2) == hex("0000"));
  CHECK(encode_response(std::span<uint8_t>(b, 1)).error() == Errc::buffer_too_small);

  Bytes reply = cat(hex("0000"), bytes("HTTP/1.1 200"));
  auto r = parse_response(sv(reply));
  REQUIRE(r.done());
  CHECK(r.consumed == 2);
  CHECK(every_prefix_needs_more(hex("0000"), [](auto s) { return parse_response(s); }));
  // Addons are skipped whole.
  Bytes with_addons = cat(hex("00 03 0a0100"), bytes("x"));
  auto a = parse_response(sv(with_addons));
  REQUIRE(a.done());
  CHECK(a.consumed == 5);
  CHECK(a.value.addons_len == 3);
  CHECK(parse_response(sv(hex("00 03 0a01"))).need_more());
  // Version mismatch.
  CHECK(parse_response(sv(hex("01"))).error == Errc::unsupported_version);
  CHECK(parse_response(sv(hex("0100"))).error == Errc::unsupported_version);
  CHECK(parse_response(sv(hex("0100")), 1).done());
}

TEST_CASE("vless port-first address encoding (spec 3, 6.2)", "[proto][vless]") {
  uint8_t buf[kMaxAddrPortSize];
  auto v4 = TargetAddress::from_ipv4({1, 2, 3, 4}, 0x1234);
  auto n = encode_addr_port(v4, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == hex("1234 01 01020304"));
  CHECK(every_prefix_needs_more(Bytes(buf, buf + *n), decode_addr_port));
  CHECK(encode_addr_port(v4, std::span<uint8_t>(buf, 6)).error() == Errc::buffer_too_small);
  CHECK(decode_addr_port(sv(hex("0050 04"))).error == Errc::unsupported_address_type);
  CHECK(decode_addr_port(sv(hex("0050 02 00"))).error == Errc::malformed);
  CHECK(decode_addr_port(sv(hex("0050 02 03 61 0a"))).error == Errc::malformed);
}

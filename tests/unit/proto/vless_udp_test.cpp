// Tests for proto/vless UDP: command 0x02 framing, packetaddr, Mux.Cool
// frames and XUDP (vless.md section 6).
#include "proto/vless/udp.hpp"

#include <catch2/catch.hpp>

#include "proto/vless/mux_frame.hpp"
#include "proto/vless/packetaddr.hpp"
#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp.hpp"
#include "support/hex.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::vless;
using namespace sluice::test;

namespace {

Bytes span_bytes(std::span<const uint8_t> s) { return Bytes(s.begin(), s.end()); }

// frame builds header + data with an encoder that writes headers.
template <typename Enc>
Bytes frame(Enc enc, size_t hdr_size, const Bytes& data) {
  Bytes b(hdr_size + data.size());
  auto n = enc(std::span<uint8_t>(b.data(), hdr_size));
  REQUIRE(n);
  REQUIRE(*n == hdr_size);
  std::copy(data.begin(), data.end(), b.begin() + static_cast<long>(hdr_size));
  return b;
}

}  // namespace

TEST_CASE("vless udp 0x02 framing (spec 6.1)", "[proto][vless][udp]") {
  uint8_t len[2];
  REQUIRE(encode_udp_length(3, len));
  CHECK(Bytes(len, len + 2) == hex("0003"));
  CHECK(encode_udp_length(65536, len).error() == Errc::frame_too_large);
  CHECK(encode_udp_length(1, std::span<uint8_t>(len, 1)).error() == Errc::buffer_too_small);
  CHECK(fits_xray_udp(8190));
  CHECK(!fits_xray_udp(8191));
  CHECK(!fits_xray_udp(0));

  Bytes two = hex("0003 616263 0000 0002 7879 00");
  auto a = parse_udp_frame(sv(two));
  REQUIRE(a.done());
  CHECK(a.consumed == 5);
  CHECK(span_bytes(a.value) == bytes("abc"));
  auto e = parse_udp_frame(std::span<const uint8_t>(two).subspan(5));
  REQUIRE(e.done());
  CHECK(e.value.empty());
  auto b = parse_udp_frame(std::span<const uint8_t>(two).subspan(7));
  REQUIRE(b.done());
  CHECK(span_bytes(b.value) == bytes("xy"));
  CHECK(parse_udp_frame(std::span<const uint8_t>(two).subspan(11)).need_more());
  CHECK(every_prefix_needs_more(hex("0003 616263"), parse_udp_frame));
  Bytes big(2 + 65535, 0x5a);
  big[0] = big[1] = 0xff;
  CHECK(parse_udp_frame(sv(big)).consumed == big.size());
}

TEST_CASE("vless packetaddr (spec 6.3)", "[proto][vless][udp]") {
  auto magic = TargetAddress::from_domain(kPacketAddrDomain, 443);
  REQUIRE(magic);
  CHECK(is_packetaddr_request(*magic));
  CHECK(!is_packetaddr_request(*TargetAddress::from_domain("example.com", 443)));

  uint8_t buf[kMaxPacketAddrSize];
  auto v4 = TargetAddress::from_ipv4({8, 8, 4, 4}, 53);
  auto n = encode_packetaddr(v4, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == hex("01 08080404 0035"));
  std::array<uint8_t, 16> a6{};
  a6[15] = 1;
  auto v6 = TargetAddress::from_ipv6(a6, 5353);
  n = encode_packetaddr(v6, buf);
  REQUIRE(n);
  CHECK(*n == 19);
  CHECK(buf[0] == 0x02);
  CHECK(encode_packetaddr(*magic, buf).error() == Errc::not_supported);
  CHECK(encode_packetaddr(v6, std::span<uint8_t>(buf, 18)).error() == Errc::buffer_too_small);

  Bytes dgram = hex("01 08080404 0035 6869");
  auto d = decode_packetaddr(sv(dgram));
  REQUIRE(d);
  CHECK(d->addr == v4);
  CHECK(span_bytes(d->payload) == bytes("hi"));
  Bytes six = cat(Bytes(buf, buf + 19), bytes("x"));
  CHECK(decode_packetaddr(sv(six))->addr == v6);
  CHECK(decode_packetaddr({}).error() == Errc::truncated);
  Bytes full = hex("01 08080404 0035");
  for (size_t k = 1; k < full.size(); ++k) {
    CHECK(decode_packetaddr(std::span<const uint8_t>(full.data(), k)).error() == Errc::truncated);
  }
  // No domain type (0x03), and the SOCKS IPv6 number (0x04) is not IPv6 here.
  CHECK(decode_packetaddr(sv(hex("03 01 61 0035"))).error() == Errc::unsupported_address_type);
  CHECK(decode_packetaddr(sv(hex("04 00"))).error() == Errc::unsupported_address_type);
}

TEST_CASE("mux.cool frames: spec examples (spec 6.2)", "[proto][vless][xudp]") {
  Bytes new_frame = hex("000c 0000 01 01 02 0035 01 08080808 0003 616263");
  auto f = parse_mux_frame(sv(new_frame));
  REQUIRE(f.done());
  CHECK(f.consumed == new_frame.size());
  CHECK(f.value.header.status == MuxStatus::new_session);
  CHECK(f.value.header.has_target);
  CHECK(f.value.header.network == MuxNetwork::udp);
  CHECK(f.value.header.target == TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  CHECK(!f.value.header.has_global_id);
  CHECK(span_bytes(f.value.data) == bytes("abc"));
  CHECK(every_prefix_needs_more(new_frame, parse_mux_frame));

  XudpClient c(TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  auto to = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  size_t hs = c.header_size(to);
  CHECK(frame([&](std::span<uint8_t> o) { return c.encode_header(to, 3, o); }, hs, bytes("abc")) ==
        new_frame);
  auto one = TargetAddress::from_ipv4({1, 1, 1, 1}, 53);
  Bytes keep = hex("000c 0000 02 01 02 0035 01 01010101 0003 78797a");
  hs = c.header_size(one);
  CHECK(frame([&](std::span<uint8_t> o) { return c.encode_header(one, 3, o); }, hs, bytes("xyz")) ==
        keep);
  auto k = parse_mux_frame(sv(keep));
  REQUIRE(k.done());
  CHECK(k.value.header.status == MuxStatus::keep);
  CHECK(k.value.header.target == one);
}

TEST_CASE("mux.cool frames: round trips and options", "[proto][vless][xudp]") {
  GlobalId gid{1, 2, 3, 4, 5, 6, 7, 8};
  auto dom = *TargetAddress::from_domain("dns.google", 853);
  XudpClient c(dom, &gid);
  Bytes f1 = frame([&](std::span<uint8_t> o) { return c.encode_header(dom, 2, o); },
                   c.header_size(dom), bytes("hi"));
  auto p = parse_mux_frame(sv(f1));
  REQUIRE(p.done());
  CHECK(p.value.header.has_global_id);
  CHECK(p.value.header.global_id == gid);
  CHECK(p.value.header.target == dom);
  // The GlobalID goes on New only.
  Bytes f2 = frame([&](std::span<uint8_t> o) { return c.encode_header(dom, 2, o); },
                   c.header_size(dom), bytes("hi"));
  CHECK(f2.size() == f1.size() - 8);

  // Keep without address, End, KeepAlive, data-less frames, Error option.
  Bytes keep_bare = hex("0004 0000 02 01 0002 6869");
  auto kb = parse_mux_frame(sv(keep_bare));
  REQUIRE(kb.done());
  CHECK(!kb.value.header.has_target);
  Bytes end = hex("0004 0000 03 00");
  auto e = parse_mux_frame(sv(end));
  REQUIRE(e.done());
  CHECK(e.value.header.status == MuxStatus::end);
  CHECK(e.consumed == 6);
  Bytes end_err = hex("0004 0000 03 02");
  CHECK(parse_mux_frame(sv(end_err)).value.header.error_flag());
  Bytes ka = hex("0004 0000 04 00");
  CHECK(parse_mux_frame(sv(ka)).value.header.status == MuxStatus::keep_alive);
  Bytes ka_data = hex("0004 0000 04 01 0001 ff");
  CHECK(parse_mux_frame(sv(ka_data)).consumed == 9);

  // Every header the encoder makes re-parses to itself.
  MuxFrameHeader h;
  h.session_id = 7;
  h.status = MuxStatus::end;
  uint8_t buf[64];
  auto n = encode_mux_frame_header(h, 0, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == hex("0004 0007 03 00"));
  // Encoder refusals.
  MuxFrameHeader bad;
  bad.status = MuxStatus::new_session;
  CHECK(encode_mux_frame_header(bad, 0, buf).error() == Errc::invalid_argument);
  bad.status = MuxStatus::keep;
  bad.has_global_id = true;
  CHECK(encode_mux_frame_header(bad, 0, buf).error() == Errc::invalid_argument);
  bad = MuxFrameHeader{};
  bad.status = MuxStatus::end;
  bad.has_target = true;
  CHECK(encode_mux_frame_header(bad, 0, buf).error() == Errc::invalid_argument);
  bad = MuxFrameHeader{};
  CHECK(encode_mux_frame_header(bad, 1, buf).error() == Errc::invalid_argument);
  bad.option = kMuxOptionData;
  CHECK(encode_mux_frame_header(bad, 65536, buf).error() == Errc::invalid_argument);
  CHECK(encode_mux_frame_header(bad, 1, std::span<uint8_t>(buf, 7)).error() ==
        Errc::buffer_too_small);
}

TEST_CASE("mux.cool frames: malformed", "[proto][vless][xudp]") {
  CHECK(parse_mux_frame(sv(hex("0201"))).error == Errc::frame_too_large);  // L = 513
  CHECK(parse_mux_frame(sv(hex("0200"))).need_more());                     // L = 512 is fine
  CHECK(parse_mux_frame(sv(hex("0003 000001"))).error == Errc::eof);
  CHECK(parse_mux_frame(sv(hex("0000"))).error == Errc::eof);
  CHECK(parse_mux_frame(sv(hex("0004 0000 05"))).error == Errc::unknown_command);
  CHECK(parse_mux_frame(sv(hex("0004 0000 00 00"))).error == Errc::unknown_command);
  // New shorter than 8, unknown network, bad address type, address past L.
  CHECK(parse_mux_frame(sv(hex("0007 0000 01 01 02 0035"))).error == Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("000c 0000 01 01 03 0035 01 08080808"))).error ==
        Errc::protocol_violation);
  CHECK(parse_mux_frame(sv(hex("000c 0000 01 01 02 0035 04 08080808"))).error ==
        Errc::unsupported_address_type);
  CHECK(parse_mux_frame(sv(hex("000b 0000 01 01 02 0035 01 080808"))).error == Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("0009 0000 01 01 02 0035 02 00 00"))).error == Errc::malformed);
  // Leftovers: not an 8-byte GlobalID on New; anything after a Keep address;
  // anything on End/KeepAlive.
  CHECK(parse_mux_frame(sv(hex("000d 0000 01 01 02 0035 01 08080808 aa"))).error ==
        Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("0015 0000 01 00 02 0035 01 08080808 0102030405060708 aa"))).error ==
        Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("000d 0000 02 01 02 0035 01 08080808 00"))).error ==
        Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("0005 0000 03 00 00"))).error == Errc::malformed);
  CHECK(parse_mux_frame(sv(hex("0005 0000 04 00 00"))).error == Errc::malformed);
  // Truncated data is need_more.
  CHECK(parse_mux_frame(sv(hex("0004 0000 02 01 0005 6869"))).need_more());
}

TEST_CASE("xudp client: what server frames mean", "[proto][vless][xudp]") {
  auto dest = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  XudpClient c(dest);
  auto ev = [&](const Bytes& b) {
    auto f = parse_mux_frame(sv(b));
    REQUIRE(f.done());
    return c.on_frame(f.value);
  };
  Bytes keep_frame = hex("000c 0000 02 01 02 0035 01 01010101 0002 6869");
  auto d = ev(keep_frame);
  REQUIRE(d);
  CHECK(d->kind == XudpEvent::datagram);
  CHECK(d->addr == TargetAddress::from_ipv4({1, 1, 1, 1}, 53));
  CHECK(span_bytes(d->data) == bytes("hi"));
  auto bare = ev(hex("0004 0000 02 01 0001 78"));
  REQUIRE(bare);
  CHECK(bare->kind == XudpEvent::datagram);
  CHECK(bare->addr == dest);
  CHECK(ev(hex("0004 0000 04 00"))->kind == XudpEvent::none);
  CHECK(ev(hex("0004 0000 04 01 0001 78"))->kind == XudpEvent::none);
  CHECK(ev(hex("0004 0000 02 00"))->kind == XudpEvent::none);
  CHECK(ev(hex("0004 0000 03 00"))->kind == XudpEvent::end);
  CHECK(ev(hex("000c 0000 01 01 02 0035 01 01010101 0000"))->kind == XudpEvent::end);
  auto err = ev(hex("0004 0000 02 02"));
  REQUIRE(err);
  CHECK(err->kind == XudpEvent::end);
  CHECK(err->remote_error);
  CHECK(ev(hex("0004 0001 02 00")).error() == Errc::protocol_violation);
}

TEST_CASE("xudp server: session 0 UDP only, replies carry the source", "[proto][vless][xudp]") {
  auto frame_of = [](const Bytes& b) {
    auto f = parse_mux_frame(sv(b));
    REQUIRE(f.done());
    return f.value;
  };
  {
    XudpServer s;
    CHECK(s.on_frame(frame_of(hex("0004 0000 02 01 0001 78"))).error() == Errc::protocol_violation);
  }
  {
    XudpServer s;
    CHECK(s.on_frame(frame_of(hex("000c 0000 01 01 01 0050 01 01020304 0000"))).error() ==
          Errc::not_supported);
  }
  {
    XudpServer s;
    CHECK(s.on_frame(frame_of(hex("000c 0003 01 01 02 0035 01 08080808 0000"))).error() ==
          Errc::protocol_violation);
  }
  XudpServer s;
  auto first =
      s.on_frame(frame_of(hex("0014 0000 01 01 02 0035 01 08080808 0102030405060708 0001 61")));
  REQUIRE(first);
  CHECK(s.started());
  CHECK(first->kind == XudpEvent::datagram);
  CHECK(first->addr == TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  CHECK(s.global_id() == GlobalId{1, 2, 3, 4, 5, 6, 7, 8});
  // Xray's Keep without address goes to the New frame's destination.
  auto bare = s.on_frame(frame_of(hex("0004 0000 02 01 0001 62")));
  REQUIRE(bare);
  CHECK(bare->addr == TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  auto other = s.on_frame(frame_of(hex("000c 0000 02 01 02 0035 01 01010101 0001 63")));
  CHECK(other->addr == TargetAddress::from_ipv4({1, 1, 1, 1}, 53));
  CHECK(s.on_frame(frame_of(hex("000c 0000 02 01 01 0035 01 01010101 0001 63"))).error() ==
        Errc::protocol_violation);
  CHECK(s.on_frame(frame_of(hex("000c 0000 01 01 02 0035 01 08080808 0000"))).error() ==
        Errc::protocol_violation);
  CHECK(s.on_frame(frame_of(hex("0004 0000 04 00")))->kind == XudpEvent::none);
  CHECK(s.on_frame(frame_of(hex("0004 0000 03 00")))->kind == XudpEvent::end);

  auto src = TargetAddress::from_ipv4({1, 1, 1, 1}, 53);
  Bytes reply = frame([&](std::span<uint8_t> o) { return XudpServer::encode_header(src, 3, o); },
                      XudpServer::header_size(src), bytes("xyz"));
  CHECK(reply == hex("000c 0000 02 01 02 0035 01 01010101 0003 78797a"));
  XudpClient c(TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  auto back = c.on_frame(frame_of(reply));
  REQUIRE(back);
  CHECK(back->addr == src);
}

TEST_CASE("vless 0x02 stream deframing: views inside a Slice, one gather across Slices",
          "[proto][vless][udp]") {
  BufferPool pool;
  Chain framed;
  std::vector<Bytes> sent;
  for (size_t n : {size_t{1}, size_t{300}, size_t{5000}, size_t{7}}) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 13 + n);
    sent.push_back(b);
    auto s = pool.copy_from(b.data(), b.size());
    REQUIRE(s);
    REQUIRE(frame_udp(pool, std::move(*s), &framed));
  }
  Bytes wire(framed.size());
  framed.copy_out(wire.data(), wire.size());
  for (size_t piece : {size_t{1}, size_t{3}, size_t{301}, size_t{4096}, wire.size()}) {
    INFO("pieces of " << piece);
    Chain in;
    std::vector<Bytes> got;
    uint64_t dropped = 0;
    for (size_t off = 0; off < wire.size(); off += piece) {
      auto s = pool.copy_from(wire.data() + off, std::min(piece, wire.size() - off));
      REQUIRE(s);
      REQUIRE(in.push_back(std::move(*s)));
      deframe_udp(in, pool, &dropped, [&](Slice&& d) {
        got.push_back(span_bytes(d.span()));
        return true;
      });
    }
    CHECK(dropped == 0);
    CHECK(in.empty());
    CHECK(got == sent);
  }
}

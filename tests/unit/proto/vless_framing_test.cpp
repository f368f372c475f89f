// Tests for the VLESS DatagramFramings: UdpFraming (command 0x02) and
// XudpFraming (Mux.Cool session 0), both ends, byte layouts as vless.md
// section 6 gives them, split at every point of the stream.
#include <catch2/catch.hpp>

#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "support/hex.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::vless;
using namespace sluice::test;

namespace {

Bytes wire_of(const Chain& c) {
  Bytes b(c.size());
  c.copy_out(b.data(), b.size());
  return b;
}

Slice slice_of(BufferPool& pool, const Bytes& b) {
  auto s = pool.copy_from(b.data(), b.size());
  REQUIRE(s);
  return std::move(*s);
}

// feed_in_pieces gives |wire| to |f| |piece| bytes at a time and collects
// every datagram taken; |end| receives take's error, if any.
std::vector<FramedDatagram> feed_in_pieces(DatagramFraming& f, BufferPool& pool, const Bytes& wire,
                                           size_t piece, Errc* end = nullptr) {
  std::vector<FramedDatagram> got;
  Chain in;
  for (size_t off = 0; off < wire.size(); off += piece) {
    const size_t n = std::min(piece, wire.size() - off);
    REQUIRE(in.push_back(slice_of(pool, Bytes(wire.begin() + static_cast<long>(off),
                                              wire.begin() + static_cast<long>(off + n)))));
    for (;;) {
      FramedDatagram d;
      auto r = f.take(in, pool, &d);
      if (!r) {
        if (end) *end = r.error();
        return got;
      }
      if (!*r) break;
      got.push_back(std::move(d));
    }
  }
  CHECK(in.empty());
  return got;
}

Bytes payload_bytes(const FramedDatagram& d) {
  return Bytes(d.payload.span().begin(), d.payload.span().end());
}

}  // namespace

TEST_CASE("vless UdpFraming: LEN(2) | payload, the stream's target on every datagram",
          "[proto][vless][udp][framing]") {
  BufferPool pool;
  const auto target = TargetAddress::from_domain("example.com", 53);
  UdpFraming f(*target);
  Chain out;
  // The address given to frame() is ignored: a 0x02 stream has one target.
  REQUIRE(
      f.frame(TargetAddress::from_ipv4({9, 9, 9, 9}, 9), slice_of(pool, bytes("abc")), pool, &out));
  REQUIRE(f.frame(*target, slice_of(pool, Bytes{}), pool, &out));  // empty: encoded
  REQUIRE(f.frame(*target, slice_of(pool, bytes("xy")), pool, &out));
  CHECK(wire_of(out) == hex("0003 616263 0000 0002 7879"));
  // The length went into each payload's headroom: one Slice per datagram.
  CHECK(out.count() == 3);

  for (size_t piece : {size_t{1}, size_t{2}, size_t{4}, size_t{100}}) {
    INFO("pieces of " << piece);
    UdpFraming r(*target);
    auto got = feed_in_pieces(r, pool, wire_of(out), piece);
    REQUIRE(got.size() == 2);  // the empty frame carries nothing to deliver
    CHECK(got[0].address == *target);
    CHECK(payload_bytes(got[0]) == bytes("abc"));
    CHECK(got[1].address == *target);
    CHECK(payload_bytes(got[1]) == bytes("xy"));
  }

  Bytes too_big(kMaxUdpPayload + 1);
  Chain big;
  auto s = pool.get(too_big.size());
  REQUIRE(s);
  s->append(too_big.size());
  CHECK(f.frame(*target, std::move(*s), pool, &big).error() == Errc::frame_too_large);
  CHECK(big.empty());
}

TEST_CASE("vless UdpFraming: a 65535-byte datagram across Slices is gathered once",
          "[proto][vless][udp][framing]") {
  BufferPool pool;
  const auto target = TargetAddress::from_ipv4({1, 2, 3, 4}, 5);
  Bytes big(kMaxUdpPayload);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  Bytes wire = cat(hex("ffff"), big);
  UdpFraming f(target);
  auto got = feed_in_pieces(f, pool, wire, 1000);
  REQUIRE(got.size() == 1);
  CHECK(payload_bytes(got[0]) == big);
  // A partial frame takes nothing and consumes nothing.
  Chain in;
  REQUIRE(in.push_back(slice_of(pool, hex("0005 6162"))));
  FramedDatagram d;
  auto r = f.take(in, pool, &d);
  REQUIRE(r);
  CHECK(!*r);
  CHECK(in.size() == 4);
}

TEST_CASE("vless XudpFraming: client frames New then Keep, reads the server's Keep",
          "[proto][vless][xudp][framing]") {
  BufferPool pool;
  const auto first = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  const auto other = TargetAddress::from_ipv4({1, 1, 1, 1}, 53);
  auto c = XudpFraming::client(first);
  CHECK(c.is_client());
  Chain out;
  REQUIRE(c.frame(first, slice_of(pool, bytes("abc")), pool, &out));
  REQUIRE(c.frame(other, slice_of(pool, bytes("xyz")), pool, &out));
  CHECK(wire_of(out) == hex("000c 0000 01 01 02 0035 01 08080808 0003 616263"
                            "000c 0000 02 01 02 0035 01 01010101 0003 78797a"));
  CHECK(out.count() == 2);  // headers in the payloads' headroom

  // With a GlobalID the New frame carries it (and only the New frame).
  const GlobalId gid{1, 2, 3, 4, 5, 6, 7, 8};
  auto g = XudpFraming::client(first, &gid);
  Chain gout;
  REQUIRE(g.frame(first, slice_of(pool, bytes("a")), pool, &gout));
  REQUIRE(g.frame(first, slice_of(pool, bytes("b")), pool, &gout));
  CHECK(wire_of(gout) == hex("0014 0000 01 01 02 0035 01 08080808 0102030405060708 0001 61"
                             "000c 0000 02 01 02 0035 01 08080808 0001 62"));

  // From the server: Keep with a source, Keep without one (the first
  // destination), KeepAlive and a Keep without data (nothing), then End.
  Bytes from_server =
      hex("000c 0000 02 01 02 0035 01 01010101 0002 6869"
          "0004 0000 02 01 0001 78"
          "0004 0000 04 00"
          "0004 0000 02 00"
          "0004 0000 03 00");
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, from_server.size()}) {
    INFO("pieces of " << piece);
    auto r = XudpFraming::client(first);
    Errc end = Errc::ok;
    auto got = feed_in_pieces(r, pool, from_server, piece, &end);
    CHECK(end == Errc::eof);
    REQUIRE(got.size() == 2);
    CHECK(got[0].address == other);
    CHECK(payload_bytes(got[0]) == bytes("hi"));
    CHECK(got[1].address == first);
    CHECK(payload_bytes(got[1]) == bytes("x"));
  }
}

TEST_CASE("vless XudpFraming: client end stops on New, option Error, bad frames",
          "[proto][vless][xudp][framing]") {
  BufferPool pool;
  const auto first = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  auto take_one = [&](const Bytes& wire) {
    auto f = XudpFraming::client(first);
    Chain in;
    REQUIRE(in.push_back(slice_of(pool, wire)));
    FramedDatagram d;
    return f.take(in, pool, &d);
  };
  CHECK(take_one(hex("000c 0000 01 01 02 0035 01 01010101 0000")).error() == Errc::eof);
  CHECK(take_one(hex("0004 0000 02 02")).error() == Errc::eof);  // the remote closed
  CHECK(take_one(hex("0003 000000")).error() == Errc::eof);      // L < 4 ends the stream
  CHECK(take_one(hex("0004 0001 02 00")).error() == Errc::protocol_violation);  // session 1
  CHECK(take_one(hex("0004 0000 07 00")).error() == Errc::unknown_command);
  CHECK(take_one(hex("0201 0000 02 00")).error() == Errc::frame_too_large);
  CHECK(take_one(hex("0005 0000 03 00 00")).error() == Errc::malformed);
}

TEST_CASE("vless XudpFraming: server end takes New first, frames replies with their source",
          "[proto][vless][xudp][framing]") {
  BufferPool pool;
  auto s = XudpFraming::server();
  CHECK(!s.is_client());
  CHECK(!s.started());
  // A New frame without data starts the flow and delivers nothing.
  Bytes from_client =
      hex("0014 0000 01 00 02 0035 01 08080808 0102030405060708"
          "0004 0000 02 01 0001 62"
          "000c 0000 02 01 02 0035 01 01010101 0001 63"
          "0004 0000 03 00");
  Chain in;
  REQUIRE(in.push_back(slice_of(pool, Bytes(from_client.begin(), from_client.begin() + 22))));
  FramedDatagram d;
  auto r = s.take(in, pool, &d);
  REQUIRE(r);
  CHECK(!*r);
  CHECK(s.started());
  CHECK(s.destination() == TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  CHECK(s.global_id() == GlobalId{1, 2, 3, 4, 5, 6, 7, 8});
  REQUIRE(in.push_back(slice_of(pool, Bytes(from_client.begin() + 22, from_client.end()))));
  r = s.take(in, pool, &d);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(d.address == TargetAddress::from_ipv4({8, 8, 8, 8}, 53));
  CHECK(payload_bytes(d) == bytes("b"));
  r = s.take(in, pool, &d);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(d.address == TargetAddress::from_ipv4({1, 1, 1, 1}, 53));
  CHECK(payload_bytes(d) == bytes("c"));
  CHECK(s.take(in, pool, &d).error() == Errc::eof);

  // The first frame must be New, and UDP.
  auto t = XudpFraming::server();
  Chain bad;
  REQUIRE(bad.push_back(slice_of(pool, hex("0004 0000 02 01 0001 78"))));
  CHECK(t.take(bad, pool, &d).error() == Errc::protocol_violation);
  auto u = XudpFraming::server();
  Chain tcp;
  REQUIRE(tcp.push_back(slice_of(pool, hex("000c 0000 01 01 01 0050 01 01020304 0000"))));
  CHECK(u.take(tcp, pool, &d).error() == Errc::not_supported);

  // Replies: Keep, Data, UDP, the source.
  Chain out;
  REQUIRE(s.frame(TargetAddress::from_ipv4({1, 1, 1, 1}, 53), slice_of(pool, bytes("xyz")), pool,
                  &out));
  CHECK(wire_of(out) == hex("000c 0000 02 01 02 0035 01 01010101 0003 78797a"));
}

TEST_CASE("vless XudpFraming: client and server ends round-trip a domain target",
          "[proto][vless][xudp][framing]") {
  BufferPool pool;
  const auto dom = TargetAddress::from_domain("dns.example", 853);
  REQUIRE(dom);
  auto c = XudpFraming::client(*dom);
  auto s = XudpFraming::server();
  Chain wire;
  Bytes big(5000, 0x42);
  REQUIRE(c.frame(*dom, slice_of(pool, big), pool, &wire));
  REQUIRE(c.frame(*dom, slice_of(pool, bytes("q")), pool, &wire));
  auto got = feed_in_pieces(s, pool, wire_of(wire), 333);
  REQUIRE(got.size() == 2);
  CHECK(got[0].address == *dom);
  CHECK(payload_bytes(got[0]) == big);
  CHECK(payload_bytes(got[1]) == bytes("q"));
  Chain back;
  REQUIRE(s.frame(*dom, slice_of(pool, bytes("answer")), pool, &back));
  auto rep = feed_in_pieces(c, pool, wire_of(back), 5);
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].address == *dom);
  CHECK(payload_bytes(rep[0]) == bytes("answer"));
}

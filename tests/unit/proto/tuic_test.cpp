// TUIC v5 command codec, fragmentation and reassembly (lib/proto/tuic).
#include <catch2/catch.hpp>

#include <cstring>

#include "proto/tuic/fragment.hpp"
#include "proto/tuic/reassembly.hpp"
#include "proto/tuic/tuic.hpp"
#include "support/tuic_token.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::tuic;

namespace {

Bytes enc_connect(const TargetAddress& t) {
  Bytes b(connect_size(t));
  REQUIRE(encode_connect(t, b.data()) == b.size());
  return b;
}

Bytes enc_packet(const PacketHeader& h, const Bytes& payload) {
  Bytes b(packet_header_size(h));
  REQUIRE(encode_packet_header(h, b.data()) == b.size());
  return cat(b, payload);
}

Bytes hex(std::string_view s) {
  Bytes b;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    while (s[i] == ' ') ++i;
    b.push_back(static_cast<uint8_t>(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
  }
  return b;
}

Slice slice_of(BufferPool& pool, const Bytes& b) {
  auto s = pool.copy_from(b.data(), b.size());
  REQUIRE(s);
  return std::move(*s);
}

PacketHeader frag(uint16_t assoc, uint16_t pkt, uint8_t total, uint8_t id, size_t size,
                  const TargetAddress* a) {
  PacketHeader h;
  h.assoc_id = assoc;
  h.packet_id = pkt;
  h.frag_total = total;
  h.frag_id = id;
  h.size = static_cast<uint16_t>(size);
  h.has_address = a != nullptr;
  if (a) h.address = *a;
  return h;
}

}  // namespace

TEST_CASE("tuic command vectors", "[proto][tuic]") {
  uint8_t b[kMaxHeaderSize];
  REQUIRE(encode_heartbeat(b) == 2);
  CHECK(Bytes(b, b + 2) == hex("0504"));
  REQUIRE(encode_dissociate(1, b) == 4);
  CHECK(Bytes(b, b + 4) == hex("05030001"));
  CHECK(enc_connect(*TargetAddress::from_domain("example.com", 443)) ==
        hex("0501000b6578616d706c652e636f6d01bb"));
  CHECK(enc_connect(TargetAddress::from_ipv4({1, 2, 3, 4}, 80)) == hex("050101010203040050"));
  CHECK(enc_connect(*TargetAddress::from_host("2001:db8::1", 443)) ==
        hex("0501022001 0db8 0000 0000 0000 0000 0000 0001 01bb"));
  auto dns = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  CHECK(enc_packet(frag(1, 7, 1, 0, 5, &dns), bytes("hello")) ==
        hex("05020001000701000005010808080800356865 6c6c6f"));
  CHECK(enc_packet(frag(1, 8, 2, 1, 3, nullptr), bytes("xyz")) ==
        hex("050200010008020100 03ff78797a"));
  Uuid u{};
  Token t{};
  for (size_t i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < 32; ++i) t[i] = static_cast<uint8_t>(0xa0 + i);
  REQUIRE(encode_authenticate(u, t, b) == 50);
  CHECK(b[0] == 5);
  CHECK(b[1] == 0);
  CHECK(std::memcmp(b + 2, u.data(), 16) == 0);
  CHECK(std::memcmp(b + 18, t.data(), 32) == 0);
}

TEST_CASE("tuic commands parse back, every prefix needs more", "[proto][tuic]") {
  auto parse = [](std::span<const uint8_t> in) { return parse_command(in); };
  Bytes c = enc_connect(*TargetAddress::from_domain("example.com", 443));
  CHECK(every_prefix_needs_more(c, parse));
  auto r = parse_command(sv(cat(c, bytes("GET /"))));
  REQUIRE(r.done());
  CHECK(r.consumed == c.size());
  CHECK(r.value.command == Command::connect);
  CHECK(r.value.target.to_string() == "example.com:443");

  auto v6 = *TargetAddress::from_host("2001:db8::1", 443);
  Bytes c6 = enc_connect(v6);
  r = parse_command(sv(c6));
  REQUIRE(r.done());
  CHECK(r.value.target == v6);

  auto dns = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  Bytes p = enc_packet(frag(0x1234, 0xfffe, 3, 0, 5, &dns), bytes("hello"));
  Bytes ph(p.begin(), p.end() - 5);
  CHECK(every_prefix_needs_more(ph, parse));
  r = parse_command(sv(p));
  REQUIRE(r.done());
  CHECK(r.consumed == p.size() - 5);
  CHECK(r.value.packet.assoc_id == 0x1234);
  CHECK(r.value.packet.packet_id == 0xfffe);
  CHECK(r.value.packet.frag_total == 3);
  CHECK(r.value.packet.frag_id == 0);
  CHECK(r.value.packet.size == 5);
  CHECK(r.value.packet.has_address);
  CHECK(r.value.packet.address == dns);

  Bytes none = hex("05020001000802010003ff");
  r = parse_command(sv(none));
  REQUIRE(r.done());
  CHECK_FALSE(r.value.packet.has_address);

  uint8_t a[50];
  Uuid u{};
  u[15] = 9;
  Token t{};
  t[0] = 7;
  encode_authenticate(u, t, a);
  Bytes ab(a, a + 50);
  CHECK(every_prefix_needs_more(ab, parse));
  r = parse_command(sv(ab));
  REQUIRE(r.done());
  CHECK(r.value.command == Command::authenticate);
  CHECK(r.value.uuid == u);
  CHECK(r.value.token == t);

  r = parse_command(sv(hex("05030102")));
  REQUIRE(r.done());
  CHECK(r.value.command == Command::dissociate);
  CHECK(r.value.assoc_id == 0x0102);
  r = parse_command(sv(hex("0504")));
  REQUIRE(r.done());
  CHECK(r.value.command == Command::heartbeat);
}

TEST_CASE("tuic malformed commands are refused with specific errors", "[proto][tuic]") {
  CHECK(parse_command(sv(hex("04"))).error == Errc::unsupported_version);
  CHECK(parse_command(sv(hex("0501"))).need_more());
  CHECK(parse_command(sv(hex("0505"))).error == Errc::unknown_command);
  CHECK(parse_command(sv(hex("05ff"))).error == Errc::unknown_command);
  // ADDR type 0x03 is SOCKS's domain, not TUIC's.
  CHECK(parse_command(sv(hex("050103"))).error == Errc::unsupported_address_type);
  // An empty domain, a domain with a control byte.
  CHECK(parse_command(sv(hex("05010000"))).error == Errc::malformed);
  CHECK(parse_command(sv(hex("050100026100 0050"))).error == Errc::malformed);
  // Connect to None.
  CHECK(parse_command(sv(hex("0501ff"))).error == Errc::malformed);
  CHECK(parse_command(sv(hex("05020001000101000000 07"))).error == Errc::unsupported_address_type);
}

TEST_CASE("tuic datagrams: lenient on SIZE, strict on command", "[proto][tuic]") {
  auto dns = TargetAddress::from_ipv4({8, 8, 8, 8}, 53);
  Bytes p = enc_packet(frag(1, 7, 1, 0, 5, &dns), bytes("hello"));
  auto r = parse_datagram(sv(p));
  REQUIRE(r.done());
  CHECK(p.size() - r.consumed == 5);
  // Bytes past SIZE are tolerated (tuic#170), fewer are truncated.
  r = parse_datagram(sv(cat(p, bytes("!!"))));
  REQUIRE(r.done());
  CHECK(r.value.packet.size == 5);
  Bytes short_p(p.begin(), p.end() - 1);
  CHECK(parse_datagram(sv(short_p)).error == Errc::truncated);
  CHECK(parse_datagram(sv(hex("0502"))).error == Errc::truncated);
  CHECK(parse_datagram(sv(hex("0504"))).done());
  CHECK(parse_datagram(sv(hex("05030001"))).error == Errc::protocol_violation);
  CHECK(parse_datagram(sv(hex("0501010102030400 50"))).error == Errc::protocol_violation);
  CHECK(parse_datagram(sv(hex("06"))).error == Errc::unsupported_version);
  CHECK(parse_datagram({}).error == Errc::truncated);
}

TEST_CASE("tuic fragment plans", "[proto][tuic]") {
  // 1200-byte packets, IPv4 ADDR (7): first carries 1183, later 1189.
  auto p = plan_fragments(1000, 7, 1200);
  REQUIRE(p);
  CHECK(p->total == 1);
  p = plan_fragments(1183, 7, 1200);
  REQUIRE(p);
  CHECK(p->total == 1);
  p = plan_fragments(1184, 7, 1200);
  REQUIRE(p);
  CHECK(p->total == 2);
  CHECK(p->size_of(1184, 0) == 1183);
  CHECK(p->size_of(1184, 1) == 1);
  // Exactly first + later: no empty trailing fragment.
  p = plan_fragments(1183 + 1189, 7, 1200);
  REQUIRE(p);
  CHECK(p->total == 2);
  CHECK(p->size_of(1183 + 1189, 1) == 1189);
  p = plan_fragments(60000, 7, 1200);
  REQUIRE(p);
  size_t sum = 0;
  for (uint8_t i = 0; i < p->total; ++i) {
    size_t n = p->size_of(60000, i);
    CHECK(n > 0);
    CHECK(n + (i == 0 ? 17u : 11u) <= 1200);
    sum += n;
  }
  CHECK(sum == 60000);
  CHECK(p->total == 1 + (60000 - 1183 + 1188) / 1189);
  // Zero-length datagram: one empty fragment.
  p = plan_fragments(0, 7, 1200);
  REQUIRE(p);
  CHECK(p->total == 1);
  // Limits.
  CHECK(plan_fragments(65536, 7, 70000).error() == Errc::frame_too_large);
  CHECK(plan_fragments(100, 7, 17).error() == Errc::frame_too_large);
  CHECK(plan_fragments(60000, 7, 200).error() == Errc::frame_too_large);  // > 255 fragments
  p = plan_fragments(65535, 7, 100000);
  REQUIRE(p);
  CHECK(p->total == 1);
}

TEST_CASE("tuic reassembly: in order, out of order, duplicates", "[proto][tuic]") {
  BufferPool pool;
  Reassembler r;
  auto to = TargetAddress::from_ipv4({10, 0, 0, 1}, 9);
  Reassembled out;
  // Unfragmented: the payload itself.
  Slice whole = slice_of(pool, bytes("abc"));
  const uint8_t* where = whole.data();
  REQUIRE(r.add(frag(1, 1, 1, 0, 3, &to), std::move(whole), 0, pool, &out) ==
          Reassembler::Outcome::complete);
  CHECK(out.payload.data() == where);
  CHECK(out.address == to);
  // Three fragments, out of order, with a duplicate.
  CHECK(r.add(frag(1, 2, 3, 2, 2, nullptr), slice_of(pool, bytes("ef")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(1, 2, 3, 0, 2, &to), slice_of(pool, bytes("ab")), 1, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(1, 2, 3, 0, 2, &to), slice_of(pool, bytes("XX")), 1, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.partial() == 1);
  REQUIRE(r.add(frag(1, 2, 3, 1, 2, nullptr), slice_of(pool, bytes("cd")), 2, pool, &out) ==
          Reassembler::Outcome::complete);
  CHECK(out.payload.view() == "abcdef");
  CHECK(out.assoc_id == 1);
  CHECK(out.address == to);
  CHECK(r.partial() == 0);
  CHECK(r.stats().reassembled == 1);
  // Same packet id on another association is another packet.
  CHECK(r.add(frag(1, 3, 2, 0, 1, &to), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(2, 3, 2, 1, 1, nullptr), slice_of(pool, bytes("b")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.partial() == 2);
  r.forget(1);
  r.forget(2);
  CHECK(r.partial() == 0);
}

TEST_CASE("tuic reassembly tolerates an empty last fragment", "[proto][tuic]") {
  BufferPool pool;
  Reassembler r;
  auto to = *TargetAddress::from_domain("example.com", 53);
  Reassembled out;
  CHECK(r.add(frag(5, 9, 3, 0, 2, &to), slice_of(pool, bytes("hi")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(5, 9, 3, 1, 2, nullptr), slice_of(pool, bytes("!!")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  REQUIRE(r.add(frag(5, 9, 3, 2, 0, nullptr), Slice{}, 0, pool, &out) ==
          Reassembler::Outcome::complete);
  CHECK(out.payload.view() == "hi!!");
  CHECK(out.address.to_string() == "example.com:53");
}

TEST_CASE("tuic reassembly drops what cannot be trusted", "[proto][tuic]") {
  BufferPool pool;
  Reassembler r({4, 15000});
  auto to = TargetAddress::from_ipv4({10, 0, 0, 1}, 9);
  Reassembled out;
  // Unfragmented without an address, FRAG_ID >= FRAG_TOTAL.
  CHECK(r.add(frag(1, 1, 1, 0, 1, nullptr), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  CHECK(r.add(frag(1, 1, 2, 2, 1, nullptr), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  CHECK(r.add(frag(1, 1, 0, 1, 1, &to), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  // Fragment 0 with ADDR None: the packet has no target.
  CHECK(r.add(frag(1, 2, 2, 0, 1, nullptr), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(1, 2, 2, 1, 1, nullptr), slice_of(pool, bytes("b")), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  // FRAG_TOTAL disagreeing within a packet.
  CHECK(r.add(frag(1, 3, 2, 0, 1, &to), slice_of(pool, bytes("a")), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(1, 3, 3, 1, 1, nullptr), slice_of(pool, bytes("b")), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  CHECK(r.partial() == 0);
  // More than kMaxPacketSize in total.
  Bytes big(40000, 'x');
  CHECK(r.add(frag(1, 4, 2, 0, 40000, &to), slice_of(pool, big), 0, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.add(frag(1, 4, 2, 1, 40000, nullptr), slice_of(pool, big), 0, pool, &out) ==
        Reassembler::Outcome::dropped);
  CHECK(r.partial() == 0);
}

TEST_CASE("tuic reassembly bounds and expires partial packets", "[proto][tuic]") {
  BufferPool pool;
  Reassembler r({4, 15000});
  auto to = TargetAddress::from_ipv4({10, 0, 0, 1}, 9);
  Reassembled out;
  for (uint16_t i = 0; i < 4; ++i)
    CHECK(r.add(frag(1, i, 2, 0, 1, &to), slice_of(pool, bytes("a")), i, pool, &out) ==
          Reassembler::Outcome::incomplete);
  CHECK(r.partial() == 4);
  CHECK(r.next_expiry() == 15000);
  // A fifth evicts the oldest (packet 0).
  CHECK(r.add(frag(1, 10, 2, 0, 1, &to), slice_of(pool, bytes("a")), 5, pool, &out) ==
        Reassembler::Outcome::incomplete);
  CHECK(r.partial() == 4);
  CHECK(r.add(frag(1, 0, 2, 1, 1, nullptr), slice_of(pool, bytes("b")), 6, pool, &out) ==
        Reassembler::Outcome::incomplete);  // packet 0 starts over, evicting packet 1
  CHECK(r.next_expiry() == 15002);
  r.expire(15002);
  CHECK(r.partial() == 3);
  r.expire(15006);
  CHECK(r.partial() == 0);
  CHECK(r.next_expiry() == UINT64_MAX);
  CHECK(r.stats().expired == 4);  // packets 2, 3, 10 and 0
  CHECK(r.stats().dropped == 2);  // packets 0 and 1, evicted
}

TEST_CASE("tuic fragment plan round-trips through the reassembler", "[proto][tuic]") {
  BufferPool pool;
  Reassembler r;
  auto to = *TargetAddress::from_host("2001:db8::2", 5353);
  for (size_t len : {0u, 1u, 1163u, 1164u, 2352u, 2353u, 60000u, 65535u}) {
    Bytes data(len);
    for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(i * 7 + len);
    auto p = plan_fragments(len, address_size(&to), 1200);
    REQUIRE(p);
    Reassembled out;
    size_t off = 0;
    Reassembler::Outcome last = Reassembler::Outcome::dropped;
    // Send in reverse order.
    std::vector<std::pair<size_t, size_t>> spans;
    for (uint8_t i = 0; i < p->total; ++i) {
      spans.emplace_back(off, p->size_of(len, i));
      off += p->size_of(len, i);
    }
    REQUIRE(off == len);
    for (size_t k = spans.size(); k-- > 0;) {
      Bytes part(data.begin() + spans[k].first, data.begin() + spans[k].first + spans[k].second);
      last = r.add(frag(3, static_cast<uint16_t>(len), p->total, static_cast<uint8_t>(k),
                        part.size(), k == 0 ? &to : nullptr),
                   slice_of(pool, part), 0, pool, &out);
    }
    REQUIRE(last == Reassembler::Outcome::complete);
    CHECK(out.payload.size() == len);
    CHECK(Bytes(out.payload.data(), out.payload.data() + out.payload.size()) == data);
    CHECK(out.address == to);
  }
}

TEST_CASE("tuic token derivation from the exporter secret (RFC 8446 §7.5)", "[proto][tuic]") {
  // Vector B: exporter secret = 32 × 0x11, UUID fe35d05b-8803-45c4-bae6-723ad2cd5d3d,
  // password "tuic".
  Bytes secret(32, 0x11);
  Bytes uuid = hex("fe35d05b880345c4bae6723ad2cd5d3d");
  std::array<uint8_t, 16> u;
  std::memcpy(u.data(), uuid.data(), 16);
  auto t = tuic_token_from_exporter_secret(sv(secret), u, "tuic");
  CHECK(Bytes(t.begin(), t.end()) ==
        hex("bdc8c68dd1a296c60c5289bde913a79d268b87f3cf7da2e801828b77f98119a3"));
  // Vector A: a real handshake's EXPORTER_SECRET (GnuTLS client, OpenSSL server).
  Bytes a = hex("6bb2f63a7e4d763c061c9a5546fc2da27ae6e2e8bd7f354a690a8d95142ed276");
  t = tuic_token_from_exporter_secret(sv(a), u, "tuic");
  CHECK(Bytes(t.begin(), t.end()) ==
        hex("aea1dd960d48288e1339ff24d1d05967848479f9e0e203589256c32166974cc2"));
}

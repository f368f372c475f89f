// Hysteria v1 wire format (lib/proto/hysteria1): control and request
// streams, UDPMessage, fragmentation and reassembly, XPlus; the spec's
// vectors round-trip through both encoder and decoder.
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "proto/hysteria1/hysteria1.hpp"
#include "proto/hysteria1/server.hpp"
#include "proto/hysteria1/udp_message.hpp"
#include "proto/hysteria1/xplus.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::hysteria1;

namespace {

Bytes unhex(std::string_view h) {
  Bytes b;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    b.push_back(static_cast<uint8_t>(nib(h[i]) * 16 + nib(h[i + 1])));
    i += 2;
  }
  return b;
}

Bytes udp(const UdpHeader& h, std::string_view host, uint16_t port, const Bytes& data) {
  Bytes b(udp_header_size(host.size()) + data.size());
  auto n = encode_udp_header(h, host, port, data.size(), {b.data(), b.size()});
  REQUIRE(n);
  REQUIRE(*n == udp_header_size(host.size()));
  if (!data.empty()) std::memcpy(b.data() + *n, data.data(), data.size());
  return b;
}

}  // namespace

TEST_CASE("Hysteria1: control stream vectors (spec 12)", "[proto][hysteria1]") {
  const Bytes hello =
      unhex("03 00 00 00 00 00 be bc 20 00 00 00 00 03 b9 ac a0 00 08 70 61 73 73 77 6f 72 64");
  Bytes out(client_hello_size(8));
  const Bytes auth = bytes("password");
  auto n = encode_client_hello(12500000, 62500000, sv(auth), {out.data(), out.size()});
  REQUIRE(n);
  CHECK(out == hello);

  auto h = parse_client_hello(sv(hello));
  REQUIRE(h.done());
  CHECK(h.consumed == hello.size());
  CHECK(h.value.send_bps == 12500000);
  CHECK(h.value.recv_bps == 62500000);
  CHECK(h.value.auth == "password");
  CHECK(every_prefix_needs_more(hello, parse_client_hello));

  // The server without limits answers the client's rates mirrored.
  const Rates r = server_rates(h.value, 0, 0);
  CHECK(r.send_bps == 62500000);
  CHECK(r.recv_bps == 12500000);
  const Bytes ok = unhex("01 00 00 00 00 03 b9 ac a0 00 00 00 00 00 be bc 20 00 00");
  out.assign(server_hello_size(0), 0);
  REQUIRE(encode_server_hello(true, r.send_bps, r.recv_bps, "", {out.data(), out.size()}));
  CHECK(out == ok);
  auto sh = parse_server_hello(sv(ok));
  REQUIRE(sh.done());
  CHECK(sh.value.ok);
  CHECK(sh.value.send_bps == 62500000);
  CHECK(sh.value.recv_bps == 12500000);
  CHECK(sh.value.message.empty());
  CHECK(every_prefix_needs_more(ok, parse_server_hello));

  const Bytes reject =
      cat(cat(bytes({0}), Bytes(16, 0)), unhex("00 0a 61 75 74 68 20 65 72 72 6f 72"));
  out.assign(server_hello_size(10), 0);
  REQUIRE(encode_server_hello(false, 0, 0, "auth error", {out.data(), out.size()}));
  CHECK(out == reject);
  auto rj = parse_server_hello(sv(reject));
  REQUIRE(rj.done());
  CHECK_FALSE(rj.value.ok);
  CHECK(rj.value.message == "auth error");
}

TEST_CASE("Hysteria1: rate negotiation with limits and the client clamp", "[proto][hysteria1]") {
  ClientHello c{12500000, 62500000, "x"};
  Rates r = server_rates(c, 25000000, 5000000);  // server up 200, down 40 Mbit/s
  CHECK(r.send_bps == 25000000);                 // min(client recv, server up)
  CHECK(r.recv_bps == 5000000);                  // min(client send, server down)
  // A sing-box server reports its configured rate, possibly above ours.
  ServerHello sb{true, 1, 100000000, ""};
  CHECK(client_send_rate(sb, 12500000) == 12500000);
  ServerHello off{true, 1, 5000000, ""};
  CHECK(client_send_rate(off, 12500000) == 5000000);
}

TEST_CASE("Hysteria1: malformed control stream input", "[proto][hysteria1]") {
  // Version 2 (Hysteria 0.9) and garbage are refused at the first byte.
  auto v2 = parse_client_hello(sv(bytes({2})));
  REQUIRE(v2.failed());
  CHECK(v2.error == Errc::unsupported_version);
  CHECK(parse_client_hello(sv(bytes({'G', 'E', 'T'}))).error == Errc::unsupported_version);
  // Zero rates are a protocol error (app close code 1 on the server).
  Bytes zero = unhex("03 00 00 00 00 00 00 00 00 00 00 00 00 03 b9 ac a0 00 00");
  auto z = parse_client_hello(sv(zero));
  REQUIRE(z.failed());
  CHECK(z.error == Errc::malformed);
  zero = unhex("03 00 00 00 00 00 be bc 20 00 00 00 00 00 00 00 00 00 00");
  CHECK(parse_client_hello(sv(zero)).error == Errc::malformed);
  // An accepting ServerHello with zero rates cannot be obeyed.
  const Bytes bad_ok = cat(cat(bytes({1}), Bytes(16, 0)), bytes({0, 0}));
  CHECK(parse_server_hello(sv(bad_ok)).error == Errc::malformed);
  // Encoders refuse what the wire cannot carry.
  Bytes out(client_hello_size(0));
  CHECK(encode_client_hello(0, 1, {}, {out.data(), out.size()}).error() == Errc::invalid_argument);
  CHECK(encode_client_hello(1, 1, {}, {out.data(), 3}).error() == Errc::buffer_too_small);
  const Bytes big(70000, 'a');
  CHECK(encode_client_hello(1, 1, sv(big), {out.data(), out.size()}).error() ==
        Errc::invalid_argument);
  // The hello is followed by nothing else on the control stream, but a
  // parser must not swallow extra bytes.
  const Bytes two =
      cat(unhex("03 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 00 01 41"), bytes({0xff}));
  auto t = parse_client_hello(sv(two));
  REQUIRE(t.done());
  CHECK(t.consumed == two.size() - 1);
  CHECK(t.value.auth == "A");
}

TEST_CASE("Hysteria1: request and response vectors (spec 12)", "[proto][hysteria1]") {
  const Bytes tcp = unhex("00 00 0b 65 78 61 6d 70 6c 65 2e 63 6f 6d 01 bb");
  Bytes out(client_request_size(11));
  REQUIRE(encode_client_request(false, "example.com", 443, {out.data(), out.size()}));
  CHECK(out == tcp);
  auto r = parse_client_request(sv(tcp));
  REQUIRE(r.done());
  CHECK_FALSE(r.value.udp);
  CHECK(r.value.host == "example.com");
  CHECK(r.value.port == 443);
  CHECK(every_prefix_needs_more(tcp, parse_client_request));
  // Payload may follow the request in the same read (sing-box fast open).
  auto rp = parse_client_request(sv(cat(tcp, bytes("GET /"))));
  REQUIRE(rp.done());
  CHECK(rp.consumed == tcp.size());

  const Bytes udp_req = unhex("01 00 00 00 00");
  out.assign(client_request_size(0), 0);
  REQUIRE(encode_client_request(true, "", 0, {out.data(), out.size()}));
  CHECK(out == udp_req);
  auto u = parse_client_request(sv(udp_req));
  REQUIRE(u.done());
  CHECK(u.value.udp);

  const Bytes udp_ok = unhex("01 00 00 00 05 00 00");
  out.assign(server_response_size(0), 0);
  REQUIRE(encode_server_response(true, 5, "", {out.data(), out.size()}));
  CHECK(out == udp_ok);
  auto s = parse_server_response(sv(udp_ok));
  REQUIRE(s.done());
  CHECK(s.value.ok);
  CHECK(s.value.udp_session_id == 5);
  CHECK(every_prefix_needs_more(udp_ok, parse_server_response));

  out.assign(server_response_size(kMsgBlocked.size()), 0);
  REQUIRE(encode_server_response(false, 0, kMsgBlocked, {out.data(), out.size()}));
  auto b = parse_server_response(sv(out));
  REQUIRE(b.done());
  CHECK_FALSE(b.value.ok);
  CHECK(b.value.message == "blocked by ACL");
}

TEST_CASE("Hysteria1: malformed requests", "[proto][hysteria1]") {
  CHECK(parse_client_request(sv(bytes({2, 0, 0, 0, 0}))).error == Errc::malformed);
  // TCP with an empty host or port 0.
  CHECK(parse_client_request(sv(bytes({0, 0, 0, 0, 0}))).error == Errc::malformed);
  CHECK(parse_client_request(sv(bytes({0, 0, 1, 'a', 0, 0}))).error == Errc::malformed);
  // A host length over the limit is refused before its bytes arrive.
  CHECK(parse_client_request(sv(bytes({0, 0xff, 0xff}))).error == Errc::malformed);
  Bytes out(64);
  CHECK(encode_client_request(false, "", 80, {out.data(), out.size()}).error() ==
        Errc::invalid_argument);
  CHECK(encode_client_request(false, "a", 0, {out.data(), out.size()}).error() ==
        Errc::invalid_argument);
  CHECK(encode_client_request(false, "example.com", 1, {out.data(), 4}).error() ==
        Errc::buffer_too_small);
}

TEST_CASE("Hysteria1: UDP message vector (spec 12)", "[proto][hysteria1]") {
  const Bytes v = unhex("00 00 00 05 00 07 38 2e 38 2e 38 2e 38 00 35 00 00 00 01 00 02 68 69");
  CHECK(udp({5, 0, 0, 1}, "8.8.8.8", 53, bytes("hi")) == v);
  auto m = parse_udp_message(sv(v));
  REQUIRE(m);
  CHECK(m->header.session_id == 5);
  CHECK(m->host == "8.8.8.8");
  CHECK(m->port == 53);
  CHECK(m->header.msg_id == 0);
  CHECK(m->header.frag_count == 1);
  CHECK(Bytes(m->data.begin(), m->data.end()) == bytes("hi"));
  // An empty packet is legal UDP.
  const Bytes empty = udp({1, 0, 0, 1}, "::1", 9, {});
  auto e = parse_udp_message(sv(empty));
  REQUIRE(e);
  CHECK(e->data.empty());
  CHECK(e->host == "::1");
}

TEST_CASE("Hysteria1: malformed UDP messages", "[proto][hysteria1]") {
  const Bytes v = udp({5, 0, 0, 1}, "8.8.8.8", 53, bytes("hi"));
  for (size_t n = 0; n < v.size(); ++n) {
    auto r = parse_udp_message({v.data(), n});
    REQUIRE_FALSE(r);
    CHECK(r.error() == Errc::truncated);
  }
  CHECK(parse_udp_message(sv(cat(v, bytes({0})))).error() == Errc::malformed);  // trailing
  Bytes h0 = v;
  h0[4] = h0[5] = 0;  // empty host
  CHECK(parse_udp_message(sv(h0)).error() == Errc::malformed);
  Bytes fc = v;
  fc[18] = 0;  // fragCount 0
  CHECK(parse_udp_message(sv(fc)).error() == Errc::malformed);
  Bytes fi = v;
  fi[17] = 1;  // fragID 1 of 1
  CHECK(parse_udp_message(sv(fi)).error() == Errc::malformed);
  Bytes mid = v;
  mid[18] = 2;  // fragmented with msgID 0
  CHECK(parse_udp_message(sv(mid)).error() == Errc::malformed);
  const Bytes empty_frag = udp({1, 9, 0, 2}, "a", 1, {});
  CHECK(parse_udp_message(sv(empty_frag)).error() == Errc::malformed);
  Bytes big(16);
  CHECK(encode_udp_header({1, 0, 0, 1}, "", 1, 1, {big.data(), big.size()}).error() ==
        Errc::invalid_argument);
  CHECK(encode_udp_header({1, 0, 0, 1}, "a", 1, 70000, {big.data(), big.size()}).error() ==
        Errc::invalid_argument);
  CHECK(encode_udp_header({1, 0, 2, 2}, "a", 1, 1, {big.data(), big.size()}).error() ==
        Errc::invalid_argument);
  CHECK(encode_udp_header({1, 0, 0, 1}, "a", 1, 1, {big.data(), 4}).error() ==
        Errc::buffer_too_small);
}

TEST_CASE("Hysteria1: fragmentation and one-per-connection reassembly", "[proto][hysteria1]") {
  Bytes payload(3000);
  std::iota(payload.begin(), payload.end(), uint8_t{0});
  const std::string_view host = "10.0.0.1";
  const size_t hdr = udp_header_size(host.size());
  const size_t max = 1200;
  const size_t count = fragment_count(hdr, payload.size(), max);
  REQUIRE(count == 3);
  std::vector<Bytes> frags;
  for (size_t i = 0; i < count; ++i) {
    const FragmentSpan s = fragment_span(hdr, payload.size(), max, i);
    Bytes d(payload.begin() + s.offset, payload.begin() + s.offset + s.length);
    frags.push_back(
        udp({7, 0x1234, static_cast<uint8_t>(i), static_cast<uint8_t>(count)}, host, 5353, d));
    CHECK(frags.back().size() <= max);
  }
  hysteria2::Defragmenter d;
  // Out of order; a duplicate is ignored.
  for (size_t i : {2u, 0u, 0u}) {
    auto m = parse_udp_message(sv(frags[i]));
    REQUIRE(m);
    CHECK_FALSE(d.feed(defrag_header(m->header), m->data).complete);
  }
  auto m = parse_udp_message(sv(frags[1]));
  REQUIRE(m);
  auto p = d.feed(defrag_header(m->header), m->data);
  REQUIRE(p.complete);
  CHECK(Bytes(p.data.begin(), p.data.end()) == payload);

  // Another packet interleaving (even of another session) loses the first.
  auto a = parse_udp_message(sv(frags[0]));
  d.feed(defrag_header(a->header), a->data);
  const Bytes other = udp({8, 0x9999, 0, 2}, host, 1, bytes("x"));
  auto o = parse_udp_message(sv(other));
  REQUIRE(o);
  CHECK_FALSE(d.feed(defrag_header(o->header), o->data).complete);
  CHECK(d.drops() == 1);
  // More than 255 fragments cannot be sent.
  CHECK(fragment_count(hdr, 65507, hdr + 100) == 0);
}

TEST_CASE("Hysteria1: XPlus vector (spec 12) and round trip", "[proto][hysteria1][xplus]") {
  XPlus x("fuck me till the daylight");
  uint8_t salt[16];
  for (int i = 0; i < 16; ++i) salt[i] = static_cast<uint8_t>(i);
  uint8_t key[32];
  x.key(salt, key);
  CHECK(Bytes(key, key + 32) ==
        unhex("4cc3fa782ac04d3652149705a69b09bc67ef38fb4e7f89ed8adb6ab3d6a98337"));
  const Bytes payload = bytes("Hello, XPlus!");
  Bytes wire(16 + payload.size());
  x.encode_with_salt(salt, payload.data(), payload.size(), wire.data());
  CHECK(wire == unhex("000102030405060708090a0b0c0d0e0f 04a6961445ec6d6e0278e27687"));
  REQUIRE(x.decode(wire.data(), wire.size()) == payload.size());
  CHECK(Bytes(wire.begin() + 16, wire.end()) == payload);

  // Random salts; packets longer than the key period; short datagrams
  // dropped; another password does not restore the packet.
  Bytes big(1500);
  std::iota(big.begin(), big.end(), uint8_t{3});
  Bytes w1(16 + big.size()), w2(16 + big.size());
  x.encode(big.data(), big.size(), w1.data());
  x.encode(big.data(), big.size(), w2.data());
  CHECK(w1 != w2);
  Bytes w3 = w1;
  XPlus y("other");
  REQUIRE(y.decode(w3.data(), w3.size()) == big.size());
  CHECK(Bytes(w3.begin() + 16, w3.end()) != big);
  REQUIRE(x.decode(w1.data(), w1.size()) == big.size());
  CHECK(Bytes(w1.begin() + 16, w1.end()) == big);
  uint8_t shortp[16] = {};
  CHECK(x.decode(shortp, 16) == 0);
  CHECK(x.decode(shortp, 0) == 0);
}

TEST_CASE("Hysteria1: ControlCore accepts a user with negotiated rates", "[proto][hysteria1]") {
  ControlCore c({"alice-secret", "password"}, 25000000, 0);
  const Bytes hello =
      unhex("03 00 00 00 00 00 be bc 20 00 00 00 00 03 b9 ac a0 00 08 70 61 73 73 77 6f 72 64");
  for (size_t n = 0; n < hello.size(); ++n)
    CHECK(c.feed({hello.data(), n}).kind == ControlCore::Decision::need_more);
  auto d = c.feed(sv(hello));
  REQUIRE(d.kind == ControlCore::Decision::answer);
  CHECK(d.accepted);
  CHECK(d.user == 1);
  CHECK(d.rates.send_bps == 25000000);  // min(client recv 62.5 MB/s, server up)
  CHECK(d.rates.recv_bps == 12500000);  // client send, no server down limit
  auto sh = parse_server_hello(c.output());
  REQUIRE(sh.done());
  CHECK(sh.value.ok);
  CHECK(sh.value.send_bps == 25000000);
  CHECK(sh.value.recv_bps == 12500000);
}

TEST_CASE("Hysteria1: ControlCore refuses wrong auth and bad hellos", "[proto][hysteria1]") {
  ControlCore c({"password"}, 0, 0);
  Bytes hello(client_hello_size(5));
  const Bytes wrong = bytes("passw");
  REQUIRE(encode_client_hello(1 << 20, 1 << 20, sv(wrong), {hello.data(), hello.size()}));
  auto d = c.feed(sv(hello));
  REQUIRE(d.kind == ControlCore::Decision::answer);
  CHECK_FALSE(d.accepted);
  CHECK(d.close_code == kCloseAuthError);
  CHECK(d.reason == "auth error");
  const Bytes reject =
      cat(cat(bytes({0}), Bytes(16, 0)), unhex("00 0a 61 75 74 68 20 65 72 72 6f 72"));
  CHECK(Bytes(c.output().begin(), c.output().end()) == reject);

  ControlCore v({"password"}, 0, 0);
  auto bad = v.feed(sv(bytes({2})));
  REQUIRE(bad.kind == ControlCore::Decision::close);
  CHECK(bad.close_code == kCloseProtocolError);
  CHECK(bad.reason == "protocol error");
  CHECK(bad.error == Errc::unsupported_version);
  ControlCore z({"password"}, 0, 0);
  const Bytes zero = unhex("03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00");
  auto zd = z.feed(sv(zero));
  REQUIRE(zd.kind == ControlCore::Decision::close);
  CHECK(zd.close_code == kCloseProtocolError);
}

TEST_CASE("Hysteria1: request ServerCore opens TCP and answers", "[proto][hysteria1]") {
  hysteria1::ServerCore core("alice");
  const Bytes req = cat(unhex("00 00 0b 65 78 61 6d 70 6c 65 2e 63 6f 6d 01 bb"), bytes("GET"));
  CHECK(core.feed({req.data(), 3}).kind == ServerDecision::need_more);
  auto d = core.feed(sv(req));
  REQUIRE(d.kind == ServerDecision::open);
  CHECK(d.consumed == req.size() - 3);
  CHECK(d.target.to_string() == "example.com:443");
  CHECK(d.user == "alice");
  core.answer(Errc::ok, {});
  auto ok = parse_server_response(core.output());
  REQUIRE(ok.done());
  CHECK(ok.value.ok);
  core.clear_output();
  core.answer(Errc::connection_refused, {});
  auto no = parse_server_response(core.output());
  REQUIRE(no.done());
  CHECK_FALSE(no.value.ok);
  CHECK_FALSE(no.value.message.empty());

  hysteria1::ServerCore ip("");
  Bytes v6(client_request_size(3));
  REQUIRE(encode_client_request(false, "::1", 80, {v6.data(), v6.size()}));
  auto d6 = ip.feed(sv(v6));
  REQUIRE(d6.kind == ServerDecision::open);
  CHECK(d6.target.kind() == TargetAddress::ipv6);

  // UDP with UDP disabled, malformed, a host that is no name.
  hysteria1::ServerCore u("");
  auto du = u.feed(sv(unhex("01 00 00 00 00")));
  CHECK(du.kind == ServerDecision::reject);
  auto uo = parse_server_response(u.output());
  REQUIRE(uo.done());
  CHECK(uo.value.message == "UDP disabled");
  hysteria1::ServerCore m("");
  CHECK(m.feed(sv(bytes({7}))).kind == ServerDecision::reject);
  hysteria1::ServerCore h("");
  Bytes badhost(client_request_size(4));
  REQUIRE(encode_client_request(false, "a b!", 80, {badhost.data(), badhost.size()}));
  auto dh = h.feed(sv(badhost));
  CHECK(dh.kind == ServerDecision::reject);
  auto ho = parse_server_response(h.output());
  REQUIRE(ho.done());
  CHECK(ho.value.message == "host resolution failure");
  CHECK(h.eof(0).kind == ServerDecision::reject);
  CHECK(h.expired(3).error == Errc::timed_out);
}

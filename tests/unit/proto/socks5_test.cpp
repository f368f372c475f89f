#include "proto/socks5/socks5.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "proto/socks5/handshake.hpp"
#include "proto/socks5/udp.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::socks5;
using namespace sluice::test;

namespace {

Bytes out_bytes(std::span<const uint8_t> s) { return Bytes(s.begin(), s.end()); }

}  // namespace

TEST_CASE("socks5 greeting", "[proto][socks5]") {
  Bytes g = bytes({5, 2, 0, 2});
  auto r = parse_greeting(sv(g));
  REQUIRE(r.done());
  CHECK(r.consumed == 4);
  CHECK(r.value.nmethods == 2);
  CHECK(r.value.offers(0));
  CHECK(r.value.offers(2));
  CHECK(!r.value.offers(1));
  CHECK(choose_method(r.value, false) == kMethodNoAuth);
  CHECK(choose_method(r.value, true) == kMethodUserPass);
  CHECK(every_prefix_needs_more(g, parse_greeting));

  auto only_noauth = parse_greeting(sv(bytes({5, 1, 0})));
  REQUIRE(only_noauth.done());
  CHECK(choose_method(only_noauth.value, true) == kMethodNoAcceptable);
  auto only_gss = parse_greeting(sv(bytes({5, 1, 1})));
  CHECK(choose_method(only_gss.value, false) == kMethodNoAcceptable);
  CHECK(method_choice(0xFF) == std::array<uint8_t, 2>{5, 0xFF});

  // 255 methods, trailing byte left alone.
  Bytes many = bytes({5, 255});
  for (int i = 0; i < 255; ++i) many.push_back(static_cast<uint8_t>(i));
  many.push_back(0x42);
  auto m = parse_greeting(sv(many));
  REQUIRE(m.done());
  CHECK(m.consumed == 257);

  CHECK(parse_greeting(sv(bytes({4, 1, 0}))).error == Errc::unsupported_version);  // SOCKS4
  CHECK(parse_greeting(sv(bytes({4}))).error == Errc::unsupported_version);
  CHECK(parse_greeting(sv(bytes({'G', 'E', 'T'}))).error == Errc::unsupported_version);
  CHECK(parse_greeting(sv(bytes({5, 0}))).error == Errc::malformed);
}

TEST_CASE("socks5 username/password request (RFC 1929)", "[proto][socks5]") {
  Bytes a = bytes({1, 3, 'b', 'o', 'b', 2, 'p', 'w'});
  auto r = parse_auth_request(sv(a));
  REQUIRE(r.done());
  CHECK(r.consumed == a.size());
  CHECK(r.value.username() == "bob");
  CHECK(r.value.password() == "pw");
  CHECK(every_prefix_needs_more(a, parse_auth_request));

  auto empty_pw = parse_auth_request(sv(bytes({1, 1, 'u', 0})));
  REQUIRE(empty_pw.done());
  CHECK(empty_pw.value.password().empty());

  CHECK(parse_auth_request(sv(bytes({5, 1, 'u', 0}))).error == Errc::unsupported_version);
  CHECK(parse_auth_request(sv(bytes({1, 0, 0}))).error == Errc::malformed);
  CHECK(auth_status(true) == std::array<uint8_t, 2>{1, 0});
  CHECK(auth_status(false) == std::array<uint8_t, 2>{1, 1});

  // Client side builds the same bytes.
  uint8_t buf[kMaxAuthRequestSize];
  auto n = build_auth_request("bob", "pw", buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == a);
  CHECK(build_auth_request("", "pw", buf).error() == Errc::invalid_argument);
  CHECK(build_auth_request(std::string(256, 'u'), "pw", buf).error() == Errc::invalid_argument);
  CHECK(build_auth_request("u", std::string(256, 'p'), buf).error() == Errc::invalid_argument);
  CHECK(build_auth_request("bob", "pw", std::span<uint8_t>(buf, 7)).error() ==
        Errc::buffer_too_small);
  auto max = build_auth_request(std::string(255, 'u'), std::string(255, 'p'), buf);
  REQUIRE(max);
  CHECK(*max == kMaxAuthRequestSize);
}

TEST_CASE("socks5 requests", "[proto][socks5]") {
  Bytes connect =
      bytes({5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 1, 0xBB});
  auto r = parse_request(sv(connect));
  REQUIRE(r.done());
  CHECK(r.consumed == connect.size());
  CHECK(r.value.command == Command::connect);
  CHECK(r.value.target.to_string() == "example.com:443");
  CHECK(every_prefix_needs_more(connect, parse_request));

  Bytes udp = bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0});
  auto u = parse_request(sv(udp));
  REQUIRE(u.done());
  CHECK(u.value.command == Command::udp_associate);
  CHECK(u.value.target.to_string() == "0.0.0.0:0");

  Bytes v6 = bytes({5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80});
  auto r6 = parse_request(sv(v6));
  REQUIRE(r6.done());
  CHECK(r6.value.target.to_string() == "[2001:db8::1]:80");

  auto bind = parse_request(sv(bytes({5, 2, 0, 1, 1, 2, 3, 4, 0, 80})));
  REQUIRE(bind.done());
  CHECK(bind.value.command == Command::bind);

  CHECK(parse_request(sv(bytes({4, 1}))).error == Errc::unsupported_version);
  CHECK(parse_request(sv(bytes({5, 0}))).error == Errc::unknown_command);
  CHECK(parse_request(sv(bytes({5, 4}))).error == Errc::unknown_command);
  CHECK(parse_request(sv(bytes({5, 0xff}))).error == Errc::unknown_command);
  CHECK(parse_request(sv(bytes({5, 1, 1}))).error == Errc::malformed);
  CHECK(parse_request(sv(bytes({5, 1, 0, 2}))).error == Errc::unsupported_address_type);
  CHECK(parse_request(sv(bytes({5, 1, 0, 5}))).error == Errc::unsupported_address_type);
  CHECK(parse_request(sv(bytes({5, 1, 0, 3, 0, 0, 80}))).error == Errc::malformed);

  // Round trip through the client builder.
  uint8_t buf[kMaxRequestSize];
  auto n = build_request(Command::connect, r.value.target, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == connect);
  CHECK(build_request(Command::connect, r.value.target, std::span<uint8_t>(buf, 5)).error() ==
        Errc::buffer_too_small);
}

TEST_CASE("socks5 replies", "[proto][socks5]") {
  uint8_t buf[kMaxReplySize];
  auto bound = *TargetAddress::parse("127.0.0.1:1080");
  auto n = build_reply(Rep::succeeded, bound, buf);
  REQUIRE(n);
  Bytes rep(buf, buf + *n);
  CHECK(rep == bytes({5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38}));
  auto p = parse_reply(sv(rep));
  REQUIRE(p.done());
  CHECK(p.value.rep == Rep::succeeded);
  CHECK(p.value.bound == bound);
  CHECK(every_prefix_needs_more(rep, parse_reply));
  CHECK(build_reply(Rep::succeeded, bound, std::span<uint8_t>(buf, 9)).error() ==
        Errc::buffer_too_small);

  // A domain BND.ADDR (some servers send one).
  Bytes dom = bytes({5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 53});
  auto d = parse_reply(sv(dom));
  REQUIRE(d.done());
  CHECK(d.value.bound.to_string() == "host:53");
  CHECK(every_prefix_needs_more(dom, parse_reply));

  for (int code = 0; code <= 8; ++code) {
    auto r = parse_reply(sv(bytes({5, code, 0, 1, 0, 0, 0, 0, 0, 0})));
    REQUIRE(r.done());
    CHECK(static_cast<int>(r.value.rep) == code);
    CHECK((errc_for_rep(r.value.rep) == Errc::ok) == (code == 0));
  }
  CHECK(parse_reply(sv(bytes({5, 9, 0, 1}))).error == Errc::malformed);
  CHECK(parse_reply(sv(bytes({5, 0, 7, 1}))).error == Errc::malformed);
  CHECK(parse_reply(sv(bytes({1, 0}))).error == Errc::unsupported_version);
  CHECK(parse_reply(sv(bytes({5, 0, 0, 9}))).error == Errc::unsupported_address_type);

  CHECK(errc_for_rep(Rep::connection_refused) == Errc::connection_refused);
  CHECK(errc_for_rep(Rep::general_failure) == Errc::protocol_violation);
  CHECK(errc_for_rep(Rep::not_allowed) == Errc::auth_failed);
  CHECK(rep_for_error(Errc::ok) == Rep::succeeded);
  CHECK(rep_for_error(Errc::unknown_command) == Rep::command_not_supported);
  CHECK(rep_for_error(Errc::unsupported_address_type) == Rep::address_type_not_supported);
  CHECK(rep_for_error(Errc::connection_refused) == Rep::connection_refused);
  CHECK(rep_for_error(Errc::dns_failure) == Rep::host_unreachable);
  CHECK(rep_for_error(Errc::network_unreachable) == Rep::network_unreachable);
  CHECK(rep_for_error(Errc::timed_out) == Rep::ttl_expired);
  CHECK(rep_for_error(Errc::io_error) == Rep::general_failure);
}

TEST_CASE("socks5 client frames", "[proto][socks5]") {
  uint8_t buf[8];
  auto n = build_greeting(false, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == bytes({5, 1, 0}));
  n = build_greeting(true, buf);
  REQUIRE(n);
  CHECK(Bytes(buf, buf + *n) == bytes({5, 2, 0, 2}));
  CHECK(build_greeting(true, std::span<uint8_t>(buf, 3)).error() == Errc::buffer_too_small);

  auto m = parse_method_choice(sv(bytes({5, 2})));
  REQUIRE(m.done());
  CHECK(m.value == 2);
  CHECK(every_prefix_needs_more(bytes({5, 2}), parse_method_choice));
  CHECK(parse_method_choice(sv(bytes({4, 0}))).error == Errc::unsupported_version);

  auto s = parse_auth_status(sv(bytes({1, 0})));
  REQUIRE(s.done());
  CHECK(s.value);
  CHECK(!parse_auth_status(sv(bytes({1, 1}))).value);
  CHECK(parse_auth_status(sv(bytes({5, 0}))).done());
  CHECK(parse_auth_status(sv(bytes({2, 0}))).error == Errc::unsupported_version);
  CHECK(parse_auth_status(sv(bytes({1}))).need_more());
}

TEST_CASE("socks5 UDP header", "[proto][socks5][udp]") {
  auto t = *TargetAddress::parse("example.com:53");
  uint8_t buf[64];
  auto n = encode_udp_header(t, buf);
  REQUIRE(n);
  CHECK(*n == udp_header_size(t));
  Bytes dgram(buf, buf + *n);
  dgram.push_back('x');
  dgram.push_back('y');
  auto d = decode_udp(sv(dgram));
  REQUIRE(d);
  CHECK(d->target == t);
  CHECK(Bytes(d->payload.begin(), d->payload.end()) == bytes("xy"));
  // Empty payload is fine.
  auto e = decode_udp(std::span<const uint8_t>(buf, *n));
  REQUIRE(e);
  CHECK(e->payload.empty());
  CHECK(encode_udp_header(t, std::span<uint8_t>(buf, 5)).error() == Errc::buffer_too_small);

  for (size_t cut = 0; cut < *n; ++cut) {
    INFO(cut);
    CHECK(decode_udp(std::span<const uint8_t>(buf, cut)).error() == Errc::truncated);
  }
  CHECK(decode_udp(sv(bytes({0, 0, 1, 1, 1, 2, 3, 4, 0, 53}))).error() == Errc::not_supported);
  CHECK(decode_udp(sv(bytes({0, 1, 0, 1, 1, 2, 3, 4, 0, 53}))).error() == Errc::malformed);
  CHECK(decode_udp(sv(bytes({1, 0, 0, 1, 1, 2, 3, 4, 0, 53}))).error() == Errc::malformed);
  CHECK(decode_udp(sv(bytes({0, 0, 0, 7, 1, 2, 3, 4, 0, 53}))).error() ==
        Errc::unsupported_address_type);
  CHECK(decode_udp(sv(bytes({0, 0, 0, 3, 0, 0, 53}))).error() == Errc::malformed);
}

// --- state machines ----------------------------------------------------------

TEST_CASE("socks5 server handshake without auth, byte by byte", "[proto][socks5][handshake]") {
  ServerHandshake hs(false);
  Bytes in = cat(bytes({5, 1, 0}), bytes({5, 1, 0, 1, 10, 0, 0, 1, 0, 80}));
  in.push_back('P');  // early payload must stay unconsumed
  Bytes buffered;
  Bytes sent;
  bool got_request = false;
  for (uint8_t b : in) {
    buffered.push_back(b);
    auto step = hs.feed(sv(buffered));
    buffered.erase(buffered.begin(), buffered.begin() + static_cast<long>(step.consumed));
    Bytes o = out_bytes(hs.output());
    sent.insert(sent.end(), o.begin(), o.end());
    hs.clear_output();
    REQUIRE(step.kind != ServerStep::fail);
    if (step.kind == ServerStep::request) {
      got_request = true;
      CHECK(hs.request().command == Command::connect);
      CHECK(hs.request().target.to_string() == "10.0.0.1:80");
      REQUIRE(hs.reply(Rep::succeeded, *TargetAddress::parse("127.0.0.1:5000")));
      Bytes r = out_bytes(hs.output());
      sent.insert(sent.end(), r.begin(), r.end());
      hs.clear_output();
    }
  }
  CHECK(got_request);
  CHECK(hs.done());
  CHECK(buffered == bytes({'P'}));
  CHECK(sent == cat(bytes({5, 0}), bytes({5, 0, 0, 1, 127, 0, 0, 1, 0x13, 0x88})));
  CHECK(hs.feed(sv(buffered)).consumed == 0);
  CHECK(hs.reply(Rep::succeeded, TargetAddress()).error() == Errc::invalid_state);
}

TEST_CASE("socks5 server handshake with auth, pipelined", "[proto][socks5][handshake]") {
  ServerHandshake hs(true);
  Bytes in = cat(cat(bytes({5, 2, 0, 2}), bytes({1, 1, 'u', 1, 'p'})),
                 bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0}));
  auto s1 = hs.feed(sv(in));
  REQUIRE(s1.kind == ServerStep::check_auth);
  CHECK(s1.consumed == 9);
  CHECK(hs.username() == "u");
  CHECK(hs.password() == "p");
  CHECK(out_bytes(hs.output()) == bytes({5, 2}));
  hs.clear_output();
  // Feeding again before answering is a state error.
  Bytes rest(in.begin() + 9, in.end());
  CHECK(hs.feed(sv(rest)).error == Errc::invalid_state);
}

TEST_CASE("socks5 server handshake auth flows", "[proto][socks5][handshake]") {
  SECTION("good credentials then UDP ASSOCIATE") {
    ServerHandshake hs(true);
    Bytes in = cat(bytes({5, 1, 2}), bytes({1, 1, 'u', 1, 'p'}));
    auto s1 = hs.feed(sv(in));
    REQUIRE(s1.kind == ServerStep::check_auth);
    hs.auth_result(true);
    CHECK(out_bytes(hs.output()) == bytes({5, 2, 1, 0}));
    hs.clear_output();
    auto s2 = hs.feed(sv(bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0})));
    REQUIRE(s2.kind == ServerStep::request);
    CHECK(hs.request().command == Command::udp_associate);
    REQUIRE(hs.reply(Rep::host_unreachable, TargetAddress()));
    CHECK(out_bytes(hs.output()) == bytes({5, 4, 0, 1, 0, 0, 0, 0, 0, 0}));
    CHECK(!hs.done());
  }
  SECTION("bad credentials") {
    ServerHandshake hs(true);
    auto s1 = hs.feed(sv(cat(bytes({5, 1, 2}), bytes({1, 1, 'u', 1, 'x'}))));
    REQUIRE(s1.kind == ServerStep::check_auth);
    hs.auth_result(false);
    CHECK(out_bytes(hs.output()) == bytes({5, 2, 1, 1}));
    CHECK(hs.feed(sv(bytes({5, 1, 0}))).kind == ServerStep::fail);
  }
  SECTION("no acceptable method") {
    ServerHandshake hs(true);
    auto s = hs.feed(sv(bytes({5, 1, 0})));
    CHECK(s.kind == ServerStep::fail);
    CHECK(s.error == Errc::auth_failed);
    CHECK(out_bytes(hs.output()) == bytes({5, 0xFF}));
  }
  SECTION("no-auth server accepts a client offering both") {
    ServerHandshake hs(false);
    auto s = hs.feed(sv(bytes({5, 2, 2, 0})));
    CHECK(s.kind == ServerStep::need_more);
    CHECK(s.consumed == 4);
    CHECK(out_bytes(hs.output()) == bytes({5, 0}));
  }
}

TEST_CASE("socks5 server handshake error replies", "[proto][socks5][handshake]") {
  struct Case {
    Bytes request;
    Errc error;
    Bytes reply;
  };
  Bytes no_reply;
  Case cases[] = {
      {bytes({5, 2, 0, 1, 1, 2, 3, 4, 0, 80}), Errc::not_supported,
       bytes({5, 7, 0, 1, 0, 0, 0, 0, 0, 0})},
      {bytes({5, 9, 0, 1}), Errc::unknown_command, bytes({5, 7, 0, 1, 0, 0, 0, 0, 0, 0})},
      {bytes({5, 1, 0, 6}), Errc::unsupported_address_type, bytes({5, 8, 0, 1, 0, 0, 0, 0, 0, 0})},
      {bytes({4, 1, 0, 80}), Errc::unsupported_version, no_reply},
      {bytes({5, 1, 9}), Errc::malformed, no_reply},
  };
  for (auto& c : cases) {
    ServerHandshake hs(false);
    REQUIRE(hs.feed(sv(bytes({5, 1, 0}))).kind == ServerStep::need_more);
    hs.clear_output();
    auto s = hs.feed(sv(c.request));
    CHECK(s.kind == ServerStep::fail);
    CHECK(s.error == c.error);
    CHECK(out_bytes(hs.output()) == c.reply);
  }
  ServerHandshake bad(false);
  CHECK(bad.feed(sv(bytes({4, 1, 0, 80, 1, 2, 3, 4, 0}))).error == Errc::unsupported_version);
  CHECK(bad.output().empty());
}

namespace {

// run_client drives a ClientHandshake against scripted server bytes, all at
// once, and returns the final step and everything the client sent.
ClientStep run_client(ClientHandshake& c, const Bytes& server, Bytes* sent) {
  REQUIRE(c.start());
  Bytes o = out_bytes(c.output());
  sent->insert(sent->end(), o.begin(), o.end());
  c.clear_output();
  Bytes buffered;
  ClientStep step;
  for (uint8_t b : server) {
    buffered.push_back(b);
    step = c.feed(sv(buffered));
    buffered.erase(buffered.begin(), buffered.begin() + static_cast<long>(step.consumed));
    o = out_bytes(c.output());
    sent->insert(sent->end(), o.begin(), o.end());
    c.clear_output();
    if (step.kind != ClientStep::need_more) break;
  }
  return step;
}

}  // namespace

TEST_CASE("socks5 client handshake", "[proto][socks5][handshake]") {
  auto target = *TargetAddress::parse("example.com:443");
  Bytes req =
      bytes({5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 1, 0xBB});
  Bytes ok_reply = bytes({5, 0, 0, 1, 1, 2, 3, 4, 0, 9});

  SECTION("no auth") {
    ClientHandshake c(Command::connect, target, "", "");
    Bytes sent;
    auto s = run_client(c, cat(bytes({5, 0}), ok_reply), &sent);
    CHECK(s.kind == ClientStep::done);
    CHECK(sent == cat(bytes({5, 1, 0}), req));
    CHECK(c.reply().bound.to_string() == "1.2.3.4:9");
  }
  SECTION("user/pass") {
    ClientHandshake c(Command::connect, target, "u", "pw");
    Bytes sent;
    auto s = run_client(c, cat(cat(bytes({5, 2}), bytes({1, 0})), ok_reply), &sent);
    CHECK(s.kind == ClientStep::done);
    CHECK(sent == cat(cat(bytes({5, 2, 0, 2}), bytes({1, 1, 'u', 2, 'p', 'w'})), req));
  }
  SECTION("server picks no-auth although we have credentials") {
    ClientHandshake c(Command::udp_associate, TargetAddress(), "u", "pw");
    Bytes sent;
    auto s = run_client(c, cat(bytes({5, 0}), ok_reply), &sent);
    CHECK(s.kind == ClientStep::done);
  }
  SECTION("auth rejected") {
    ClientHandshake c(Command::connect, target, "u", "pw");
    Bytes sent;
    auto s = run_client(c, bytes({5, 2, 1, 1}), &sent);
    CHECK(s.kind == ClientStep::fail);
    CHECK(s.error == Errc::auth_failed);
  }
  SECTION("no acceptable method") {
    ClientHandshake c(Command::connect, target, "", "");
    Bytes sent;
    CHECK(run_client(c, bytes({5, 0xFF}), &sent).error == Errc::auth_failed);
  }
  SECTION("server picks a method we did not offer") {
    ClientHandshake c(Command::connect, target, "", "");
    Bytes sent;
    CHECK(run_client(c, bytes({5, 2}), &sent).error == Errc::protocol_violation);
    ClientHandshake c2(Command::connect, target, "", "");
    Bytes sent2;
    CHECK(run_client(c2, bytes({5, 1}), &sent2).error == Errc::protocol_violation);
  }
  SECTION("REP failure") {
    ClientHandshake c(Command::connect, target, "", "");
    Bytes sent;
    auto s = run_client(c, bytes({5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0}), &sent);
    CHECK(s.kind == ClientStep::fail);
    CHECK(s.error == Errc::connection_refused);
    CHECK(c.reply().rep == Rep::connection_refused);
  }
  SECTION("garbage from the server") {
    ClientHandshake c(Command::connect, target, "", "");
    Bytes sent;
    CHECK(run_client(c, bytes("HTTP/1.1 400"), &sent).error == Errc::unsupported_version);
  }
  SECTION("credentials too long, double start, feed before start") {
    ClientHandshake c(Command::connect, target, std::string(256, 'u'), "");
    CHECK(c.start().error() == Errc::invalid_argument);
    ClientHandshake c2(Command::connect, target, "", "");
    CHECK(c2.feed(sv(bytes({5, 0}))).error == Errc::invalid_state);
    REQUIRE(c2.start());
    CHECK(c2.start().error() == Errc::invalid_state);
  }
  SECTION("done keeps payload unconsumed") {
    ClientHandshake c(Command::connect, target, "", "");
    REQUIRE(c.start());
    c.clear_output();
    Bytes all = cat(cat(bytes({5, 0}), ok_reply), bytes("data"));
    auto s = c.feed(sv(all));
    CHECK(s.kind == ClientStep::done);
    CHECK(s.consumed == 2 + ok_reply.size());
    CHECK(c.output().size() == req.size());
  }
}

TEST_CASE("socks5 handshakes never overflow when output is flushed late",
          "[proto][socks5][handshake]") {
  std::string name(255, 'd');
  auto bound = *TargetAddress::from_domain(name, 1);
  ServerHandshake hs(true);
  Bytes in = cat(bytes({5, 1, 2}), bytes({1, 1, 'u', 0}));
  REQUIRE(hs.feed(sv(in)).kind == ServerStep::check_auth);
  hs.auth_result(true);
  Bytes req = bytes({5, 1, 0, 3, 255});
  req.insert(req.end(), 255, 'd');
  req.push_back(0);
  req.push_back(1);
  REQUIRE(hs.feed(sv(req)).kind == ServerStep::request);
  REQUIRE(hs.reply(Rep::succeeded, bound));
  CHECK(hs.output().size() == 2 + 2 + 3 + bound.socks_size());

  ClientHandshake c(Command::connect, bound, std::string(255, 'u'), std::string(255, 'p'));
  REQUIRE(c.start());
  auto s = c.feed(sv(cat(bytes({5, 2}), bytes({1, 0}))));
  CHECK(s.kind == ClientStep::need_more);
  CHECK(c.output().size() == 4 + kMaxAuthRequestSize + 3 + bound.socks_size());
}

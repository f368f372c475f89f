// The server handshake cores (lib/proto/server_handshake.hpp): Trojan,
// VLESS, SOCKS5, HTTP and mixed, fed bytes without sockets.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proto/http_connect/proxy_core.hpp"
#include "proto/socks5/server_core.hpp"
#include "proto/trojan/server.hpp"
#include "proto/trojan/udp_framing.hpp"
#include "proto/vless/server.hpp"
#include "test_util.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

Bytes trojan_header(std::string_view password, trojan::Command cmd, const TargetAddress& t) {
  Bytes b(trojan::request_size(t));
  auto n = trojan::encode_request(trojan::hash_password(password), cmd, t, {b.data(), b.size()});
  REQUIRE(n);
  return b;
}

Bytes vless_header(const vless::UserId& id, vless::Flow flow, vless::Command cmd,
                   const TargetAddress& t) {
  vless::Request r;
  r.user = id;
  r.addons = vless::Addons::with_flow(flow);
  r.command = cmd;
  r.target = t;
  Bytes b(vless::request_size(r));
  auto n = vless::encode_request(r, {b.data(), b.size()});
  REQUIRE(n);
  b.resize(*n);
  return b;
}

std::string out_text(const ServerCore& c) {
  auto o = c.output();
  return std::string(o.begin(), o.end());
}

// feed_each_prefix feeds every strict prefix of |frame| (as a driver does
// while bytes trickle in) and requires need_more for each.
template <typename Core>
void feed_each_prefix(Core& c, const Bytes& frame) {
  for (size_t n = 0; n < frame.size(); ++n) {
    auto d = c.feed({frame.data(), n});
    REQUIRE(d.kind == ServerDecision::need_more);
  }
}

const TargetAddress kExample = *TargetAddress::from_domain("example.com", 443);

}  // namespace

TEST_CASE("trojan core: CONNECT with a known password opens", "[proto][trojan][core]") {
  trojan::TrojanUsers users;
  users.add("alice", "pw-a");
  users.add("bob", "pw-b");
  trojan::ServerCore core(users);
  Bytes h = trojan_header("pw-b", trojan::Command::connect, kExample);
  Bytes all = cat(h, bytes("GET / HTTP/1.1\r\n"));
  feed_each_prefix(core, h);
  auto d = core.feed(sv(all));
  CHECK(d.kind == ServerDecision::open);
  CHECK(d.consumed == h.size());
  CHECK(d.target == kExample);
  CHECK(d.user == "bob");
  CHECK(core.output().empty());
}

TEST_CASE("trojan core: upper- or mixed-case hash hex is not Trojan: it falls back",
          "[proto][trojan][core]") {
  // trojan-gfw compares the lower-case hex string as sent and hands anything
  // else to its fallback; answering it would fingerprint the server.
  trojan::TrojanUsers users;
  users.add("alice", "pw-a");
  Bytes lower = trojan_header("pw-a", trojan::Command::connect, kExample);
  for (bool all : {true, false}) {
    Bytes h = lower;
    bool changed = false;
    for (size_t i = 0; i < trojan::kHashLen; ++i) {
      if (h[i] >= 'a' && h[i] <= 'f' && (all || !changed)) {
        h[i] = static_cast<uint8_t>(h[i] - 'a' + 'A');
        changed = true;
      }
    }
    REQUIRE(changed);
    trojan::ServerCore core(users);
    auto d = core.feed(sv(h));
    CHECK(d.kind == ServerDecision::fallback);
    CHECK(d.cause == RefusalCause::not_protocol);
    CHECK(d.user.empty());
  }
  trojan::ServerCore core(users);
  CHECK(core.feed(sv(lower)).user == "alice");
}

TEST_CASE("trojan core: UDP ASSOCIATE is a framed datagram stream", "[proto][trojan][core]") {
  trojan::TrojanUsers users;
  users.add("alice", "pw-a");
  trojan::ServerCore core(users);
  auto d = core.feed(sv(trojan_header("pw-a", trojan::Command::udp_associate, kExample)));
  CHECK(d.kind == ServerDecision::datagram);
  CHECK(d.mode == DatagramMode::stream_framed);
  auto f = core.framing();
  REQUIRE(f);
  // The framing round-trips one datagram.
  BufferPool pool;
  Chain c;
  auto payload = pool.copy_from("ping", 4);
  REQUIRE(payload);
  REQUIRE(f->frame(kExample, std::move(*payload), pool, &c));
  FramedDatagram got;
  auto r = f->take(c, pool, &got);
  REQUIRE(r);
  CHECK(*r);
  CHECK(got.address == kExample);
  CHECK(std::string(reinterpret_cast<const char*>(got.payload.data()), got.payload.size()) ==
        "ping");
  CHECK(c.empty());
}

TEST_CASE("trojan core: strangers and wrong passwords fall back", "[proto][trojan][core]") {
  trojan::TrojanUsers users;
  users.add("alice", "pw-a");
  {
    trojan::ServerCore core(users);
    auto d = core.feed(sv(bytes("GET / HTTP/1.1\r\n")));  // 'G' is not hex: decided at once
    CHECK(d.kind == ServerDecision::fallback);
    CHECK(d.cause == RefusalCause::not_protocol);
    CHECK(d.error == Errc::malformed);
  }
  {
    trojan::ServerCore core(users);
    auto d = core.feed(sv(trojan_header("wrong", trojan::Command::connect, kExample)));
    CHECK(d.kind == ServerDecision::fallback);
    CHECK(d.cause == RefusalCause::auth);
    CHECK(d.error == Errc::auth_failed);
    CHECK(std::string(d.reason) == "unknown password");
  }
  {
    trojan::ServerCore core(users);
    CHECK(core.expired(3).kind == ServerDecision::fallback);
    CHECK(core.expired(0).kind == ServerDecision::reject);
    CHECK(core.eof(3).kind == ServerDecision::fallback);
    CHECK(core.eof(0).kind == ServerDecision::reject);
  }
}

TEST_CASE("trojan framing: malformed frames are errors", "[proto][trojan][core]") {
  BufferPool pool;
  trojan::UdpFraming f;
  Chain c;
  auto bad = pool.copy_from("\x09garbage", 8);  // ATYP 9
  REQUIRE(bad);
  REQUIRE(c.push_back(std::move(*bad)));
  FramedDatagram d;
  auto r = f.take(c, pool, &d);
  CHECK(!r);
  // Too large to frame.
  Chain out;
  auto big = pool.get(65536);
  REQUIRE(big);
  big->append(65536);  // one past kMaxUdpPayload
  CHECK(f.frame(kExample, std::move(*big), pool, &out).error() == Errc::frame_too_large);
}

TEST_CASE("vless core: decisions", "[proto][vless][core]") {
  const vless::UserId plain_id = vless::uuid_v5_nil("plain");
  const vless::UserId vision_id = vless::uuid_v5_nil("vision");
  std::vector<vless::ServerUser> users = {{"plain", plain_id, vless::Flow::none},
                                          {"vis", vision_id, vless::Flow::vision}};

  SECTION("TCP opens, bytes after the header are not consumed") {
    vless::ServerCore core(users, false);
    Bytes h = vless_header(plain_id, vless::Flow::none, vless::Command::tcp, kExample);
    feed_each_prefix(core, h);
    auto d = core.feed(sv(cat(h, bytes("xyz"))));
    CHECK(d.kind == ServerDecision::open);
    CHECK(d.consumed == h.size());
    CHECK(d.target == kExample);
    CHECK(d.user == "plain");
    CHECK_FALSE(core.vision());
  }
  SECTION("UDP and Mux are datagram decisions") {
    vless::ServerCore c1(users, false);
    auto d = c1.feed(sv(vless_header(plain_id, vless::Flow::none, vless::Command::udp, kExample)));
    CHECK(d.kind == ServerDecision::datagram);
    CHECK(d.mode == DatagramMode::stream_framed);
    vless::ServerCore c2(users, false);
    d = c2.feed(sv(vless_header(plain_id, vless::Flow::none, vless::Command::mux, kExample)));
    CHECK(d.kind == ServerDecision::datagram);
    CHECK(d.mode == DatagramMode::mux);
  }
  SECTION("Vision over TLS 1.3 opens with vision()") {
    vless::ServerCore core(users, true);
    auto d =
        core.feed(sv(vless_header(vision_id, vless::Flow::vision, vless::Command::tcp, kExample)));
    CHECK(d.kind == ServerDecision::open);
    CHECK(core.vision());
  }
  SECTION("a stranger falls back on the first byte or the 17th") {
    vless::ServerCore c1(users, false);
    auto d = c1.feed(sv(bytes("GET")));
    CHECK(d.kind == ServerDecision::fallback);
    CHECK(d.error == Errc::unsupported_version);
    vless::ServerCore c2(users, false);
    Bytes h = vless_header(vless::uuid_v5_nil("nobody"), vless::Flow::none, vless::Command::tcp,
                           kExample);
    CHECK(c2.feed({h.data(), 16}).kind == ServerDecision::need_more);
    d = c2.feed({h.data(), 17});
    CHECK(d.kind == ServerDecision::fallback);
    CHECK(d.cause == RefusalCause::auth);
    CHECK(c2.user() == nullptr);
  }
  SECTION("flow rules refuse") {
    struct Case {
      const vless::UserId* id;
      vless::Flow flow;
      vless::Command cmd;
      bool tls13;
      Errc error;
    };
    const Case cases[] = {
        {&plain_id, vless::Flow::vision, vless::Command::tcp, true, Errc::protocol_violation},
        {&vision_id, vless::Flow::none, vless::Command::tcp, true, Errc::protocol_violation},
        {&vision_id, vless::Flow::none, vless::Command::mux, true, Errc::protocol_violation},
        {&vision_id, vless::Flow::vision, vless::Command::udp, true, Errc::not_supported},
        {&vision_id, vless::Flow::vision, vless::Command::tcp, false, Errc::not_supported},
        {&plain_id, vless::Flow::none, vless::Command::rvs, false, Errc::not_supported},
    };
    for (const Case& k : cases) {
      vless::ServerCore core(users, k.tls13);
      auto d = core.feed(sv(vless_header(*k.id, k.flow, k.cmd, kExample)));
      CHECK(d.kind == ServerDecision::reject);
      CHECK(d.error == k.error);
      CHECK(d.cause == RefusalCause::policy);
    }
    // A Vision user's flow-less UDP is allowed (Xray's rule).
    vless::ServerCore core(users, true);
    auto d =
        core.feed(sv(vless_header(vision_id, vless::Flow::none, vless::Command::udp, kExample)));
    CHECK(d.kind == ServerDecision::datagram);
  }
  SECTION("an unknown flow and a malformed rest are refused, not fallen back") {
    Bytes h = vless_header(plain_id, vless::Flow::none, vless::Command::tcp, kExample);
    Bytes bad_cmd = h;
    bad_cmd[18] = 0x09;  // CMD after A = 0
    vless::ServerCore core(users, false);
    auto d = core.feed(sv(bad_cmd));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.error == Errc::unknown_command);
    CHECK(d.cause == RefusalCause::malformed);
    CHECK(d.user == "plain");
  }
  SECTION("deadline and end of stream") {
    vless::ServerCore stranger(users, false);
    CHECK(stranger.feed(sv(bytes({0}))).kind == ServerDecision::need_more);
    CHECK(stranger.expired(1).kind == ServerDecision::fallback);
    CHECK(stranger.eof(1).kind == ServerDecision::fallback);
    vless::ServerCore known(users, false);
    Bytes h = vless_header(plain_id, vless::Flow::none, vless::Command::tcp, kExample);
    CHECK(known.feed({h.data(), 20}).kind == ServerDecision::need_more);
    auto d = known.expired(20);
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.cause == RefusalCause::timeout);
    d = known.eof(20);
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.error == Errc::truncated);
  }
}

TEST_CASE("socks5 core: no-auth CONNECT, pipelined", "[proto][socks5][core]") {
  socks5::ServerCore core({}, true);
  // greeting (no auth) + CONNECT 1.2.3.4:80 + payload, in one read
  Bytes in = bytes({5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80});
  in = cat(in, bytes("hi"));
  auto d = core.feed(sv(in));
  REQUIRE(d.kind == ServerDecision::open);
  CHECK(d.consumed == in.size() - 2);
  CHECK(d.target.to_string() == "1.2.3.4:80");
  CHECK(core.output().size() == 2);  // method choice
  core.clear_output();
  core.answer(Errc::ok, TargetAddress());
  REQUIRE(core.output().size() >= 4);
  CHECK(core.output()[1] == 0x00);  // succeeded
}

TEST_CASE("socks5 core: greeting, then the request in a later read", "[proto][socks5][core]") {
  socks5::ServerCore core({}, true);
  Bytes in = bytes({5, 1, 0});
  CHECK(core.feed(sv(in)).kind == ServerDecision::need_more);
  core.clear_output();
  in = cat(in, bytes({5, 1, 0, 1, 1, 2, 3, 4, 0, 80}));
  auto d = core.feed(sv(in));
  CHECK(d.kind == ServerDecision::open);
  CHECK(d.consumed == in.size());
  core.answer(Errc::connection_refused, TargetAddress());
  REQUIRE(core.output().size() >= 2);
  CHECK(core.output()[1] == 0x05);  // connection refused
}

TEST_CASE("socks5 core: authentication and UDP", "[proto][socks5][core]") {
  std::vector<UserPass> users = {{"u", "p"}};
  SECTION("right credentials") {
    socks5::ServerCore core(users, true);
    Bytes in = bytes({5, 1, 2, 1, 1, 'u', 1, 'p', 5, 3, 0, 1, 0, 0, 0, 0, 0, 0});
    auto d = core.feed(sv(in));
    CHECK(d.kind == ServerDecision::datagram);
    CHECK(d.mode == DatagramMode::socket);
    CHECK(d.user == "u");
  }
  SECTION("wrong credentials") {
    socks5::ServerCore core(users, true);
    auto d = core.feed(sv(bytes({5, 1, 2, 1, 1, 'u', 1, 'x'})));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.cause == RefusalCause::auth);
    auto o = core.output();
    REQUIRE(o.size() == 4);  // method choice + failed status
    CHECK(o[3] != 0);
  }
  SECTION("UDP disabled") {
    socks5::ServerCore core({}, false);
    auto d = core.feed(sv(bytes({5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0})));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.error == Errc::not_supported);
    auto o = core.output();
    REQUIRE(o.size() > 3);
    CHECK(o[3] == 0x07);  // command not supported
  }
  SECTION("garbage") {
    socks5::ServerCore core({}, true);
    auto d = core.feed(sv(bytes({4, 1, 0})));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.cause == RefusalCause::malformed);
    CHECK(core.expired(0).kind == ServerDecision::reject);
  }
}

TEST_CASE("http core: CONNECT, forward, auth, errors", "[proto][http][core]") {
  SECTION("CONNECT") {
    http::ProxyServerCore core({});
    Bytes in = bytes("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nTLS");
    auto d = core.feed(sv(in));
    CHECK(d.kind == ServerDecision::open);
    CHECK(d.consumed == in.size() - 3);
    CHECK(d.target == kExample);
    CHECK(core.target_prefix().empty());
    core.answer(Errc::ok, TargetAddress());
    CHECK(out_text(core).rfind("HTTP/1.1 200", 0) == 0);
  }
  SECTION("forwarded request: the rewritten head goes first") {
    http::ProxyServerCore core({});
    auto d = core.feed(sv(bytes("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n")));
    CHECK(d.kind == ServerDecision::open);
    CHECK(std::string(core.target_prefix()).rfind("GET /x HTTP/1.1\r\n", 0) == 0);
    core.answer(Errc::ok, TargetAddress());
    CHECK(core.output().empty());
  }
  SECTION("a failed open answers with its status") {
    http::ProxyServerCore core({});
    (void)core.feed(sv(bytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n")));
    core.answer(Errc::connection_refused, TargetAddress());
    CHECK(out_text(core).rfind("HTTP/1.1 502", 0) == 0);
  }
  SECTION("an open refused for lack of descriptors or pool memory: 503, not 431") {
    for (Errc e : {Errc::limit_exceeded, Errc::no_memory}) {
      http::ProxyServerCore core({});
      (void)core.feed(sv(bytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n")));
      core.answer(e, TargetAddress());
      CHECK(out_text(core).rfind("HTTP/1.1 503", 0) == 0);
    }
  }
  SECTION("missing credentials: 407") {
    std::vector<UserPass> users = {{"u", "p"}};
    http::ProxyServerCore core(users);
    auto d = core.feed(sv(bytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n")));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(d.cause == RefusalCause::auth);
    CHECK(out_text(core).rfind("HTTP/1.1 407", 0) == 0);
  }
  SECTION("malformed: 400") {
    http::ProxyServerCore core({});
    auto d = core.feed(sv(bytes("GET /origin-form HTTP/1.1\r\n\r\n")));
    CHECK(d.kind == ServerDecision::reject);
    CHECK(out_text(core).rfind("HTTP/1.1 400", 0) == 0);
  }
}

TEST_CASE("mixed core: the first byte picks SOCKS5 or HTTP", "[proto][http][core]") {
  {
    http::MixedServerCore core({}, true);
    CHECK(core.feed({}).kind == ServerDecision::need_more);
    auto d = core.feed(sv(bytes({5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80})));
    CHECK(d.kind == ServerDecision::open);
    CHECK(std::string(core.name()) == "socks5");
  }
  {
    http::MixedServerCore core({}, true);
    auto d = core.feed(sv(bytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n")));
    CHECK(d.kind == ServerDecision::open);
    CHECK(std::string(core.name()) == "http");
  }
}

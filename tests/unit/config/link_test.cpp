// The shared share-link parser (lib/config/link_common): URL syntax,
// percent-decoding, the query walk, the common keys, the #name and error
// reporting, through a scheme of the test's own, so a new scheme can rely
// on all of it. Malformed links included.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "config/link_common.hpp"

using namespace sluice;
using namespace sluice::config;

namespace {

// TestLink maps "test://" onto a socks outbound and records what the
// parser hands it.
class TestLink final : public LinkScheme {
 public:
  TestLink() : LinkScheme("test", "secret") {}
  TlsClientOptions& tls() noexcept override { return tls_; }
  bool user(const std::string& value, std::string* error) override {
    user_ = value;
    if (value == "refused") {
      *error = "user refused";
      return false;
    }
    return true;
  }
  bool param(const std::string& key, const std::string& value, std::string* error) override {
    params.emplace_back(key, value);
    if (key == "boom") {
      *error = "boom: " + value;
      return false;
    }
    return true;
  }
  bool finish(LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    security = c.security;
    if (c.user != user_) {
      *error = "user changed";
      return false;
    }
    SocksOutboundOptions o;
    o.endpoint = std::move(c.endpoint);
    o.username = std::move(c.user);
    out->type = OutboundType::socks;
    out->options = std::move(o);
    return true;
  }

  TlsClientOptions tls_;
  std::string user_;
  std::vector<std::pair<std::string, std::string>> params;
  LinkSecurity security = LinkSecurity::absent;
};

}  // namespace

TEST_CASE("share links: the shared parser hands a scheme decoded pieces", "[config][link]") {
  TestLink s;
  std::string why;
  auto r = parse_share_link(
      "TeSt://p%40ss+w%3Ard@[2001:db8::1]:8443/?sni=real.example&alpn=h2%2Chttp%2F1.1&fp=chrome"
      "&x=a%26b&&flag&security=tls&insecure=true#my%20node%23",
      s, &why);
  INFO(why);
  REQUIRE(r);
  CHECK(r->tag == "my node#");
  const auto& o = std::get<SocksOutboundOptions>(r->options);
  CHECK(o.username == "p@ss+w:rd");  // '+' is not a space
  CHECK(o.endpoint.server == "2001:db8::1");
  CHECK(o.endpoint.server_port == 8443);
  CHECK(s.security == LinkSecurity::tls);
  CHECK(s.tls_.server_name == "real.example");
  CHECK(s.tls_.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(s.tls_.utls.enabled);
  CHECK(s.tls_.insecure);
  // Only the scheme's own keys reach it, decoded, in order; empty parts are skipped.
  using P = std::pair<std::string, std::string>;
  CHECK(s.params == std::vector<P>{P{"x", "a&b"}, P{"flag", ""}});
}

TEST_CASE("share links: the last @ ends the user part; names that do not decode stay raw",
          "[config][link]") {
  TestLink s;
  std::string why;
  auto r = parse_share_link("test://a@b@h.example:1#50%", s, &why);
  INFO(why);
  REQUIRE(r);
  CHECK(std::get<SocksOutboundOptions>(r->options).username == "a@b");
  CHECK(std::get<SocksOutboundOptions>(r->options).endpoint.server == "h.example");
  CHECK(r->tag == "50%");
  CHECK(s.security == LinkSecurity::absent);
  for (const char* sec : {"none", "reality", ""}) {
    TestLink t;
    REQUIRE(parse_share_link(std::string("test://u@h:1?security=") + sec, t, &why));
    CHECK(t.security == (sec == std::string("none")      ? LinkSecurity::none
                         : sec == std::string("reality") ? LinkSecurity::reality
                                                         : LinkSecurity::absent));
  }
}

TEST_CASE("share links: malformed links fail with the scheme's prefix and a reason",
          "[config][link]") {
  struct Bad {
    std::string link;
    const char* error;
  } bad[] = {
      {"", "test link: expected test://"},
      {"tes://u@h:1", "test link: expected test://"},
      {"vless://u@h:1", "test link: expected test://"},
      {"test:/u@h:1", "test link: expected test://"},
      {"test://h:1", "test link: missing secret@"},
      {"test://h:1?a=b@c", "test link: missing secret@"},  // '@' only in the query
      {"test://@h:1", "test link: bad secret"},
      {"test://%4@h:1", "test link: bad secret"},
      {"test://%zz@h:1", "test link: bad secret"},
      {"test://refused@h:1", "test link: user refused"},
      {"test://u@", "test link: missing :port"},
      {"test://u@h", "test link: missing :port"},
      {"test://u@:1", "test link: missing host"},
      {"test://u@[]:1", "test link: missing host"},
      {"test://u@h:", "test link: bad port"},
      {"test://u@h:0", "test link: bad port"},
      {"test://u@h:65536", "test link: bad port"},
      {"test://u@h:123456", "test link: bad port"},
      {"test://u@h:-1", "test link: bad port"},
      {"test://u@h:1x", "test link: bad port"},
      {"test://u@[::1]", "test link: bad [IPv6]:port"},
      {"test://u@[::1:1", "test link: bad [IPv6]:port"},
      {"test://u@[::1]x1", "test link: bad [IPv6]:port"},
      {"test://u@h:1?sni=%g0", "test link: bad escape in sni"},
      {"test://u@h:1?own=50%", "test link: bad escape in own"},
      {"test://u@h:1?security=xtls", "test link: unknown security \"xtls\""},
      {"test://u@h:1?type=ws", "test link: transport type \"ws\" is not supported"},
      {"test://u@h:1?ech=!!", "test link: ech: expected a base64 ECHConfigList"},
      {"test://u@h:1?boom=x", "test link: boom: x"},
      {std::string("test://u@h:1\0?x", 15), "test link: bad port"},
  };
  for (const Bad& b : bad) {
    INFO(b.link);
    TestLink s;
    std::string why;
    auto r = parse_share_link(b.link, s, &why);
    CHECK_FALSE(r);
    if (!r) CHECK(r.error() == Errc::config_invalid);
    CHECK_THAT(why, Catch::StartsWith(b.error));
  }
}

TEST_CASE("share links: a failing key stops the walk", "[config][link]") {
  TestLink s;
  std::string why;
  CHECK_FALSE(parse_share_link("test://u@h:1?a=1&boom=2&c=3", s, &why));
  CHECK(s.params.size() == 2);  // c was never looked at
  CHECK(why == "test link: boom: 2");
}

TEST_CASE("share links: the helpers schemes use", "[config][link]") {
  std::string out;
  CHECK(percent_decode("a%2fb%2F%41", &out));
  CHECK(out == "a/b/A");
  CHECK_FALSE(percent_decode("%", &out));
  CHECK_FALSE(percent_decode("%4", &out));
  CHECK_FALSE(percent_decode("%x1", &out));
  CHECK(split_list(",a,,b,", ',') == std::vector<std::string>{"a", "b"});
  CHECK(split_list("", ',').empty());
  CHECK(is_hex("0123456789abcdefABCDEF"));
  CHECK_FALSE(is_hex("0x1"));
}

// The hysteria (v1) outbound/inbound in the config parser, its rate strings
// and hysteria:// share links (lib/config/hysteria.cpp, hysteria_link.cpp),
// malformed input included.
#include <catch2/catch.hpp>

#include "config/parse.hpp"
#include "sluice/config.hpp"

using namespace sluice;

namespace {
Result<Config> parse(const std::string& json, std::string* error = nullptr) {
  ConfigDiagnostics d;
  auto c = parse_config(json, &d);
  if (error) *error = d.error;
  return c;
}

const std::string kTlsOut = R"("tls":{"enabled":true})";
const std::string kTlsIn = R"("tls":{"enabled":true,"certificate_path":"c","key_path":"k"})";
}  // namespace

TEST_CASE("hysteria rate strings", "[config][hysteria]") {
  std::string why;
  auto bps = [&](const char* s) {
    auto r = config::parse_hysteria_rate(s, &why);
    return r ? *r : uint64_t{0};
  };
  CHECK(bps("100 Mbps") == 12500000);
  CHECK(bps("100Mbps") == 12500000);
  CHECK(bps("640 KBps") == 640000);
  CHECK(bps("2 Gbps") == 250000000);
  CHECK(bps("1 TBps") == 1000000000000ull);
  CHECK(bps("8 bps") == 1);
  CHECK(bps("3 Bps") == 3);
  for (const char* bad :
       {"", "Mbps", "100", "100 mbps", "100 MB", "100 Xbps", "-1 Mbps", "1.5 Mbps", "100 KKbps",
        " 100 Mbps", "99999999999999999999 bps", "18446744073709551615 TBps"}) {
    CAPTURE(bad);
    CHECK(!config::parse_hysteria_rate(bad, &why));
    CHECK(why.find("expected a rate") != std::string::npos);
  }
}

TEST_CASE("hysteria outbound: every field", "[config][hysteria]") {
  std::string err;
  auto c = parse(R"({"outbounds":[{"type":"hysteria","tag":"h","server":"h.example",
      "server_port":443,"server_ports":"20000:30000","hop_interval":"10s",
      "up":"100 Mbps","down_mbps":200,"obfs":"fuck me till the daylight",
      "auth":"AAEC/w==","recv_window_conn":15728640,"recv_window":67108864,
      "disable_mtu_discovery":true,"network":"tcp",
      "tls":{"enabled":true,"server_name":"sni.example","insecure":true}}]})",
                 &err);
  INFO(err);
  REQUIRE(c);
  const auto& o = c->outbounds[0];
  CHECK(o.type == OutboundType::hysteria);
  CHECK(std::string(outbound_type_name(o.type)) == "hysteria");
  const auto& h = std::get<HysteriaOutboundOptions>(o.options);
  CHECK(h.endpoint.server == "h.example");
  CHECK(h.endpoint.server_port == 443);
  CHECK(h.server_ports == std::vector<std::string>{"20000:30000"});
  CHECK(h.hop_interval == std::chrono::seconds(10));
  CHECK(h.up_bps == 12500000);
  CHECK(h.down_bps == 25000000);
  CHECK(h.obfs == "fuck me till the daylight");
  CHECK(h.auth == std::string("\x00\x01\x02\xff", 4));
  CHECK(h.recv_window_conn == 15728640);
  CHECK(h.recv_window == 67108864);
  CHECK(h.disable_mtu_discovery);
  CHECK(h.network.tcp);
  CHECK_FALSE(h.network.udp);
  CHECK(h.tls.enabled);
  CHECK(h.tls.server_name == "sni.example");

  auto s = parse(R"({"outbounds":[{"type":"hysteria","server":"h","server_port":1,
      "up_mbps":10,"down":"1 MBps","auth_str":"password",)" +
                     kTlsOut + "}]}",
                 &err);
  INFO(err);
  REQUIRE(s);
  const auto& hs = std::get<HysteriaOutboundOptions>(s->outbounds[0].options);
  CHECK(hs.up_bps == 1250000);
  CHECK(hs.down_bps == 1000000);
  CHECK(hs.auth == "password");
  CHECK(hs.recv_window_conn == 0);  // the session's default
}

TEST_CASE("hysteria outbound: malformed", "[config][hysteria]") {
  std::string err;
  const std::string head = R"({"outbounds":[{"type":"hysteria","server":"h","server_port":1,)";
  const std::string rates = R"("up_mbps":10,"down_mbps":10,)";
  struct Case {
    std::string body;
    const char* expect;
  };
  const Case cases[] = {
      {R"("down_mbps":10,)" + kTlsOut, "up or up_mbps"},
      {R"("up_mbps":10,)" + kTlsOut, "down or down_mbps"},
      {R"("up":"10 Mbps","up_mbps":10,"down_mbps":10,)" + kTlsOut, "not both"},
      {R"("up":"ten","down_mbps":10,)" + kTlsOut, "expected a rate"},
      {R"("up":"100 Kbps","down_mbps":10,)" + kTlsOut, "at least 16384 bytes/s"},
      {R"("up":10,"down_mbps":10,)" + kTlsOut, "expected string"},
      {rates + R"("auth":"AA==","auth_str":"x",)" + kTlsOut, "not both"},
      {rates + R"("auth":"not base64!",)" + kTlsOut, "not standard base64"},
      {rates + R"("recv_window_conn":1000,)" + kTlsOut, "at least 65536"},
      {rates + R"("recv_window":-1,)" + kTlsOut, "65536"},
      {rates + R"("recv_window":"big",)" + kTlsOut, "65536"},
      {rates + R"("tls":{"enabled":false})", "hysteria runs over QUIC"},
      {rates + R"("network":"icmp",)" + kTlsOut, "network"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    CHECK(!parse(head + c.body + "}]}", &err));
    CAPTURE(err);
    CHECK(err.find(c.expect) != std::string::npos);
    CHECK(err.find("outbounds[0]") != std::string::npos);
  }
  // Auth over 65535 bytes.
  CHECK(!parse(head + rates + R"("auth_str":")" + std::string(70000, 'a') + "\"," + kTlsOut + "}]}",
               &err));
  CHECK(err.find("at most 65535 bytes") != std::string::npos);
}

TEST_CASE("hysteria inbound: users, rates, windows", "[config][hysteria]") {
  std::string err;
  auto c = parse(R"({"inbounds":[{"type":"hysteria","tag":"in","listen":"127.0.0.1",
      "listen_port":8443,"users":[{"name":"sekai","auth_str":"password"},{"auth":"c2VjcmV0"}],
      "up":"1 Gbps","down_mbps":500,"obfs":"xp","recv_window_conn":1048576,
      "recv_window_client":4194304,"max_conn_client":64,"disable_mtu_discovery":true,)" +
                     kTlsIn + "}]}",
                 &err);
  INFO(err);
  REQUIRE(c);
  const auto& in = c->inbounds[0];
  CHECK(in.type == InboundType::hysteria);
  CHECK(std::string(inbound_type_name(in.type)) == "hysteria");
  const auto& h = std::get<HysteriaInboundOptions>(in.options);
  REQUIRE(h.users.size() == 2);
  CHECK(h.users[0].name == "sekai");
  CHECK(h.users[0].auth == "password");
  CHECK(h.users[1].auth == "secret");
  CHECK(h.up_bps == 125000000);
  CHECK(h.down_bps == 62500000);
  CHECK(h.obfs == "xp");
  CHECK(h.recv_window_conn == 1048576);
  CHECK(h.recv_window_client == 4194304);
  CHECK(h.max_conn_client == 64);
  CHECK(h.disable_mtu_discovery);

  // Rates are optional on the server (no limit).
  auto n = parse(R"({"inbounds":[{"type":"hysteria","listen_port":1,"users":[{"auth_str":"p"}],)" +
                     kTlsIn + "}]}",
                 &err);
  INFO(err);
  REQUIRE(n);
  CHECK(std::get<HysteriaInboundOptions>(n->inbounds[0].options).up_bps == 0);
}

TEST_CASE("hysteria inbound: malformed", "[config][hysteria]") {
  std::string err;
  const std::string head = R"({"inbounds":[{"type":"hysteria","listen_port":1,)";
  struct Case {
    std::string body;
    const char* expect;
  };
  const Case cases[] = {
      {kTlsIn, "users"},
      {R"("users":[],)" + kTlsIn, "users"},
      {R"("users":[{"name":"x"}],)" + kTlsIn, "auth (base64) or auth_str"},
      {R"("users":[{"auth":"%%%"}],)" + kTlsIn, "not standard base64"},
      {R"("users":[{"auth_str":"p"}],"up":"1 kbps",)" + kTlsIn, "expected a rate"},
      {R"("users":[{"auth_str":"p"}],"down_mbps":-3,)" + kTlsIn, "down_mbps"},
      {R"("users":[{"auth_str":"p"}],"recv_window_client":10,)" + kTlsIn, "at least 65536"},
      {R"("users":[{"auth_str":"p"}],"tls":{"enabled":false})", "hysteria runs over QUIC"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    CHECK(!parse(head + c.body + "}]}", &err));
    CAPTURE(err);
    CHECK(err.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("hysteria links: the v1 URI scheme", "[config][hysteria]") {
  std::string why;
  auto a = parse_hysteria_link(
      "hysteria://example.com:8443?protocol=udp&auth=123456&peer=sni.domain&insecure=1"
      "&upmbps=100&downmbps=50&alpn=hysteria&obfs=xplus&obfsParam=p%40ss#my%20remarks",
      &why);
  INFO(why);
  REQUIRE(a);
  CHECK(a->type == OutboundType::hysteria);
  CHECK(a->tag == "my remarks");
  const auto& h = std::get<HysteriaOutboundOptions>(a->options);
  CHECK(h.endpoint.server == "example.com");
  CHECK(h.endpoint.server_port == 8443);
  CHECK(h.auth == "123456");
  CHECK(h.tls.enabled);
  CHECK(h.tls.insecure);
  CHECK(h.tls.server_name == "sni.domain");
  CHECK(h.tls.alpn == std::vector<std::string>{"hysteria"});
  CHECK(h.up_bps == 12500000);
  CHECK(h.down_bps == 6250000);
  CHECK(h.obfs == "p@ss");

  // sni wins over peer, IPv6, no obfs, no auth.
  auto b =
      parse_hysteria_link("HYSTERIA://[2001:db8::1]:443/?upmbps=1&downmbps=2&peer=p&sni=s", &why);
  INFO(why);
  REQUIRE(b);
  const auto& hb = std::get<HysteriaOutboundOptions>(b->options);
  CHECK(hb.endpoint.server == "2001:db8::1");
  CHECK(hb.tls.server_name == "s");
  CHECK(hb.obfs.empty());
  CHECK(hb.auth.empty());
  CHECK(b->tag.empty());
}

TEST_CASE("hysteria links: malformed", "[config][hysteria]") {
  std::string why;
  const std::string rates = "upmbps=10&downmbps=10";
  struct Case {
    std::string link;
    const char* expect;
  };
  const Case cases[] = {
      {"hysteria2://pw@h:1?" + rates, "expected hysteria://"},
      {"hysteria://pw@h:1?" + rates, "unexpected user@"},
      {"hysteria://h?" + rates, "missing :port"},
      {"hysteria://h:0?" + rates, "bad port"},
      {"hysteria://h:65536?" + rates, "bad port"},
      {"hysteria://:443?" + rates, "missing host"},
      {"hysteria://[::1?" + rates, "[IPv6]"},
      {"hysteria://h:1", "upmbps and downmbps are required"},
      {"hysteria://h:1?upmbps=10", "upmbps and downmbps are required"},
      {"hysteria://h:1?upmbps=0&downmbps=10", "upmbps"},
      {"hysteria://h:1?upmbps=1.5&downmbps=10", "upmbps"},
      {"hysteria://h:1?upmbps=10&downmbps=99999999999", "downmbps"},
      {"hysteria://h:1?protocol=faketcp&" + rates, "only udp"},
      {"hysteria://h:1?protocol=wechat-video&" + rates, "only udp"},
      {"hysteria://h:1?obfs=salamander&obfsParam=x&" + rates, "only xplus"},
      {"hysteria://h:1?obfs=xplus&" + rates, "needs obfsParam"},
      {"hysteria://h:1?security=none&" + rates, "QUIC's TLS"},
      {"hysteria://h:1?auth=%zz&" + rates, "bad escape in auth"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.link);
    CHECK(!parse_hysteria_link(c.link, &why));
    CAPTURE(why);
    CHECK(why.rfind("hysteria link: ", 0) == 0);
    CHECK(why.find(c.expect) != std::string::npos);
  }
}

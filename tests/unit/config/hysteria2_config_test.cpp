// The hysteria2 outbound/inbound in the config parser and hysteria2:// /
// hy2:// share links (lib/config/hysteria2.cpp, hysteria2_link.cpp),
// malformed input included.
#include <catch2/catch.hpp>

#include "sluice/config.hpp"

using namespace sluice;

namespace {
Result<Config> parse(const std::string& json, std::string* error = nullptr) {
  ConfigDiagnostics d;
  auto c = parse_config(json, &d);
  if (error) *error = d.error;
  return c;
}
}  // namespace

TEST_CASE("hysteria2 outbound: every field", "[config][hysteria2]") {
  std::string err;
  auto c = parse(R"({"outbounds":[{"type":"hysteria2","tag":"h","server":"h.example",
      "server_port":443,"server_ports":["20000:30000","40000"],"hop_interval":"10s","hop_interval_max":"20s",
      "up_mbps":100,"down_mbps":200,"obfs":{"type":"salamander","password":"cry me a river"},
      "password":"pw","network":"tcp","brutal_debug":true,
      "tls":{"enabled":true,"server_name":"sni.example","insecure":true}}]})",
                 &err);
  INFO(err);
  REQUIRE(c);
  const auto& o = c->outbounds[0];
  CHECK(o.type == OutboundType::hysteria2);
  CHECK(std::string(outbound_type_name(o.type)) == "hysteria2");
  const auto& h = std::get<Hysteria2OutboundOptions>(o.options);
  CHECK(h.endpoint.server == "h.example");
  CHECK(h.endpoint.server_port == 443);
  CHECK(h.server_ports == std::vector<std::string>{"20000:30000", "40000"});
  CHECK(h.hop_interval == std::chrono::seconds(10));
  CHECK(h.hop_interval_max == std::chrono::seconds(20));
  CHECK(h.up_mbps == 100);
  CHECK(h.down_mbps == 200);
  CHECK(h.obfs.type == "salamander");
  CHECK(h.obfs.password == "cry me a river");
  CHECK(h.password == "pw");
  CHECK(h.network.tcp);
  CHECK_FALSE(h.network.udp);
  CHECK(h.tls.enabled);
  CHECK(h.tls.insecure);
  CHECK(h.tls.server_name == "sni.example");
}

TEST_CASE("hysteria2 outbound: malformed", "[config][hysteria2]") {
  std::string err;
  const std::string head =
      R"({"outbounds":[{"type":"hysteria2","server":"h","server_port":1,"password":"p",)";
  CHECK(!parse(head + R"("tls":{"enabled":false}}]})", &err));
  CHECK(err.find("tls") != std::string::npos);
  CHECK(!parse(head + R"("tls":{"enabled":true},"obfs":{"type":"gecko","password":"abcd"}}]})",
               &err));
  CHECK(err.find("unsupported obfs type") != std::string::npos);
  CHECK(!parse(head + R"("tls":{"enabled":true},"obfs":{"type":"salamander","password":"abc"}}]})",
               &err));
  CHECK(err.find("at least 4 bytes") != std::string::npos);
  CHECK(!parse(head + R"("tls":{"enabled":true},"server_ports":["2:1"]}]})", &err));
  CHECK(err.find("server_ports[0]") != std::string::npos);
  CHECK(!parse(head + R"("tls":{"enabled":true},"server_ports":"x"}]})", &err));
  CHECK(
      !parse(head + R"("tls":{"enabled":true},"server_ports":"1:2","hop_interval":"1s"}]})", &err));
  CHECK(err.find("hop_interval") != std::string::npos);
  CHECK(!parse(head + R"("tls":{"enabled":true},"server_ports":"1:2","hop_interval":"10s",)"
                      R"("hop_interval_max":"9s"}]})",
               &err));
  CHECK(err.find("hop_interval_max: must not be below hop_interval") != std::string::npos);
  // server_port: required without server_ports, optional with them.
  CHECK(!parse(R"({"outbounds":[{"type":"hysteria2","server":"h","password":"p",)"
               R"("tls":{"enabled":true}}]})",
               &err));
  CHECK(err.find("server_port") != std::string::npos);
  CHECK(parse(R"({"outbounds":[{"type":"hysteria2","server":"h","password":"p",)"
              R"("server_ports":"2000:3000","tls":{"enabled":true}}]})",
              &err));
  CHECK(!parse(head + R"("tls":{"enabled":true},"up_mbps":-1}]})", &err));
}

TEST_CASE("hysteria2 inbound: users, bandwidth, obfs, masquerade", "[config][hysteria2]") {
  std::string err;
  auto c = parse(R"({"inbounds":[{"type":"hysteria2","tag":"in","listen":"127.0.0.1",
      "listen_port":8443,"users":[{"name":"alice","password":"a1"},{"password":"b2"}],
      "up_mbps":50,"down_mbps":60,"ignore_client_bandwidth":true,
      "obfs":{"type":"salamander","password":"secret"},
      "masquerade":{"type":"string","status_code":503,"headers":{"Content-Type":"text/plain"},
      "content":"down for maintenance"},"listen_ports":["20000:20010","8444"],
      "tls":{"enabled":true,"certificate_path":"c.pem","key_path":"k.pem"}}]})",
                 &err);
  INFO(err);
  REQUIRE(c);
  const auto& in = c->inbounds[0];
  CHECK(in.type == InboundType::hysteria2);
  CHECK(std::string(inbound_type_name(in.type)) == "hysteria2");
  const auto& h = std::get<Hysteria2InboundOptions>(in.options);
  REQUIRE(h.users.size() == 2);
  CHECK(h.users[0].name == "alice");
  CHECK(h.users[1].password == "b2");
  CHECK(h.up_mbps == 50);
  CHECK(h.down_mbps == 60);
  CHECK(h.ignore_client_bandwidth);
  CHECK(h.obfs.password == "secret");
  CHECK(h.masquerade.type == Hysteria2MasqueradeOptions::Type::string);
  CHECK(h.masquerade.status_code == 503);
  REQUIRE(h.masquerade.headers.size() == 1);
  CHECK(h.masquerade.headers[0].first == "content-type");
  CHECK(h.masquerade.content == "down for maintenance");
  CHECK(h.listen_ports == std::vector<std::string>{"20000:20010", "8444"});

  auto f = parse(R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"password":"p"}],
      "masquerade":"file:///srv/www","tls":{"enabled":true,"certificate":"x","key":"y"}}]})",
                 &err);
  INFO(err);
  REQUIRE(f);
  const auto& m = std::get<Hysteria2InboundOptions>(f->inbounds[0].options).masquerade;
  CHECK(m.type == Hysteria2MasqueradeOptions::Type::file);
  CHECK(m.directory == "/srv/www");

  // A reverse proxy: the URL string form, and the object with its options.
  auto px = parse(R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"password":"p"}],
      "masquerade":"https://example.com/base","tls":{"enabled":true,"certificate":"x","key":"y"}}]})",
                  &err);
  INFO(err);
  REQUIRE(px);
  const auto& pm = std::get<Hysteria2InboundOptions>(px->inbounds[0].options).masquerade;
  CHECK(pm.type == Hysteria2MasqueradeOptions::Type::proxy);
  CHECK(pm.url == "https://example.com/base");
  CHECK_FALSE(pm.rewrite_host);
  auto po = parse(R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"password":"p"}],
      "masquerade":{"type":"proxy","url":"http://127.0.0.1:8080","rewrite_host":true,
      "insecure":true},"tls":{"enabled":true,"certificate":"x","key":"y"}}]})",
                  &err);
  INFO(err);
  REQUIRE(po);
  const auto& om = std::get<Hysteria2InboundOptions>(po->inbounds[0].options).masquerade;
  CHECK(om.type == Hysteria2MasqueradeOptions::Type::proxy);
  CHECK(om.url == "http://127.0.0.1:8080");
  CHECK(om.rewrite_host);
  CHECK(om.insecure);
}

TEST_CASE("hysteria2 inbound: malformed", "[config][hysteria2]") {
  std::string err;
  const std::string tls = R"("tls":{"enabled":true,"certificate":"x","key":"y"})";
  CHECK(!parse(R"({"inbounds":[{"type":"hysteria2","listen_port":1,)" + tls + "}]}", &err));
  CHECK(err.find("users") != std::string::npos);
  CHECK(!parse(R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"password":"p"}]}]})",
               &err));
  CHECK(err.find("tls") != std::string::npos);
  CHECK(!parse(
      R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"name":"n"}],)" + tls + "}]}",
      &err));
  const std::string base =
      R"({"inbounds":[{"type":"hysteria2","listen_port":1,"users":[{"password":"p"}],)" + tls;
  CHECK(!parse(base + R"(,"masquerade":{"type":"proxy"}}]})", &err));
  CHECK(err.find("url") != std::string::npos);
  CHECK(!parse(base + R"(,"masquerade":{"type":"proxy","url":"ftp://x"}}]})", &err));
  CHECK(err.find("expected an http:// or https:// URL") != std::string::npos);
  CHECK(!parse(base + R"(,"masquerade":{"type":"proxy","url":"http://u:p@x/"}}]})", &err));
  CHECK(err.find("user information") != std::string::npos);
  CHECK(!parse(base + R"(,"masquerade":"https:///nohost"}]})", &err));
  CHECK(err.find("no host") != std::string::npos);
  CHECK(!parse(base + R"(,"masquerade":{"type":"string","status_code":233}}]})", &err));
  CHECK(err.find("status_code") != std::string::npos);
  CHECK(!parse(base + R"(,"masquerade":{"type":"file"}}]})", &err));
  CHECK(!parse(base + R"(,"masquerade":"gopher://x"}]})", &err));
  CHECK(!parse(base + R"(,"masquerade":{"type":"string","headers":{"x":1}}}]})", &err));
  CHECK(!parse(base + R"(,"listen_ports":["20000:19999"]}]})", &err));
  CHECK(err.find("listen_ports[0]") != std::string::npos);
  CHECK(!parse(base + R"(,"listen_ports":"0"}]})", &err));
}

TEST_CASE("hysteria2 links: hysteria2:// and hy2://, ports, obfs, pins", "[config][hysteria2]") {
  std::string why;
  auto a = parse_hysteria2_link(
      "hysteria2://letmein@example.com:8443/?insecure=1&obfs=salamander&obfs-password=gawrgura"
      "&sni=real.example&pinSHA256=AB:CD:" +
          std::string(60, 'e') + "#my%20server",
      &why);
  INFO(why);
  REQUIRE(a);
  CHECK(a->type == OutboundType::hysteria2);
  CHECK(a->tag == "my server");
  const auto& h = std::get<Hysteria2OutboundOptions>(a->options);
  CHECK(h.password == "letmein");
  CHECK(h.endpoint.server == "example.com");
  CHECK(h.endpoint.server_port == 8443);
  CHECK(h.server_ports.empty());
  CHECK(h.tls.enabled);
  CHECK(h.tls.insecure);
  CHECK(h.tls.server_name == "real.example");
  CHECK(h.obfs.type == "salamander");
  CHECK(h.obfs.password == "gawrgura");
  REQUIRE(h.tls.certificate_sha256.size() == 1);
  CHECK(h.tls.certificate_sha256[0] == "abcd" + std::string(60, 'e'));

  auto b = parse_hysteria2_link("HY2://user:pass@[2001:db8::1]:443,20000-30000", &why);
  INFO(why);
  REQUIRE(b);
  const auto& hb = std::get<Hysteria2OutboundOptions>(b->options);
  CHECK(hb.password == "user:pass");
  CHECK(hb.endpoint.server == "2001:db8::1");
  CHECK(hb.endpoint.server_port == 443);
  CHECK(hb.server_ports == std::vector<std::string>{"443", "20000:30000"});

  auto c = parse_hysteria2_link("hy2://pw@host.example", &why);
  REQUIRE(c);
  CHECK(std::get<Hysteria2OutboundOptions>(c->options).endpoint.server_port == 443);
}

// Found by fuzz/hysteria2_link_fuzz: ports with leading zeros were kept as
// written in server_ports ("004:4200") while server_port was 4.
TEST_CASE("hysteria2 links: port lists are written back in decimal", "[config][hysteria2]") {
  std::string why;
  auto a = parse_hysteria2_link("hy2://pw@h.example:004-4200,0443", &why);
  INFO(why);
  REQUIRE(a);
  const auto& h = std::get<Hysteria2OutboundOptions>(a->options);
  CHECK(h.endpoint.server_port == 4);
  CHECK(h.server_ports == std::vector<std::string>{"4:4200", "443"});
}

// Found by the same target: an unbracketed IPv6 host ("::004-4200") split at
// its last colon became the server ":".
TEST_CASE("share links refuse an IPv6 host without brackets", "[config][link]") {
  std::string why;
  CHECK(
      !parse_hysteria2_link("hysteria2://&\x98\x86\xcd"
                            "alampw@lampw@::004-4200,",
                            &why));
  CHECK(why.find("brackets") != std::string::npos);
  CHECK(!parse_hysteria2_link("hy2://pw@::1:443", &why));
  CHECK(!parse_trojan_link("trojan://pw@2001:db8::1:443", &why));
  CHECK(why.find("brackets") != std::string::npos);
  CHECK(parse_trojan_link("trojan://pw@[2001:db8::1]:443", &why));
}

// Found by the same target: the user part ran up to the last '@' before the
// query, across a path, so "pw@host:443/x@evil.example:1" dialled
// evil.example:1 where Go-based clients (url.Parse) see host:443.
TEST_CASE("share links end the host at the first '/'", "[config][link]") {
  std::string why;
  CHECK(!parse_trojan_link("trojan://pw@host.example:443/x@evil.example:1", &why));
  CHECK(why.find("unexpected '/'") != std::string::npos);
  CHECK(!parse_vless_link("vless://b831381d-6324-4d53-ad4f-8cda48b30811@h:443/p@e:1", &why));
  CHECK(!parse_hysteria2_link("hysteria2://a@b:1/x@c:2", &why));
  CHECK(!parse_trojan_link("trojan://p/w@host.example:443", &why));
  CHECK(parse_trojan_link("trojan://p%2Fw@host.example:443/?sni=a.example", &why));
  CHECK(parse_trojan_link("trojan://pw@host.example:443/", &why));
}

TEST_CASE("hysteria2 links: malformed", "[config][hysteria2]") {
  std::string why;
  CHECK(!parse_hysteria2_link("tuic://pw@h:1", &why));
  CHECK(why.find("expected hysteria2://") != std::string::npos);
  CHECK(!parse_hysteria2_link("hysteria2://h:1", &why));
  CHECK(why.find("password@") != std::string::npos);
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:0", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:70000", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:3-1", &why));
  CHECK(parse_hysteria2_link("hysteria2://pw@h:1,", &why));  // empty list parts are dropped
  CHECK(!parse_hysteria2_link("hysteria2://pw@[::1", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:1?obfs=gecko", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:1?obfs=salamander&obfs-password=abc", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:1?pinSHA256=abc", &why));
  CHECK(!parse_hysteria2_link("hysteria2://pw@h:1?security=none", &why));
  CHECK(!parse_hysteria2_link("hysteria2://p%zz@h:1", &why));
}

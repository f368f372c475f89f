// The vless outbound/inbound in the config parser and vless:// share links
// (lib/config/vless.cpp, vless_link.cpp), malformed input included.
#include <catch2/catch.hpp>

#include "sluice/config.hpp"

using namespace sluice;

TEST_CASE("vless outbound: uuid, flow, tls, network", "[config][vless]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      R"({"outbounds":[{"type":"vless","tag":"v","server":"h.example","server_port":443,
      "uuid":"bf000d23-0752-40b4-affe-68f7707a9661","flow":"xtls-rprx-vision","network":"tcp",
      "packet_encoding":"",
      "tls":{"enabled":true,"server_name":"sni.example","alpn":["h2"],
      "ech":{"enabled":true,"config":["-----BEGIN ECH CONFIGS-----","AEX+DQ==","-----END ECH CONFIGS-----"]}}},
      {"type":"vless","tag":"plain","server":"10.0.0.1","server_port":1,"uuid":"test"}]})",
      &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& o = c->outbounds[0];
  CHECK(o.type == OutboundType::vless);
  CHECK(std::string(outbound_type_name(o.type)) == "vless");
  const auto& v = std::get<VlessOutboundOptions>(o.options);
  CHECK(v.endpoint.server == "h.example");
  CHECK(v.endpoint.server_port == 443);
  CHECK(v.uuid == "bf000d23-0752-40b4-affe-68f7707a9661");
  CHECK(v.flow == "xtls-rprx-vision");
  CHECK(v.network.tcp);
  CHECK_FALSE(v.network.udp);
  CHECK(v.tls.enabled);
  CHECK(v.tls.server_name == "sni.example");
  CHECK(v.tls.ech.enabled);
  const auto& p = std::get<VlessOutboundOptions>(c->outbounds[1].options);
  CHECK(v.packet_encoding.empty());    // explicit "": command 0x02
  CHECK(p.packet_encoding == "xudp");  // absent: sing-box's default
  CHECK(p.uuid == "test");             // a name: mapped to a UUIDv5 when the session is built
  CHECK_FALSE(p.tls.enabled);
  CHECK(p.flow.empty());
}

TEST_CASE("vless inbound: users, tls, fallback", "[config][vless]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      R"({"inbounds":[{"type":"vless","tag":"vi","listen":"127.0.0.1","listen_port":8443,
      "users":[{"name":"a","uuid":"bf000d23-0752-40b4-affe-68f7707a9661"},
               {"name":"b","uuid":"bf000d2307524 0b4affe68f7707a9661","flow":"xtls-rprx-vision"}],
      "tls":{"enabled":true,"certificate_path":"/c.pem","key_path":"/k.pem"},
      "fallback":{"server":"127.0.0.1","server_port":80},
      "fallback_for_alpn":{"h2":{"server":"127.0.0.1","server_port":81}}}]})",
      &d);
  // The second uuid has a space: not a UUID, and 34 characters is too long for a name.
  CHECK_FALSE(c);
  CHECK_THAT(d.error, Catch::Contains("inbounds[0].users[1].uuid"));

  auto ok = parse_config(
      R"({"inbounds":[{"type":"vless","tag":"vi","listen":"127.0.0.1","listen_port":8443,
      "users":[{"name":"a","uuid":"bf000d23-0752-40b4-affe-68f7707a9661"},
               {"name":"b","uuid":"bf000d23075240b4affe68f7707a9661","flow":"xtls-rprx-vision"}],
      "tls":{"enabled":true,"certificate_path":"/c.pem","key_path":"/k.pem"},
      "fallback":{"server":"127.0.0.1","server_port":80},
      "fallback_for_alpn":{"h2":{"server":"127.0.0.1","server_port":81}}},
      {"type":"vless","tag":"plain","listen_port":0,"users":[{"uuid":"test"}]}]})",
      &d);
  INFO(d.error);
  REQUIRE(ok);
  const auto& in = ok->inbounds[0];
  CHECK(in.type == InboundType::vless);
  CHECK(std::string(inbound_type_name(in.type)) == "vless");
  const auto& v = std::get<VlessInboundOptions>(in.options);
  REQUIRE(v.users.size() == 2);
  CHECK(v.users[1].flow == "xtls-rprx-vision");
  CHECK(v.tls.enabled);
  CHECK(v.fallback.server_port == 80);
  REQUIRE(v.fallback_for_alpn.size() == 1);
  CHECK(v.fallback_for_alpn[0].second.server_port == 81);
  CHECK_FALSE(std::get<VlessInboundOptions>(ok->inbounds[1].options).tls.enabled);
}

TEST_CASE("vless config errors name the field", "[config][vless]") {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1}]})",
       "outbounds[0].uuid: required"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":""}]})",
       "outbounds[0].uuid"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"0123456789012345678901234567890"}]})",
       "outbounds[0].uuid: expected a UUID"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"zzzzzzzz-0752-40b4-affe-68f7707a9661"}]})",
       "outbounds[0].uuid: expected a UUID"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"a","flow":"xtls-rprx-vision-udp443"}]})",
       "outbounds[0].flow: expected"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"a","flow":"xtls-rprx-vision"}]})",
       "outbounds[0].flow: xtls-rprx-vision needs"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"a","packet_encoding":"packetaddr"}]})",
       "outbounds[0].packet_encoding: \"packetaddr\" is not supported yet"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"a","packet_encoding":"zip"}]})",
       "outbounds[0].packet_encoding: expected"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"a","transport":{"type":"ws"}}]})",
       "outbounds[0].transport"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":7}]})",
       "outbounds[0].uuid"},
      {R"({"inbounds":[{"type":"vless","listen_port":0}]})", "inbounds[0].users: at least one"},
      {R"({"inbounds":[{"type":"vless","listen_port":0,"users":[{"name":"x"}]}]})",
       "inbounds[0].users[0].uuid: required"},
      {R"({"inbounds":[{"type":"vless","listen_port":0,"users":[{"uuid":"a","flow":"xtls-rprx-direct"}]}]})",
       "inbounds[0].users[0].flow: expected"},
      {R"({"inbounds":[{"type":"vless","listen_port":0,"users":["a"]}]})", "inbounds[0].users[0]"},
      {R"({"inbounds":[{"type":"vless","listen_port":0,"users":[{"uuid":"a"}],"fallback":{"server":"h"}}]})",
       "inbounds[0].fallback.server_port"},
      {R"({"inbounds":[{"type":"vless","listen_port":0,"users":[{"uuid":"a"}],"multiplex":{"enabled":true}}]})",
       "inbounds[0].multiplex"},
  };
  for (const Case& c : cases) {
    ConfigDiagnostics d;
    auto r = parse_config(c.json, &d);
    INFO(c.json);
    CHECK_FALSE(r);
    CHECK_THAT(d.error, Catch::Contains(c.error));
  }
}

TEST_CASE("vless:// share links", "[config][vless]") {
  std::string why;
  auto o = parse_vless_link(
      "vless://bf000d23-0752-40b4-affe-68f7707a9661@example.com:8443?encryption=none"
      "&flow=xtls-rprx-vision-udp443&security=tls&sni=real.example&alpn=h2%2Chttp%2F1.1"
      "&fp=chrome&type=tcp&headerType=none&allowInsecure=1&ech=AEX%2BDQ%3D%3D&pcs=" +
          std::string(64, 'a') + "&spx=%2F&host=ignored#my%20node",
      &why);
  INFO(why);
  REQUIRE(o);
  CHECK(o->type == OutboundType::vless);
  CHECK(o->tag == "my node");
  const auto& v = std::get<VlessOutboundOptions>(o->options);
  CHECK(v.uuid == "bf000d23-0752-40b4-affe-68f7707a9661");
  CHECK(v.endpoint.server == "example.com");
  CHECK(v.endpoint.server_port == 8443);
  CHECK(v.flow == "xtls-rprx-vision");  // -udp443 stripped
  CHECK(v.tls.enabled);
  CHECK(v.tls.server_name == "real.example");
  CHECK(v.tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(v.tls.utls.enabled);
  CHECK(v.tls.insecure);
  CHECK(v.tls.ech.enabled);
  CHECK(v.tls.ech.config.rfind("-----BEGIN ECH CONFIGS-----", 0) == 0);
  CHECK(v.tls.certificate_sha256.size() == 1);

  // security defaults to none; IPv6 hosts; a name as uuid.
  auto plain = parse_vless_link("vless://test@[2001:db8::1]:80", &why);
  REQUIRE(plain);
  const auto& p = std::get<VlessOutboundOptions>(plain->options);
  CHECK(p.endpoint.server == "2001:db8::1");
  CHECK_FALSE(p.tls.enabled);
  CHECK(p.packet_encoding == "xudp");
  CHECK(plain->tag.empty());
  auto none = parse_vless_link("vless://test@h:1?packetEncoding=none", &why);
  REQUIRE(none);
  CHECK(std::get<VlessOutboundOptions>(none->options).packet_encoding.empty());

  // REALITY: pbk, sid and spx land in tls.reality, TLS on.
  auto reality = parse_vless_link(
      "vless://bf000d23-0752-40b4-affe-68f7707a9661@203.0.113.7:443?encryption=none"
      "&flow=xtls-rprx-vision&security=reality&sni=www.example.com&fp=chrome"
      "&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE&sid=a1b2c3d4&spx=%2Fsearch&type=tcp#n",
      &why);
  INFO(why);
  REQUIRE(reality);
  const auto& rv = std::get<VlessOutboundOptions>(reality->options);
  CHECK(rv.tls.enabled);
  CHECK(rv.tls.reality.enabled);
  CHECK(rv.tls.reality.public_key == "Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE");
  CHECK(rv.tls.reality.short_id == "a1b2c3d4");
  CHECK(rv.tls.reality.spider_x == "/search");
  CHECK(rv.tls.server_name == "www.example.com");
  CHECK(rv.tls.utls.fingerprint == "chrome");
  CHECK(rv.flow == "xtls-rprx-vision");
  // REALITY parameters without security=reality are not in effect.
  auto tls_only = parse_vless_link(
      "vless://test@h:1?security=tls&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE", &why);
  REQUIRE(tls_only);
  CHECK_FALSE(std::get<VlessOutboundOptions>(tls_only->options).tls.reality.enabled);

  struct Bad {
    const char* link;
    const char* error;
  } bad[] = {
      {"trojan://a@h:1", "expected vless://"},
      {"vless://h:1", "missing uuid@"},
      {"vless://@h:1", "bad uuid"},
      {"vless://%zz@h:1", "bad uuid"},
      {"vless://0123456789012345678901234567890@h:1", "bad uuid"},
      {"vless://a@h", "missing :port"},
      {"vless://a@:1", "missing host"},
      {"vless://a@h:0", "bad port"},
      {"vless://a@h:70000", "bad port"},
      {"vless://a@h:1x", "bad port"},
      {"vless://a@[::1:1", "bad [IPv6]:port"},
      {"vless://a@h:1?encryption=aes-128-gcm", "encryption"},
      {"vless://a@h:1?flow=xtls-rprx-direct", "unknown flow"},
      {"vless://a@h:1?flow=xtls-rprx-vision", "needs security=tls"},
      {"vless://a@h:1?security=xtls", "unknown security"},
      {"vless://a@h:1?type=ws", "transport type"},
      {"vless://a@h:1?headerType=http", "headerType"},
      {"vless://a@h:1?security=tls&ech=%%%", "bad escape"},
      {"vless://a@h:1?security=tls&ech=!!", "ech: expected"},
      {"vless://a@h:1?packetEncoding=packet", "packetEncoding packet"},
      {"vless://a@h:1?packetEncoding=zip", "unknown packetEncoding"},
      {"vless://a@h:1?security=reality", "needs pbk"},
      {"vless://a@h:1?security=reality&pbk=AAAA", "pbk: expected"},
      {"vless://a@h:1?security=reality&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE&sid=xyz",
       "sid: expected"},
      {"vless://a@h:1?security=reality&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE&sid=abc",
       "sid: expected"},
      {"vless://a@h:1?security=reality&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE&spx=x",
       "spx: expected"},
      {"vless://a@h:1?security=reality&pbk=Zm9vYmFyLXB1YmxpYy1rZXktMzItYnl0ZXMtbG9uZzE&pqv=AAAA",
       "pqv: ML-DSA-65"},
  };
  for (const Bad& b : bad) {
    INFO(b.link);
    why.clear();
    auto r = parse_vless_link(b.link, &why);
    CHECK_FALSE(r);
    CHECK_THAT(why, Catch::Contains(b.error));
  }
}

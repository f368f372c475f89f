// The "tls" objects, the trojan outbound/inbound and trojan:// links in the
// config parser (lib/config/tls.cpp, trojan.cpp, trojan_link.cpp).
#include <catch2/catch.hpp>

#include "sluice/config.hpp"

using namespace sluice;

TEST_CASE("trojan outbound with a full tls object", "[config][trojan]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      R"({"outbounds":[{"type":"trojan","tag":"t","server":"h.example","server_port":443,
      "password":"pw","tls":{"enabled":true,"server_name":"sni.example","alpn":["h2","http/1.1"],
      "min_version":"1.3","certificate_public_key_sha256":["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="],
      "ech":{"enabled":true,"config":["-----BEGIN ECH CONFIGS-----","AEX+DQ==","-----END ECH CONFIGS-----"]}}}]})",
      &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& o = c->outbounds[0];
  CHECK(o.type == OutboundType::trojan);
  const auto& t = std::get<TrojanOutboundOptions>(o.options);
  CHECK(t.password == "pw");
  CHECK(t.tls.server_name == "sni.example");
  CHECK(t.tls.alpn.size() == 2);
  CHECK_FALSE(t.tls.utls.enabled);
  CHECK(t.tls.ech.enabled);
  CHECK(t.tls.ech.config == "-----BEGIN ECH CONFIGS-----\nAEX+DQ==\n-----END ECH CONFIGS-----");
  CHECK(t.tls.certificate_public_key_sha256.size() == 1);
}

TEST_CASE("tls.utls selects the engine client: chrome, or the default", "[config][trojan]") {
  for (const char* fp : {R"("fingerprint":"chrome")", R"("fingerprint":"")", ""}) {
    ConfigDiagnostics d;
    const std::string json =
        std::string(R"({"outbounds":[{"type":"trojan","server":"h.example","server_port":443,)") +
        R"("password":"pw","tls":{"enabled":true,"utls":{"enabled":true)" +
        (*fp ? std::string(",") + fp : std::string()) + "}}}]}";
    INFO(json);
    auto c = parse_config(json, &d);
    INFO(d.error);
    REQUIRE(c);
    const auto& t = std::get<TrojanOutboundOptions>(c->outbounds[0].options);
    CHECK(t.tls.utls.enabled);
    CHECK(d.warnings.empty());
  }
}

TEST_CASE("trojan/tls config errors name the field", "[config][trojan]") {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p"}]})",
       "outbounds[0].tls: trojan needs"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"tls":{"enabled":true}}]})",
       "outbounds[0].password"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"certificate_public_key_sha256":["abc"]}}]})",
       "certificate_public_key_sha256[0]: expected the base64"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"certificate_sha256":["zz"]}}]})",
       "certificate_sha256[0]: expected 64 hex"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"ech":{"enabled":true}}}]})",
       "ECH configs from DNS are not supported"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"min_version":"1.2","ech":{"enabled":true,"grease":true}}}]})",
       "ECH needs TLS 1.3"},
      {R"({"inbounds":[{"type":"trojan","listen_port":0,"users":[{"password":"x"}],"tls":{"enabled":true}}]})",
       "inbounds[0].tls.certificate"},
      {R"({"inbounds":[{"type":"trojan","listen_port":0,"tls":{"enabled":true}}]})",
       "inbounds[0].users: at least one user"},
      {R"({"inbounds":[{"type":"trojan","listen_port":0,"users":[{"password":"x"}],"tls":{"enabled":true,"certificate_path":"c","key_path":"k","ech":{"enabled":true}}}]})",
       "inbounds[0].tls.ech.key"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"utls":{"enabled":true,"fingerprint":"firefox"}}}]})",
       "outbounds[0].tls.utls.fingerprint: \"firefox\" is not supported (supported: chrome)"},
      {R"({"outbounds":[{"type":"vless","server":"h","server_port":1,"uuid":"bf000d23-0752-40b4-affe-68f7707a9661","tls":{"enabled":true,"utls":{"enabled":true,"fingerprint":"random"}}}]})",
       "outbounds[0].tls.utls.fingerprint: \"random\" is not supported (supported: chrome)"},
      {R"({"outbounds":[{"type":"trojan","server":"h","server_port":1,"password":"p","tls":{"enabled":true,"utls":{"enabled":true},"ech":{"enabled":true,"grease":true}}}]})",
       "outbounds[0].tls.ech: ECH uses the BoringSSL client; disable utls or ech"},
  };
  for (const Case& c : cases) {
    ConfigDiagnostics d;
    auto r = parse_config(c.json, &d);
    INFO(c.json);
    CHECK_FALSE(r);
    CHECK_THAT(d.error, Catch::Contains(c.error));
  }
}

TEST_CASE("trojan inbound: users, tls, fallback, fallback_for_alpn", "[config][trojan]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      R"({"inbounds":[{"type":"trojan","tag":"tr","listen":"0.0.0.0","listen_port":8443,
      "users":[{"name":"a","password":"1"},{"name":"b","password":"2"}],
      "tls":{"enabled":true,"server_name":"x","certificate_path":"/c.pem","key_path":"/k.pem",
             "alpn":["h2","http/1.1"],"ech":{"enabled":true,"key_path":"/ech.pem"},
             "sni_certificates":[{"server_name":"y","certificate_path":"/y.pem","key_path":"/yk.pem"}]},
      "fallback":{"server":"127.0.0.1","server_port":80},
      "fallback_for_alpn":{"h2":{"server":"127.0.0.1","server_port":81}}}]})",
      &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& t = std::get<TrojanInboundOptions>(c->inbounds[0].options);
  CHECK(t.users.size() == 2);
  CHECK(t.tls.certificate.certificate_path == "/c.pem");
  CHECK(t.tls.ech.key_path == "/ech.pem");
  CHECK(t.tls.sni_certificates.size() == 1);
  CHECK(t.fallback.server_port == 80);
  REQUIRE(t.fallback_for_alpn.size() == 1);
  CHECK(t.fallback_for_alpn[0].first == "h2");
  CHECK(std::string(inbound_type_name(InboundType::trojan)) == "trojan");
}

TEST_CASE("trojan:// share links", "[config][trojan]") {
  std::string why;
  auto o = parse_trojan_link(
      "trojan://p%40ss%3Aword@example.com:8443?security=tls&sni=real.example&alpn=h2%2Chttp%2F1.1"
      "&fp=chrome&type=tcp&allowInsecure=1&pcs=" +
          std::string(64, 'a') + "#my%20node",
      &why);
  INFO(why);
  REQUIRE(o);
  CHECK(o->tag == "my node");
  const auto& t = std::get<TrojanOutboundOptions>(o->options);
  CHECK(t.password == "p@ss:word");
  CHECK(t.endpoint.server == "example.com");
  CHECK(t.endpoint.server_port == 8443);
  CHECK(t.tls.enabled);
  CHECK(t.tls.server_name == "real.example");
  CHECK(t.tls.alpn == std::vector<std::string>{"h2", "http/1.1"});
  CHECK(t.tls.utls.enabled);
  CHECK(t.tls.insecure);
  CHECK(t.tls.certificate_sha256.size() == 1);

  auto v6 =
      parse_trojan_link("trojan://pw@[2001:db8::1]:443?peer=old.example&ech=AEX%2BDQ%3D%3D", &why);
  REQUIRE(v6);
  const auto& t6 = std::get<TrojanOutboundOptions>(v6->options);
  CHECK(t6.endpoint.server == "2001:db8::1");
  CHECK(t6.tls.server_name == "old.example");
  CHECK(t6.tls.ech.enabled);
  CHECK(t6.tls.ech.config.rfind("-----BEGIN ECH CONFIGS-----", 0) == 0);

  for (const char* bad :
       {"vless://pw@h:1", "trojan://h:1", "trojan://pw@h", "trojan://pw@h:0", "trojan://pw@h:70000",
        "trojan://pw@h:1?security=none", "trojan://pw@h:1?type=ws", "trojan://%zz@h:1"}) {
    INFO(bad);
    CHECK_FALSE(parse_trojan_link(bad, &why));
  }
}

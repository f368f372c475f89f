// The tuic outbound/inbound in the config parser and tuic:// share links
// (lib/config/tuic.cpp, tuic_link.cpp), malformed input included.
#include <catch2/catch.hpp>

#include "sluice/config.hpp"

using namespace sluice;

namespace {
constexpr const char* kUuid = "fe35d05b-8803-45c4-bae6-723ad2cd5d3d";

std::string outbound(const std::string& extra) {
  return std::string(
             R"({"outbounds":[{"type":"tuic","tag":"t","server":"h.example","server_port":443,"uuid":")") +
         kUuid + R"(","password":"pw","tls":{"enabled":true})" + extra + "}]}";
}

std::string fails(const std::string& json) {
  ConfigDiagnostics d;
  auto c = parse_config(json, &d);
  CHECK_FALSE(c);
  return d.error;
}
}  // namespace

TEST_CASE("tuic outbound: every field, defaults", "[config][tuic]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      std::string(R"({"outbounds":[{"type":"tuic","tag":"t","server":"h.example","server_port":443,
      "uuid":")") +
          kUuid + R"(","password":"pw","congestion_control":"bbr","udp_relay_mode":"quic",
      "zero_rtt_handshake":false,"heartbeat":"3s","network":"tcp",
      "tls":{"enabled":true,"server_name":"sni.example","alpn":["h3"]}},
      {"type":"tuic","tag":"d","server":"10.0.0.1","server_port":1,"uuid":")" +
          kUuid + R"(","tls":{"enabled":true}}]})",
      &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& o = c->outbounds[0];
  CHECK(o.type == OutboundType::tuic);
  CHECK(std::string(outbound_type_name(o.type)) == "tuic");
  const auto& t = std::get<TuicOutboundOptions>(o.options);
  CHECK(t.endpoint.server == "h.example");
  CHECK(t.uuid == kUuid);
  CHECK(t.password == "pw");
  CHECK(t.congestion_control == "bbr");
  CHECK(t.udp_relay_mode == "quic");
  CHECK(t.heartbeat == std::chrono::seconds(3));
  CHECK(t.network.tcp);
  CHECK_FALSE(t.network.udp);
  CHECK(t.tls.server_name == "sni.example");
  const auto& def = std::get<TuicOutboundOptions>(c->outbounds[1].options);
  CHECK(def.congestion_control == "cubic");
  CHECK(def.udp_relay_mode == "native");
  CHECK(def.heartbeat == std::chrono::seconds(10));
  CHECK(def.password.empty());
  CHECK_FALSE(def.zero_rtt_handshake);
}

TEST_CASE("tuic outbound: bad values are refused with the field's path", "[config][tuic]") {
  CHECK(fails(outbound(R"(,"congestion_control":"vegas")")).find("congestion_control") !=
        std::string::npos);
  CHECK(fails(outbound(R"(,"udp_relay_mode":"tcp")")).find("udp_relay_mode") != std::string::npos);
  CHECK(fails(outbound(R"(,"udp_over_stream":true)")).find("not supported") != std::string::npos);
  CHECK(
      fails(
          R"({"outbounds":[{"type":"tuic","server":"h","server_port":1,"uuid":"alice","tls":{"enabled":true}}]})")
          .find("expected a UUID") != std::string::npos);
  CHECK(fails(R"({"outbounds":[{"type":"tuic","server":"h","server_port":1,"uuid":")" +
              std::string(kUuid) + R"("}]})")
            .find("tls") != std::string::npos);
  CHECK(fails(R"({"outbounds":[{"type":"tuic","server":"h","server_port":1}]})").find("uuid") !=
        std::string::npos);
}

TEST_CASE("tuic inbound: users, auth_timeout, tls", "[config][tuic]") {
  ConfigDiagnostics d;
  auto c = parse_config(std::string(R"({"inbounds":[{"type":"tuic","tag":"ti","listen":"127.0.0.1",
      "listen_port":8443,"users":[{"name":"a","uuid":")") +
                            kUuid + R"(","password":"p"}],
      "congestion_control":"new_reno","auth_timeout":"1s","zero_rtt_handshake":true,
      "heartbeat":"5s","tls":{"enabled":true,"certificate_path":"/c.pem","key_path":"/k.pem"}}]})",
                        &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& in = c->inbounds[0];
  CHECK(in.type == InboundType::tuic);
  CHECK(std::string(inbound_type_name(in.type)) == "tuic");
  const auto& t = std::get<TuicInboundOptions>(in.options);
  REQUIRE(t.users.size() == 1);
  CHECK(t.users[0].uuid == kUuid);
  CHECK(t.users[0].password == "p");
  CHECK(t.congestion_control == "new_reno");
  CHECK(t.auth_timeout == std::chrono::seconds(1));
  CHECK(t.zero_rtt_handshake);
  CHECK(t.tls.enabled);
  CHECK(fails(R"({"inbounds":[{"type":"tuic","listen_port":1,"users":[],"tls":{"enabled":true}}]})")
            .find("users") != std::string::npos);
  CHECK(
      fails(
          R"({"inbounds":[{"type":"tuic","listen_port":1,"users":[{"uuid":"x"}],"tls":{"enabled":true}}]})")
          .find("expected a UUID") != std::string::npos);
  CHECK(fails(std::string(R"({"inbounds":[{"type":"tuic","listen_port":1,"users":[{"uuid":")") +
              kUuid + R"("}]}]})")
            .find("tls") != std::string::npos);
}

TEST_CASE("tuic:// links", "[config][tuic][link]") {
  std::string why;
  auto o = parse_tuic_link(
      std::string("tuic://") + kUuid +
          ":p%40ss@[2001:db8::1]:8443?congestion_control=bbr&udp_relay_mode=quic&alpn=h3,h3-29&sni="
          "sni.example&allowInsecure=1#my%20tuic",
      &why);
  INFO(why);
  REQUIRE(o);
  CHECK(o->type == OutboundType::tuic);
  CHECK(o->tag == "my tuic");
  const auto& t = std::get<TuicOutboundOptions>(o->options);
  CHECK(t.uuid == kUuid);
  CHECK(t.password == "p@ss");
  CHECK(t.endpoint.server == "2001:db8::1");
  CHECK(t.endpoint.server_port == 8443);
  CHECK(t.congestion_control == "bbr");
  CHECK(t.udp_relay_mode == "quic");
  CHECK(t.tls.enabled);
  CHECK(t.tls.alpn == std::vector<std::string>{"h3", "h3-29"});
  CHECK(t.tls.server_name == "sni.example");
  CHECK(t.tls.insecure);
  // Defaults, an empty password.
  o = parse_tuic_link(std::string("TUIC://") + kUuid + ":@h:1", &why);
  REQUIRE(o);
  CHECK(std::get<TuicOutboundOptions>(o->options).password.empty());
  CHECK(std::get<TuicOutboundOptions>(o->options).udp_relay_mode == "native");
  // Malformed.
  for (const std::string& bad :
       {std::string("tuic://alice:pw@h:1"), std::string("tuic://h:1"),
        std::string("tuic://") + kUuid + ":pw@h:0",
        std::string("tuic://") + kUuid + ":pw@h:1?congestion_control=vegas",
        std::string("tuic://") + kUuid + ":pw@h:1?udp_relay_mode=tcp",
        std::string("tuic://") + kUuid + ":pw@h:1?security=none",
        std::string("tuic://") + kUuid + ":p%zzw@h:1"}) {
    INFO(bad);
    why.clear();
    CHECK_FALSE(parse_tuic_link(bad, &why));
    CHECK(why.rfind("tuic link: ", 0) == 0);
  }
}

#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <string>

#include "sluice/config.hpp"

using namespace sluice;
using namespace std::chrono;

namespace {

// parse_err parses |json| expecting failure; returns the error and detail.
std::pair<Errc, std::string> parse_err(const std::string& json) {
  ConfigDiagnostics d;
  auto r = parse_config(json, &d);
  REQUIRE(!r);
  return {r.error(), d.error};
}

bool has_warning(const ConfigDiagnostics& d, const std::string& prefix) {
  for (const auto& w : d.warnings) {
    if (w.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("config: full valid document", "[config]") {
  const char* doc = R"({
    // comments are tolerated
    "log": {"level": "debug", "disabled": false, "timestamp": false},
    "inbounds": [
      {"type": "mixed", "tag": "in", "listen": "::1", "listen_port": 1080,
       "users": [{"username": "u", "password": "p"}], "udp": false,
       "set_system_proxy": true, "tcp_fast_open": true, "udp_timeout": "1m"},
      {"type": "socks", "listen_port": 0},
      {"type": "http", "tag": "h", "listen_port": 8080}
    ],
    "outbounds": [
      {"type": "socks", "tag": "s5", "server": "127.0.0.1", "server_port": 1081,
       "version": "5", "username": "a", "password": "b", "network": "tcp",
       "connect_timeout": "3s", "routing_mark": "0x1F", "domain_strategy": "prefer_ipv4",
       "detour": "up"},
      {"type": "http", "tag": "up", "server": "proxy.example", "server_port": 3128,
       "username": "x", "password": "y", "path": "/p",
       "headers": {"X-A": "1", "X-B": ["2", "3"]},
       "tls": {"enabled": true, "server_name": "proxy.example", "insecure": true,
               "alpn": "http/1.1", "min_version": "1.2", "max_version": "1.3",
               "certificate": ["-----BEGIN CERTIFICATE-----", "AAAA", "-----END CERTIFICATE-----"],
               "utls": {"enabled": false}}},
      {"type": "direct", "tag": "direct", "tcp_keep_alive": "10m", "routing_mark": 7,
       "inet4_bind_address": "10.0.0.1", "fallback_delay": "250ms", "udp_fragment": true},
      {"type": "block", "tag": "block"}
    ],
    "route": {"final": "s5"}
  })";
  ConfigDiagnostics d;
  auto r = parse_config(doc, &d);
  INFO(d.error);
  REQUIRE(r);
  const Config& c = *r;
  CHECK(c.log.level == LogLevel::debug);
  CHECK(!c.log.timestamp);

  REQUIRE(c.inbounds.size() == 3);
  const auto& in0 = c.inbounds[0];
  CHECK(in0.type == InboundType::mixed);
  CHECK(in0.tag == "in");
  CHECK(in0.listen.listen == "::1");
  CHECK(in0.listen.listen_port == 1080);
  CHECK(in0.listen.tcp_fast_open);
  CHECK(in0.listen.udp_timeout == minutes(1));
  const auto* mixed = std::get_if<MixedInboundOptions>(&in0.options);
  REQUIRE(mixed != nullptr);
  CHECK(!mixed->udp);
  REQUIRE(mixed->users.size() == 1);
  CHECK(mixed->users[0].username == "u");
  CHECK(mixed->users[0].password == "p");
  CHECK(c.inbounds[1].listen.listen == "127.0.0.1");
  CHECK(std::get<SocksInboundOptions>(c.inbounds[1].options).udp);
  CHECK(c.inbounds[2].type == InboundType::http);
  CHECK(std::holds_alternative<HttpInboundOptions>(c.inbounds[2].options));
  CHECK(has_warning(d, "inbounds[0].set_system_proxy"));

  REQUIRE(c.outbounds.size() == 4);
  const auto& s5 = c.outbounds[0];
  CHECK(s5.type == OutboundType::socks);
  const auto& so = std::get<SocksOutboundOptions>(s5.options);
  CHECK(so.endpoint.server == "127.0.0.1");
  CHECK(so.endpoint.server_port == 1081);
  CHECK(so.username == "a");
  CHECK(so.network.tcp);
  CHECK(!so.network.udp);
  CHECK(s5.dial.connect_timeout == seconds(3));
  CHECK(s5.dial.routing_mark == 0x1F);
  CHECK(s5.dial.domain_strategy == DomainStrategy::prefer_ipv4);
  CHECK(s5.dial.detour == "up");

  const auto& ho = std::get<HttpOutboundOptions>(c.outbounds[1].options);
  CHECK(ho.endpoint.server == "proxy.example");
  CHECK(ho.path == "/p");
  REQUIRE(ho.headers.size() == 3);
  CHECK(ho.headers[1] == std::pair<std::string, std::string>("X-B", "2"));
  CHECK(ho.tls.enabled);
  CHECK(ho.tls.insecure);
  CHECK(ho.tls.alpn == std::vector<std::string>{"http/1.1"});
  CHECK(ho.tls.certificate == "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
  CHECK(ho.tls.min_version == "1.2");
  CHECK(has_warning(d, "outbounds[1].tls.utls"));

  const auto& direct = c.outbounds[2];
  CHECK(direct.type == OutboundType::direct);
  CHECK(direct.dial.tcp_keep_alive == minutes(10));
  CHECK(direct.dial.routing_mark == 7);
  CHECK(direct.dial.fallback_delay == milliseconds(250));
  CHECK(direct.dial.udp_fragment);
  CHECK(direct.dial.tcp_keep_alive_interval == seconds(75));
  CHECK(c.outbounds[3].type == OutboundType::block);

  CHECK(c.route.final_outbound == "s5");
  CHECK(c.final_outbound() == &c.outbounds[0]);
  CHECK(c.find_outbound("block") == &c.outbounds[3]);
  CHECK(c.find_outbound("nope") == nullptr);
  CHECK(c.find_outbound("") == nullptr);
  CHECK(std::string(inbound_type_name(InboundType::mixed)) == "mixed");
  CHECK(std::string(outbound_type_name(OutboundType::http)) == "http");
}

TEST_CASE("config: defaults", "[config]") {
  auto r = parse_config("{}", nullptr);
  REQUIRE(r);
  CHECK(r->log.level == LogLevel::info);
  CHECK(r->inbounds.empty());
  // No outbounds: sing-box's implicit direct.
  REQUIRE(r->outbounds.size() == 1);
  CHECK(r->outbounds[0].type == OutboundType::direct);
  CHECK(r->final_outbound() == &r->outbounds[0]);
  CHECK(r->outbounds[0].dial.connect_timeout == seconds(5));
  CHECK(r->outbounds[0].dial.tcp_keep_alive == minutes(5));

  auto s =
      parse_config(R"({"outbounds":[{"type":"socks","server":"h","server_port":1}]})", nullptr);
  REQUIRE(s);
  const auto& so = std::get<SocksOutboundOptions>(s->outbounds[0].options);
  CHECK(so.version == "5");
  CHECK(so.network.tcp);
  CHECK(so.network.udp);
  // null is absent.
  CHECK(parse_config(R"({"log": null, "route": {"final": null}})", nullptr));
}

TEST_CASE("config: unknown fields are warnings with their path", "[config]") {
  ConfigDiagnostics d;
  auto r = parse_config(R"({
    "dns": {}, "log": {"foo": 1},
    "inbounds": [{"type": "socks", "listen_port": 1, "bar": true,
                  "users": [{"username": "u", "extra": 1}]}],
    "outbounds": [{"type": "direct"},
                  {"type": "http", "server": "h", "server_port": 1, "tls": {"foo": 1}}],
    "route": {"rules": []}
  })",
                        &d);
  REQUIRE(r);
  CHECK(has_warning(d, "dns: unknown field"));
  CHECK(has_warning(d, "log.foo: unknown field"));
  CHECK(has_warning(d, "inbounds[0].bar: unknown field"));
  CHECK(has_warning(d, "inbounds[0].users[0].extra: unknown field"));
  CHECK(has_warning(d, "outbounds[1].tls.foo: unknown field"));
  CHECK(has_warning(d, "route.rules: unknown field"));
  CHECK(d.error.empty());
}

TEST_CASE("config: wrong types name the path", "[config]") {
  struct Case {
    const char* json;
    Errc error;
    const char* detail;
  };
  Case cases[] = {
      {R"([])", Errc::config_wrong_type, "(document): expected object, got array"},
      {R"({"log": 1})", Errc::config_wrong_type, "log: expected object, got integer"},
      {R"({"log": {"level": 3}})", Errc::config_wrong_type,
       "log.level: expected string, got integer"},
      {R"({"log": {"disabled": "yes"}})", Errc::config_wrong_type,
       "log.disabled: expected boolean, got string"},
      {R"({"inbounds": {}})", Errc::config_wrong_type, "inbounds: expected array, got object"},
      {R"({"inbounds": [1]})", Errc::config_wrong_type,
       "inbounds[0]: expected object, got integer"},
      {R"({"inbounds": [{"type": "socks", "listen_port": "1080"}]})", Errc::config_wrong_type,
       "inbounds[0].listen_port: expected integer 0..65535, got string"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 10.5}]})", Errc::config_wrong_type,
       "inbounds[0].listen_port: expected integer 0..65535, got number"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "users": {}}]})",
       Errc::config_wrong_type, "inbounds[0].users: expected array, got object"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "users": ["u"]}]})",
       Errc::config_wrong_type, "inbounds[0].users[0]: expected object, got string"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "udp": 1}]})", Errc::config_wrong_type,
       "inbounds[0].udp: expected boolean, got integer"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "udp_timeout": 300}]})",
       Errc::config_wrong_type, "inbounds[0].udp_timeout: expected duration string"},
      {R"({"outbounds": [{"type": "socks", "server": 1, "server_port": 1}]})",
       Errc::config_wrong_type, "outbounds[0].server: expected string, got integer"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "network": 5}]})",
       Errc::config_wrong_type, "outbounds[0].network: expected string or array of strings"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "network": ["tcp", 1]}]})",
       Errc::config_wrong_type, "outbounds[0].network[1]: expected string, got integer"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": true}]})",
       Errc::config_wrong_type, "outbounds[0].tls: expected object, got boolean"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "headers": []}]})",
       Errc::config_wrong_type, "outbounds[0].headers: expected object, got array"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "headers": {"A": 1}}]})",
       Errc::config_wrong_type, "outbounds[0].headers.A: expected string or array of strings"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "headers": {"A": [1]}}]})",
       Errc::config_wrong_type, "outbounds[0].headers.A[0]: expected string, got integer"},
      {R"({"outbounds": [{"type": "direct", "routing_mark": true}]})", Errc::config_wrong_type,
       "outbounds[0].routing_mark: expected integer"},
      {R"({"outbounds": [{"type": "direct", "tls": null, "detour": []}]})", Errc::config_wrong_type,
       "outbounds[0].detour: expected string, got array"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"alpn": [true]}}]})",
       Errc::config_wrong_type, "outbounds[0].tls.alpn[0]: expected string, got boolean"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"ech": 1}}]})",
       Errc::config_wrong_type, "outbounds[0].tls.ech: expected object, got integer"},
      {R"({"route": []})", Errc::config_wrong_type, "route: expected object, got array"},
      {R"({"route": {"final": 1}})", Errc::config_wrong_type, "route.final: expected string"},
  };
  for (auto& c : cases) {
    INFO(c.json);
    auto [e, detail] = parse_err(c.json);
    CHECK(e == c.error);
    CHECK(detail.rfind(c.detail, 0) == 0);
    INFO(detail);
  }
}

TEST_CASE("config: missing required fields", "[config]") {
  struct Case {
    const char* json;
    const char* detail;
  };
  Case cases[] = {
      {R"({"inbounds": [{"listen_port": 1}]})", "inbounds[0].type: required field missing"},
      {R"({"inbounds": [{"type": "socks"}]})", "inbounds[0].listen_port: required field missing"},
      {R"({"inbounds": [{"type": "", "listen_port": 1}]})",
       "inbounds[0].type: must not be empty (line 1, column 24)"},
      {R"({"inbounds": [{"type": "http", "listen_port": 1, "users": [{"password": "p"}]}]})",
       "inbounds[0].users[0].username: required field missing"},
      {R"({"outbounds": [{"tag": "x"}]})", "outbounds[0].type: required field missing"},
      {R"({"outbounds": [{"type": "socks", "server_port": 1}]})",
       "outbounds[0].server: required field missing"},
      {R"({"outbounds": [{"type": "http", "server": "h"}]})",
       "outbounds[0].server_port: required field missing"},
      {R"({"outbounds": [{"type": "http", "server": "", "server_port": 1}]})",
       "outbounds[0].server: must not be empty (line 1, column 43)"},
  };
  for (auto& c : cases) {
    INFO(c.json);
    auto [e, detail] = parse_err(c.json);
    CHECK(e == Errc::config_missing_field);
    CHECK(detail == c.detail);
  }
}

TEST_CASE("config: invalid values", "[config]") {
  struct Case {
    const char* json;
    const char* detail;
  };
  Case cases[] = {
      {R"({"log": {"level": "loud"}})", "log.level: expected trace"},
      {R"({"inbounds": [{"type": "tun", "listen_port": 1}]})",
       "inbounds[0].type: unsupported inbound type \"tun\""},
      {R"({"inbounds": [{"type": "socks", "listen_port": 65536}]})",
       "inbounds[0].listen_port: expected integer 0..65535, got 65536"},
      {R"({"inbounds": [{"type": "socks", "listen_port": -1}]})",
       "inbounds[0].listen_port: expected integer 0..65535, got -1"},
      {R"({"inbounds": [{"type": "socks", "listen": "localhost", "listen_port": 1}]})",
       "inbounds[0].listen: expected an IP address"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "udp_timeout": "5"}]})",
       "inbounds[0].udp_timeout: invalid duration \"5\""},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "udp_timeout": "-5s"}]})",
       "inbounds[0].udp_timeout: duration must not be negative"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "users": [{"username": "a:b"}]}]})",
       "inbounds[0].users[0].username: must be 1..255 bytes without ':'"},
      {R"({"inbounds": [{"type": "socks", "listen_port": 1, "tag": "a"},
                        {"type": "http", "listen_port": 2, "tag": "a"}]})",
       "inbounds[1].tag: duplicate tag \"a\""},
      {R"({"outbounds": [{"type": "vmess"}]})", "outbounds[0].type: unsupported outbound type"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 0}]})",
       "outbounds[0].server_port: expected integer 1..65535, got 0"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 70000}]})",
       "outbounds[0].server_port: expected integer 1..65535, got 70000"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "version": "4"}]})",
       "outbounds[0].version: SOCKS4 is not supported yet"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "version": "6"}]})",
       "outbounds[0].version: expected \"4\", \"4a\" or \"5\""},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "password": "p"}]})",
       "outbounds[0].username: required when a password is set"},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "network": "icmp"}]})",
       "outbounds[0].network: expected \"tcp\" or \"udp\""},
      {R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "udp_over_tcp": true}]})",
       "outbounds[0].udp_over_tcp: UDP over TCP is not supported"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "username": "a:b"}]})",
       "outbounds[0].username: must not contain ':'"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "headers": {"A\nB": "1"}}]})",
       "outbounds[0].headers.A\nB: invalid header name"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "headers": {"A": "1\r\nB: 2"}}]})",
       "outbounds[0].headers.A: control character in value"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"min_version": "1.4"}}]})",
       "outbounds[0].tls.min_version: expected \"1.0\""},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"min_version": "1.3", "max_version": "1.2"}}]})",
       "outbounds[0].tls.min_version: greater than max_version"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"certificate": "x", "certificate_path": "/p"}}]})",
       "outbounds[0].tls.certificate_path: conflicts with certificate"},
      {R"({"outbounds": [{"type": "http", "server": "h", "server_port": 1, "tls": {"reality": {"enabled": true, "public_key": "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw"}}}]})",
       "outbounds[0].tls.reality: REALITY carries only VLESS"},
      {R"({"outbounds": [{"type": "direct", "override_address": "1.1.1.1"}]})",
       "outbounds[0].override_address: removed in sing-box 1.13"},
      {R"({"outbounds": [{"type": "direct", "connect_timeout": "soon"}]})",
       "outbounds[0].connect_timeout: invalid duration \"soon\""},
      {R"({"outbounds": [{"type": "direct", "routing_mark": "0xZZ"}]})",
       "outbounds[0].routing_mark: expected integer or \"0x...\" string"},
      {R"({"outbounds": [{"type": "direct", "routing_mark": -1}]})",
       "outbounds[0].routing_mark: expected integer 0..4294967295, got -1"},
      {R"({"outbounds": [{"type": "direct", "routing_mark": 4294967296}]})",
       "outbounds[0].routing_mark: expected integer 0..4294967295, got 4294967296"},
      {R"({"outbounds": [{"type": "direct", "domain_strategy": "fastest"}]})",
       "outbounds[0].domain_strategy: expected as_is"},
      {R"({"outbounds": [{"type": "direct", "inet4_bind_address": "eth0"}]})",
       "outbounds[0].inet4_bind_address: expected an IP address"},
      {R"({"outbounds": [{"type": "direct", "tag": "a"}, {"type": "block", "tag": "a"}]})",
       "outbounds[1].tag: duplicate tag \"a\""},
      {R"({"outbounds": [{"type": "direct", "tag": "a", "detour": "b"}]})",
       "outbounds[0].detour: no outbound tagged \"b\""},
      {R"({"outbounds": [{"type": "direct", "tag": "a", "detour": "a"}]})",
       "outbounds[0].detour: detour chain loops"},
      {R"({"outbounds": [{"type": "direct", "tag": "a", "detour": "b"},
                         {"type": "direct", "tag": "b", "detour": "a"}]})",
       "outbounds[0].detour: detour chain loops"},
      {R"({"outbounds": [{"type": "direct", "tag": "a"}], "route": {"final": "b"}})",
       "route.final: no outbound tagged \"b\""},
      {R"({"route": {"final": "proxy"}})", "route.final: no outbound tagged \"proxy\""},
  };
  for (auto& c : cases) {
    INFO(c.json);
    auto [e, detail] = parse_err(c.json);
    INFO(detail);
    CHECK(e == Errc::config_invalid);
    CHECK(detail.rfind(c.detail, 0) == 0);
  }
  // Explicit default values of rejected fields still load.
  CHECK(parse_config(
      R"({"outbounds": [{"type": "direct", "override_address": "", "override_port": 0}]})",
      nullptr));
  CHECK(parse_config(
      R"({"outbounds": [{"type": "socks", "server": "h", "server_port": 1, "udp_over_tcp": false}]})",
      nullptr));
}

TEST_CASE("config: JSON syntax errors", "[config]") {
  for (const char* bad : {"", "{", "{\"log\": }", "{} {}", "nul", "{\"a\": 1,}", "\xff"}) {
    INFO(bad);
    auto [e, detail] = parse_err(bad);
    CHECK(e == Errc::config_invalid);
    CHECK(detail.rfind("(document): ", 0) == 0);
  }
  auto [e, detail] = parse_err("{\n  \"log\": [}\n");
  CHECK(detail.find("line 2") != std::string::npos);
  (void)e;
}

TEST_CASE("config: file loading", "[config]") {
  ConfigDiagnostics d;
  auto missing = load_config_file("/nonexistent/sluice.json", &d);
  CHECK(missing.error() == Errc::config_io);
  CHECK(d.error == "/nonexistent/sluice.json: No such file or directory");

  std::string path = "/tmp/sluice_config_test_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream f(path);
    f << R"({"outbounds": [{"type": "block", "tag": "b"}]})";
  }
  ConfigDiagnostics d2;
  auto ok = load_config_file(path, &d2);
  std::remove(path.c_str());
  REQUIRE(ok);
  CHECK(ok->outbounds[0].type == OutboundType::block);
}

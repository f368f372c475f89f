// The "tls.reality" objects in the config parser (lib/config/reality.cpp):
// sing-box fields, the Xray aliases, and malformed input.
#include <catch2/catch.hpp>

#include <string>

#include "sluice/config.hpp"

using namespace sluice;

namespace {

constexpr const char* kPub = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw";
constexpr const char* kPriv = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";

std::string outbound(const std::string& reality, const std::string& extra_tls = "") {
  return R"({"outbounds":[{"type":"vless","server":"h","server_port":443,"uuid":"test",)"
         R"("tls":{"enabled":true,"server_name":"www.example.com")" +
         extra_tls + R"(,"reality":)" + reality + "}}]}";
}

std::string inbound(const std::string& reality, const std::string& extra_tls = "") {
  return R"({"inbounds":[{"type":"vless","listen_port":8443,"users":[{"uuid":"test"}],)"
         R"("tls":{"enabled":true,"server_name":"www.example.com")" +
         extra_tls + R"(,"reality":)" + reality + "}}]}";
}

}  // namespace

TEST_CASE("reality outbound: sing-box fields and Xray aliases", "[config][reality]") {
  ConfigDiagnostics d;
  auto c = parse_config(outbound(std::string(R"({"enabled":true,"public_key":")") + kPub +
                                 R"(","short_id":"0123abcd","client_version":"1.8.1",)"
                                 R"("spider_x":"/s","x25519_only":true})"),
                        &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& r = std::get<VlessOutboundOptions>(c->outbounds[0].options).tls.reality;
  CHECK(r.enabled);
  CHECK(r.public_key == kPub);
  CHECK(r.short_id == "0123abcd");
  CHECK(r.client_version == "1.8.1");
  CHECK(r.spider_x == "/s");
  CHECK(r.x25519_only);

  auto x = parse_config(outbound(std::string(R"({"enabled":true,"password":")") + kPub +
                                 R"(","shortId":"aa","spiderX":"/"})"),
                        &d);
  INFO(d.error);
  REQUIRE(x);
  const auto& xr = std::get<VlessOutboundOptions>(x->outbounds[0].options).tls.reality;
  CHECK(xr.public_key == kPub);
  CHECK(xr.short_id == "aa");
}

TEST_CASE("reality inbound: handshake, keys, ids, clock, versions", "[config][reality]") {
  ConfigDiagnostics d;
  auto c = parse_config(
      inbound(
          std::string(R"({"enabled":true,"handshake":{"server":"127.0.0.1","server_port":8444},)"
                      R"("private_key":")") +
          kPriv +
          R"(","short_id":["0123456789abcdef",""],"max_time_difference":"1m",)"
          R"("min_client_version":"1.8.0","serverNames":["alt.example.com"]})"),
      &d);
  INFO(d.error);
  REQUIRE(c);
  const auto& r = std::get<VlessInboundOptions>(c->inbounds[0].options).tls.reality;
  CHECK(r.enabled);
  CHECK(r.handshake_server == "127.0.0.1");
  CHECK(r.handshake_server_port == 8444);
  CHECK(r.private_key == kPriv);
  CHECK(r.short_id == std::vector<std::string>{"0123456789abcdef", ""});
  CHECK(r.max_time_difference == std::chrono::minutes(1));
  CHECK(r.min_client_version == "1.8.0");
  CHECK(r.server_names == std::vector<std::string>{"alt.example.com", "www.example.com"});

  auto x = parse_config(inbound(std::string(R"({"enabled":true,"target":"example.org:8443",)"
                                            R"("privateKey":")") +
                                kPriv + R"(","shortIds":["aa"],"maxTimeDiff":1500})"),
                        &d);
  INFO(d.error);
  REQUIRE(x);
  const auto& xr = std::get<VlessInboundOptions>(x->inbounds[0].options).tls.reality;
  CHECK(xr.handshake_server == "example.org");
  CHECK(xr.handshake_server_port == 8443);
  CHECK(xr.short_id == std::vector<std::string>{"aa"});
  CHECK(xr.max_time_difference == std::chrono::milliseconds(1500));
  CHECK(xr.limit_fallback_upload.bytes_per_sec == 0);

  auto lim = parse_config(
      inbound(std::string(R"({"enabled":true,"target":"h:1","privateKey":")") + kPriv +
              R"(","limitFallbackUpload":{"afterBytes":1024,"bytesPerSec":2048,)"
              R"("burstBytesPerSec":4096},"limitFallbackDownload":{"bytesPerSec":8192}})"),
      &d);
  INFO(d.error);
  REQUIRE(lim);
  const auto& lr = std::get<VlessInboundOptions>(lim->inbounds[0].options).tls.reality;
  CHECK(lr.limit_fallback_upload.after_bytes == 1024);
  CHECK(lr.limit_fallback_upload.bytes_per_sec == 2048);
  CHECK(lr.limit_fallback_upload.burst_bytes_per_sec == 4096);
  CHECK(lr.limit_fallback_download.after_bytes == 0);
  CHECK(lr.limit_fallback_download.bytes_per_sec == 8192);
  CHECK(lr.limit_fallback_download.burst_bytes_per_sec == 0);
  auto port_only = parse_config(
      inbound(std::string(R"({"enabled":true,"dest":"8443","privateKey":")") + kPriv + "\"}"), &d);
  REQUIRE(port_only);
  CHECK(
      std::get<VlessInboundOptions>(port_only->inbounds[0].options).tls.reality.handshake_server ==
      "127.0.0.1");
}

TEST_CASE("reality config errors name the field", "[config][reality][malformed]") {
  const std::string priv = kPriv, pub = kPub;
  struct Bad {
    std::string json;
    const char* error;
  } bad[] = {
      {outbound(R"({"enabled":true})"),
       "outbounds[0].tls.reality.public_key: REALITY needs the server's public key"},
      {outbound(R"({"enabled":true,"public_key":"AAAA"})"),
       "outbounds[0].tls.reality.public_key: expected a 32-byte X25519 key"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + R"(","password":")" + pub + "\"}"),
       "outbounds[0].tls.reality.password: conflicts with public_key"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + R"(","short_id":"abc"})"),
       "outbounds[0].tls.reality.short_id: expected 0-16 hex digits"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + R"(","client_version":"26.7"})"),
       "outbounds[0].tls.reality.client_version: expected a version x.y.z"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + R"(","spider_x":"x"})"),
       "outbounds[0].tls.reality.spider_x: expected a path starting with /"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + R"(","mldsa65Verify":"x"})"),
       "outbounds[0].tls.reality.mldsa65Verify: ML-DSA-65 verification is not supported"},
      {outbound(R"({"enabled":true,"public_key":")" + pub + "\"}",
                R"(,"ech":{"enabled":true,"grease":true})"),
       "outbounds[0].tls.reality: conflicts with ech"},
      {inbound(R"({"enabled":true,"private_key":")" + priv + "\"}"),
       "inbounds[0].tls.reality.handshake: REALITY needs the handshake target"},
      {inbound(R"({"enabled":true,"handshake":{"server":"h"}})"),
       "inbounds[0].tls.reality.private_key: REALITY needs the server's private key"},
      {inbound(R"({"enabled":true,"handshake":{"server_port":1},"private_key":")" + priv + "\"}"),
       "inbounds[0].tls.reality.handshake.server: required"},
      {inbound(R"({"enabled":true,"target":"/run/x.sock","private_key":")" + priv + "\"}"),
       "inbounds[0].tls.reality.target: unix socket targets are not supported"},
      {inbound(R"({"enabled":true,"target":"h:99999","private_key":")" + priv + "\"}"),
       "inbounds[0].tls.reality.target: expected host:port or a port 1-65535"},
      {inbound(R"({"enabled":true,"target":"h:1","dest":"h:1","private_key":")" + priv + "\"}"),
       "inbounds[0].tls.reality.dest: conflicts with target"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","short_id":["aa","xyz"]})"),
       "inbounds[0].tls.reality.short_id[1]: expected 0-16 hex digits"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","min_client_version":"2.0.0","max_client_version":"1.9.9"})"),
       "inbounds[0].tls.reality.min_client_version: greater than max_client_version"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","max_time_difference":"1m","maxTimeDiff":1000})"),
       "inbounds[0].tls.reality.maxTimeDiff: conflicts with max_time_difference"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","limitFallbackUpload":{"afterBytes":10}})"),
       "inbounds[0].tls.reality.limitFallbackUpload.bytesPerSec: is 0 (no limit) while "
       "afterBytes or burstBytesPerSec is set"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","limitFallbackDownload":{"bytesPerSec":-1}})"),
       "inbounds[0].tls.reality.limitFallbackDownload.bytesPerSec"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv +
               R"(","limitFallbackUpload":1000})"),
       "inbounds[0].tls.reality.limitFallbackUpload"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv + R"(","xver":1})"),
       "inbounds[0].tls.reality.xver: PROXY protocol to the target is not supported"},
      {inbound(R"({"enabled":true,"target":"h:1","private_key":")" + priv + "\"}",
               R"(,"certificate_path":"/c.pem")"),
       "inbounds[0].tls.certificate: REALITY uses the handshake target's identity"},
      {R"({"inbounds":[{"type":"vless","listen_port":1,"users":[{"uuid":"test"}],)"
       R"("tls":{"enabled":true,"reality":{"enabled":true,"target":"h:1","private_key":")" +
           priv + "\"}}}]}",
       "inbounds[0].tls.server_name: REALITY needs the SNI it accepts"},
      {R"({"inbounds":[{"type":"trojan","listen_port":1,"users":[{"password":"p"}],)"
       R"("tls":{"enabled":true,"server_name":"a","reality":{"enabled":true,"target":"h:1",)"
       R"("private_key":")" +
           priv + "\"}}}]}",
       "inbounds[0].tls.reality: REALITY carries only VLESS"},
  };
  for (const Bad& b : bad) {
    INFO(b.json);
    ConfigDiagnostics d;
    auto c = parse_config(b.json, &d);
    CHECK_FALSE(c);
    CHECK_THAT(d.error, Catch::Contains(b.error));
  }
}

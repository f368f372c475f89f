// config/reality.cpp: the "tls.reality" objects of outbounds and inbounds
// (docs/config.md, "Outbound REALITY" and "Inbound REALITY"), with sing-box
// names first and Xray's realitySettings names as aliases.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Keys, short ids and versions are decoded here, so a typo fails at load
// with the field named, not at the first connection.
#include <charconv>

#include "config/parse.hpp"
#include "proto/reality/auth.hpp"

namespace sluice::config {
namespace {

// alias reads |key| or its alias (not both) into |out|.
Status alias_string(ObjectReader& r, const char* key, const char* alias, std::string* out) {
  std::string a, b;
  SLUICE_TRY(r.string(key, &a));
  SLUICE_TRY(r.string(alias, &b));
  if (!a.empty() && !b.empty())
    return r.ctx().fail(Errc::config_invalid, r.path(alias), std::string("conflicts with ") + key);
  if (!a.empty() || !b.empty()) *out = a.empty() ? b : a;
  return {};
}

Status check_key(ObjectReader& r, const char* key, const std::string& value) {
  if (value.empty() || reality::parse_key(value)) return {};
  return r.ctx().fail(
      Errc::config_invalid, r.path(key),
      "expected a 32-byte X25519 key in base64url (43 characters), got \"" + value + "\"");
}

Status check_short_id(ObjectReader& r, const std::string& path, const std::string& value) {
  if (reality::parse_short_id(value)) return {};
  return r.ctx().fail(Errc::config_invalid, path,
                      "expected 0-16 hex digits, an even number of them, got \"" + value + "\"");
}

Status check_version(ObjectReader& r, const char* key, const std::string& value) {
  if (value.empty() || reality::parse_version(value)) return {};
  return r.ctx().fail(Errc::config_invalid, r.path(key),
                      "expected a version x.y.z (each 0-255), got \"" + value + "\"");
}

// parse_target reads Xray's target/dest: "host:port", "[v6]:port" or a bare
// port (meaning 127.0.0.1:port, as Xray's localhost).
Status parse_target(ObjectReader& r, const char* key, const std::string& v,
                    TlsRealityServerOptions* out) {
  const auto bad = [&](const char* why) {
    return r.ctx().fail(Errc::config_invalid, r.path(key),
                        std::string(why) + ", got \"" + v + "\"");
  };
  if (!v.empty() && (v[0] == '/' || v[0] == '@'))
    return bad("unix socket targets are not supported; give host:port");
  const size_t colon = v.rfind(':');
  std::string host = colon == std::string::npos ? "127.0.0.1" : v.substr(0, colon);
  const std::string port = colon == std::string::npos ? v : v.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
    return bad("expected host:port or a port 1-65535");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return bad("expected host:port");
  out->handshake_server = std::move(host);
  out->handshake_server_port = static_cast<uint16_t>(p);
  return {};
}

// parse_fallback_limit reads Xray's limitFallbackUpload/Download object.
Status parse_fallback_limit(ObjectReader& r, const char* key, TlsRealityFallbackLimit* out) {
  const Json* j;
  SLUICE_TRY(r.object(key, &j));
  if (j == nullptr) return {};
  ObjectReader l(r.ctx(), *j, r.path(key), kTlsRealityFallbackLimitFields);
  uint32_t after = 0, rate = 0, burst = 0;
  SLUICE_TRY(l.uint32("afterBytes", &after));
  SLUICE_TRY(l.uint32("bytesPerSec", &rate));
  SLUICE_TRY(l.uint32("burstBytesPerSec", &burst));
  l.finish();
  if (rate == 0 && (after != 0 || burst != 0))
    return r.ctx().fail(Errc::config_invalid, l.path("bytesPerSec"),
                        "is 0 (no limit) while afterBytes or burstBytesPerSec is set");
  out->after_bytes = after;
  out->bytes_per_sec = rate;
  out->burst_bytes_per_sec = burst;
  return {};
}

}  // namespace

Status reality_needs_vless(ConfigCtx& ctx, const std::string& tls_path, bool enabled) {
  if (!enabled) return {};
  return ctx.fail(Errc::config_invalid, tls_path + ".reality",
                  "REALITY carries only VLESS (use a vless outbound or inbound)");
}

Status parse_reality_client(ConfigCtx& ctx, const Json& j, const std::string& path,
                            TlsRealityClientOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kTlsRealityClientFields);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  // sing-box's public_key, Xray's password and its older publicKey: one of them.
  const char* key_field = "public_key";
  for (const char* k : {"public_key", "password", "publicKey"}) {
    std::string v;
    SLUICE_TRY(r.string(k, &v));
    if (v.empty()) continue;
    if (!out->public_key.empty())
      return ctx.fail(Errc::config_invalid, r.path(k), std::string("conflicts with ") + key_field);
    out->public_key = v;
    key_field = k;
  }
  SLUICE_TRY(check_key(r, key_field, out->public_key));
  SLUICE_TRY(alias_string(r, "short_id", "shortId", &out->short_id));
  SLUICE_TRY(check_short_id(r, r.path("short_id"), out->short_id));
  SLUICE_TRY(r.string("client_version", &out->client_version));
  SLUICE_TRY(check_version(r, "client_version", out->client_version));
  SLUICE_TRY(alias_string(r, "spider_x", "spiderX", &out->spider_x));
  if (!out->spider_x.empty() && out->spider_x[0] != '/')
    return ctx.fail(Errc::config_invalid, r.path("spider_x"),
                    "expected a path starting with /, got \"" + out->spider_x + "\"");
  SLUICE_TRY(r.boolean("x25519_only", &out->x25519_only));
  SLUICE_TRY(r.reject("mldsa65Verify", "ML-DSA-65 verification is not supported"));
  r.ignore("fingerprint", "use tls.utls.fingerprint");
  r.ignore("show");
  r.finish();
  if (out->enabled && out->public_key.empty())
    return ctx.fail(Errc::config_missing_field, r.path("public_key"),
                    "REALITY needs the server's public key");
  return {};
}

Status parse_reality_server(ConfigCtx& ctx, const Json& j, const std::string& path,
                            TlsRealityServerOptions* out) {
  SLUICE_TRY(check_object(ctx, j, path));
  ObjectReader r(ctx, j, path, kTlsRealityServerFields);
  SLUICE_TRY(r.boolean("enabled", &out->enabled));
  const Json* hs;
  SLUICE_TRY(r.object("handshake", &hs));
  std::string target, dest;
  SLUICE_TRY(r.string("target", &target));
  SLUICE_TRY(r.string("dest", &dest));
  if (!target.empty() && !dest.empty())
    return ctx.fail(Errc::config_invalid, r.path("dest"), "conflicts with target");
  if (hs != nullptr && (!target.empty() || !dest.empty()))
    return ctx.fail(Errc::config_invalid, r.path(target.empty() ? "dest" : "target"),
                    "conflicts with handshake");
  if (hs != nullptr) {
    ObjectReader h(ctx, *hs, r.path("handshake"), kTlsRealityHandshakeFields);
    SLUICE_TRY(h.string("server", &out->handshake_server, true));
    SLUICE_TRY(h.port("server_port", &out->handshake_server_port, false, 1));
    h.finish();
  } else if (!target.empty()) {
    SLUICE_TRY(parse_target(r, "target", target, out));
  } else if (!dest.empty()) {
    SLUICE_TRY(parse_target(r, "dest", dest, out));
  }
  SLUICE_TRY(alias_string(r, "private_key", "privateKey", &out->private_key));
  SLUICE_TRY(check_key(r, "private_key", out->private_key));
  std::vector<std::string> ids, xray_ids;
  SLUICE_TRY(r.listable("short_id", &ids));
  SLUICE_TRY(r.listable("shortIds", &xray_ids));
  if (!ids.empty() && !xray_ids.empty())
    return ctx.fail(Errc::config_invalid, r.path("shortIds"), "conflicts with short_id");
  out->short_id = ids.empty() ? xray_ids : ids;
  for (size_t i = 0; i < out->short_id.size(); ++i)
    SLUICE_TRY(check_short_id(r, index_path(r.path(ids.empty() ? "shortIds" : "short_id"), i),
                              out->short_id[i]));
  SLUICE_TRY(r.listable("serverNames", &out->server_names));
  SLUICE_TRY(r.duration("max_time_difference", &out->max_time_difference));
  uint32_t ms = 0;
  SLUICE_TRY(r.uint32("maxTimeDiff", &ms));
  if (ms != 0 && out->max_time_difference.count() != 0)
    return ctx.fail(Errc::config_invalid, r.path("maxTimeDiff"),
                    "conflicts with max_time_difference");
  if (ms != 0) out->max_time_difference = std::chrono::milliseconds(ms);
  SLUICE_TRY(alias_string(r, "min_client_version", "minClientVer", &out->min_client_version));
  SLUICE_TRY(check_version(r, "min_client_version", out->min_client_version));
  SLUICE_TRY(alias_string(r, "max_client_version", "maxClientVer", &out->max_client_version));
  SLUICE_TRY(check_version(r, "max_client_version", out->max_client_version));
  if (!out->min_client_version.empty() && !out->max_client_version.empty() &&
      *reality::parse_version(out->min_client_version) >
          *reality::parse_version(out->max_client_version))
    return ctx.fail(Errc::config_invalid, r.path("min_client_version"),
                    "greater than max_client_version");
  SLUICE_TRY(r.reject("mldsa65Seed", "ML-DSA-65 is not supported"));
  SLUICE_TRY(r.reject("xver", "PROXY protocol to the target is not supported"));
  SLUICE_TRY(parse_fallback_limit(r, "limitFallbackUpload", &out->limit_fallback_upload));
  SLUICE_TRY(parse_fallback_limit(r, "limitFallbackDownload", &out->limit_fallback_download));
  for (const char* k : {"show", "masterKeyLog", "type"}) r.ignore(k);
  r.finish();
  if (out->enabled) {
    if (out->handshake_server.empty())
      return ctx.fail(Errc::config_missing_field, r.path("handshake"),
                      "REALITY needs the handshake target (handshake.server or target)");
    if (out->private_key.empty())
      return ctx.fail(Errc::config_missing_field, r.path("private_key"),
                      "REALITY needs the server's private key");
  }
  return {};
}

}  // namespace sluice::config

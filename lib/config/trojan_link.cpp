// config/trojan_link.cpp: trojan:// share links (docs/config.md, "Share links").
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   trojan://<password>@<host>:<port>?<query>#<name>
//
// The password and every value are percent-encoded. The query uses the VLESS
// vocabulary: security (default tls), sni (older: peer), alpn (comma list),
// fp, type (only tcp), ech (bare base64 ECHConfigList), pcs (comma list of
// certificate SHA-256 hex), allowInsecure / insecure (1 or true). Fields a
// raw-TCP Trojan does not use (host, path, headerType, vcn) are ignored.
#include "config/link_common.hpp"
#include "sluice/config.hpp"

namespace sluice {

Result<OutboundOptions> parse_trojan_link(std::string_view link, std::string* why) {
  auto fail = [&](const std::string& w) -> Errc {
    if (why) *why = "trojan link: " + w;
    return Errc::config_invalid;
  };
  std::string error;
  config::ShareLink parts;
  if (!config::split_share_link(link, "trojan://", "password", &parts, &error)) return fail(error);

  OutboundOptions out;
  out.type = OutboundType::trojan;
  TrojanOutboundOptions t;
  t.tls.enabled = true;

  if (!config::percent_decode(parts.user, &t.password) || t.password.empty())
    return fail("bad password");
  if (!config::parse_link_endpoint(parts.host_port, &t.endpoint, &error)) return fail(error);

  const bool ok = config::for_each_link_param(
      parts.query, &error, [&](const std::string& key, const std::string& value) {
        switch (config::apply_link_param(key, value, &t.tls, &error)) {
          case config::LinkParam::applied:
            return true;
          case config::LinkParam::failed:
            return false;
          case config::LinkParam::other:
            break;
        }
        if (key == "security") {
          if (value == "none") {
            error = "security=none: Trojan without TLS is not supported";
          } else if (value == "reality") {
            error = "security=reality is not supported yet";
          } else if (!value.empty() && value != "tls") {
            error = "unknown security \"" + value + "\"";
          } else {
            return true;
          }
          return false;
        }
        if (key == "peer") {
          if (t.tls.server_name.empty()) t.tls.server_name = value;
        }
        // host, path, headerType, vcn, encryption, ...: not used by raw TCP Trojan.
        return true;
      });
  if (!ok) return fail(error);
  config::decode_link_name(parts.fragment, &out.tag);
  out.options = std::move(t);
  return out;
}

}  // namespace sluice

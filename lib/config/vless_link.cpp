// config/vless_link.cpp: vless:// share links (docs/config.md, "Share links").
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   vless://<uuid>@<host>:<port>?<query>#<name>
//
// Values are percent-encoded. Query: encryption (only none/empty), flow
// (xtls-rprx-vision; a -udp443 suffix is stripped), security (none — the
// default —, tls, reality: parsed, then refused until REALITY is built),
// sni, alpn (comma list), fp, type (only tcp/raw), headerType (only none),
// ech (bare base64 ECHConfigList), pcs (comma list of certificate SHA-256
// hex), allowInsecure / insecure, packetEncoding (xudp — the default — or
// none; packet is refused), REALITY's pbk/sid/spx/pqv (checked for shape).
// Transport parameters a raw-TCP VLESS does not use are ignored.
#include "config/link_common.hpp"
#include "proto/base64.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/config.hpp"

namespace sluice {

Result<OutboundOptions> parse_vless_link(std::string_view link, std::string* why) {
  auto fail = [&](const std::string& w) -> Errc {
    if (why) *why = "vless link: " + w;
    return Errc::config_invalid;
  };
  std::string error;
  config::ShareLink parts;
  if (!config::split_share_link(link, "vless://", "uuid", &parts, &error)) return fail(error);

  OutboundOptions out;
  out.type = OutboundType::vless;
  VlessOutboundOptions v;

  if (!config::percent_decode(parts.user, &v.uuid) || v.uuid.empty()) return fail("bad uuid");
  if (!vless::parse_user_id(v.uuid)) return fail("bad uuid \"" + v.uuid + "\"");
  if (!config::parse_link_endpoint(parts.host_port, &v.endpoint, &error)) return fail(error);

  std::string security = "none";
  bool reality_key = false;
  // param handles the VLESS-only keys; false (with |error| set) fails the link.
  auto param = [&](const std::string& key, std::string value) -> bool {
    if (key == "encryption") {
      if (!value.empty() && value != "none") {
        error = "encryption \"" + value + "\" is not supported (only none)";
        return false;
      }
    } else if (key == "flow") {
      constexpr std::string_view kUdp443 = "-udp443";
      if (value.size() > kUdp443.size() &&
          value.compare(value.size() - kUdp443.size(), kUdp443.size(), kUdp443) == 0)
        value.resize(value.size() - kUdp443.size());
      if (!value.empty() && value != vless::kFlowVision) {
        error = "unknown flow \"" + value + "\"";
        return false;
      }
      v.flow = value;
    } else if (key == "security") {
      if (value.empty()) value = "none";
      if (value != "none" && value != "tls" && value != "reality") {
        error = "unknown security \"" + value + "\"";
        return false;
      }
      security = value;
    } else if (key == "headerType") {
      if (!value.empty() && value != "none") {
        error = "headerType \"" + value + "\" is not supported (only none)";
        return false;
      }
    } else if (key == "packetEncoding") {
      if (value == "packet") {
        error = "packetEncoding packet is not supported yet";
        return false;
      }
      if (value == "none" || value.empty()) {
        v.packet_encoding.clear();
      } else if (value == "xudp") {
        v.packet_encoding = value;
      } else {
        error = "unknown packetEncoding \"" + value + "\"";
        return false;
      }
    } else if (key == "pbk") {
      auto k = base64_decode(value, Base64Alphabet::url);
      if (!k || k->size() != 32) {
        error = "pbk: expected a base64url X25519 public key";
        return false;
      }
      reality_key = true;
    } else if (key == "sid") {
      if (value.size() > 16 || !config::is_hex(value)) {
        error = "sid: expected 0-16 hex digits";
        return false;
      }
    }
    // spx, pqv, host, path, serviceName, mode, authority, extra, seed, vcn, fm:
    // not used by raw-TCP VLESS.
    return true;
  };
  const bool ok = config::for_each_link_param(
      parts.query, &error, [&](const std::string& key, const std::string& value) {
        switch (config::apply_link_param(key, value, &v.tls, &error)) {
          case config::LinkParam::applied:
            return true;
          case config::LinkParam::failed:
            return false;
          case config::LinkParam::other:
            break;
        }
        return param(key, value);
      });
  if (!ok) return fail(error);
  if (security == "reality") {
    if (!reality_key) return fail("security=reality needs pbk");
    return fail("security=reality: REALITY not built yet");
  }
  v.tls.enabled = security == "tls";
  if (!v.flow.empty() && !v.tls.enabled)
    return fail("flow xtls-rprx-vision needs security=tls or reality");
  config::decode_link_name(parts.fragment, &out.tag);
  out.options = std::move(v);
  return out;
}

}  // namespace sluice

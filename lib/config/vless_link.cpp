// config/vless_link.cpp: vless:// share links (docs/config.md, "Share
// links"): the VLESS field mapping for parse_share_link.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   vless://<uuid>@<host>:<port>?<query>#<name>
//
// The user part is the id (a UUID or a 1-30 character name). Own keys:
// encryption (only none/empty), flow (xtls-rprx-vision; a -udp443 suffix is
// stripped), headerType (only none), packetEncoding (xudp — the default —
// or none; packet is refused), REALITY's pbk/sid/spx (security=reality;
// pqv is refused). security defaults to none. Transport parameters a raw-TCP
// VLESS does not use are ignored.
#include "config/link_common.hpp"
#include "proto/base64.hpp"
#include "proto/reality/auth.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

class VlessLink final : public config::LinkScheme {
 public:
  VlessLink() : LinkScheme("vless", "uuid") {}

  TlsClientOptions& tls() noexcept override { return v_.tls; }

  bool user(const std::string& value, std::string* error) override {
    if (!vless::parse_user_id(value)) {
      *error = "bad uuid \"" + value + "\"";
      return false;
    }
    v_.uuid = value;
    return true;
  }

  bool param(const std::string& key, const std::string& value, std::string* error) override {
    if (key == "encryption") {
      if (!value.empty() && value != "none") {
        *error = "encryption \"" + value + "\" is not supported (only none)";
        return false;
      }
    } else if (key == "flow") {
      constexpr std::string_view kUdp443 = "-udp443";
      std::string flow = value;
      if (flow.size() > kUdp443.size() &&
          flow.compare(flow.size() - kUdp443.size(), kUdp443.size(), kUdp443) == 0)
        flow.resize(flow.size() - kUdp443.size());
      if (!flow.empty() && flow != vless::kFlowVision) {
        *error = "unknown flow \"" + flow + "\"";
        return false;
      }
      v_.flow = std::move(flow);
    } else if (key == "headerType") {
      if (!value.empty() && value != "none") {
        *error = "headerType \"" + value + "\" is not supported (only none)";
        return false;
      }
    } else if (key == "packetEncoding") {
      if (value == "packet") {
        *error = "packetEncoding packet is not supported yet";
        return false;
      }
      if (value == "none" || value.empty()) {
        v_.packet_encoding.clear();
      } else if (value == "xudp") {
        v_.packet_encoding = value;
      } else {
        *error = "unknown packetEncoding \"" + value + "\"";
        return false;
      }
    } else if (key == "pbk") {
      if (!reality::parse_key(value)) {
        *error = "pbk: expected a base64url X25519 public key";
        return false;
      }
      v_.tls.reality.public_key = value;
    } else if (key == "sid") {
      if (!reality::parse_short_id(value)) {
        *error = "sid: expected 0-16 hex digits, an even number of them";
        return false;
      }
      v_.tls.reality.short_id = value;
    } else if (key == "spx") {
      if (!value.empty() && value[0] != '/') {
        *error = "spx: expected a path starting with /";
        return false;
      }
      v_.tls.reality.spider_x = value;
    } else if (key == "pqv") {
      if (!value.empty()) {
        *error = "pqv: ML-DSA-65 verification is not supported";
        return false;
      }
    }
    // host, path, serviceName, mode, authority, extra, seed, vcn, fm: not
    // used by raw-TCP VLESS.
    return true;
  }

  bool finish(config::LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    if (c.security == config::LinkSecurity::reality) {
      if (v_.tls.reality.public_key.empty()) {
        *error = "security=reality needs pbk";
        return false;
      }
      v_.tls.reality.enabled = true;
    } else if (!v_.tls.reality.public_key.empty() || !v_.tls.reality.short_id.empty() ||
               !v_.tls.reality.spider_x.empty()) {
      v_.tls.reality = {};  // REALITY keys without security=reality: not in effect
    }
    v_.tls.enabled =
        c.security == config::LinkSecurity::tls || c.security == config::LinkSecurity::reality;
    if (!v_.flow.empty() && !v_.tls.enabled) {
      *error = "flow xtls-rprx-vision needs security=tls or reality";
      return false;
    }
    v_.endpoint = std::move(c.endpoint);
    out->type = OutboundType::vless;
    out->options = std::move(v_);
    return true;
  }

 private:
  VlessOutboundOptions v_;
  bool reality_key_ = false;
};

}  // namespace

Result<OutboundOptions> parse_vless_link(std::string_view link, std::string* why) {
  VlessLink scheme;
  return config::parse_share_link(link, scheme, why);
}

}  // namespace sluice

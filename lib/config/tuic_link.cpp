// config/tuic_link.cpp: tuic:// share links (docs/config.md, "Share
// links"): the TUIC field mapping for parse_share_link.
//
//   tuic://<uuid>:<password>@<host>:<port>?<query>#<name>
//
// The user part is "UUID:PASSWORD" (split at the first ':'; a UUID has
// none; the password may be empty). Own keys: congestion_control (cubic,
// new_reno, bbr), udp_relay_mode (native, quic), disable_sni (1/true).
// TLS is always on (QUIC); security=none or reality is refused. The common
// keys (sni, alpn, insecure / allowInsecure, ...) apply to tls as for the
// other schemes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/link_common.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

class TuicLink final : public config::LinkScheme {
 public:
  TuicLink() : LinkScheme("tuic", "uuid:password") { t_.tls.enabled = true; }

  TlsClientOptions& tls() noexcept override { return t_.tls; }

  bool user(const std::string& value, std::string* error) override {
    const size_t colon = value.find(':');
    t_.uuid = value.substr(0, colon);
    if (colon != std::string::npos) t_.password = value.substr(colon + 1);
    if (t_.uuid.size() < 32 || !vless::parse_user_id(t_.uuid)) {
      *error = "expected UUID:PASSWORD before '@', the UUID is not a UUID";
      return false;
    }
    return true;
  }

  bool param(const std::string& key, const std::string& value, std::string* error) override {
    if (key == "congestion_control") {
      if (value != "cubic" && value != "new_reno" && value != "bbr") {
        *error = "congestion_control: expected cubic, new_reno or bbr, got \"" + value + "\"";
        return false;
      }
      t_.congestion_control = value;
    } else if (key == "udp_relay_mode") {
      if (value != "native" && value != "quic") {
        *error = "udp_relay_mode: expected native or quic, got \"" + value + "\"";
        return false;
      }
      t_.udp_relay_mode = value;
    } else if (key == "disable_sni") {
      t_.tls.disable_sni = value == "1" || value == "true";
    }
    return true;
  }

  bool finish(config::LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    if (c.security == config::LinkSecurity::none || c.security == config::LinkSecurity::reality) {
      *error = "security: TUIC always runs over QUIC's TLS 1.3";
      return false;
    }
    t_.endpoint = std::move(c.endpoint);
    out->type = OutboundType::tuic;
    out->options = std::move(t_);
    return true;
  }

 private:
  TuicOutboundOptions t_;
};

}  // namespace

Result<OutboundOptions> parse_tuic_link(std::string_view link, std::string* why) {
  TuicLink scheme;
  return config::parse_share_link(link, scheme, why);
}

}  // namespace sluice

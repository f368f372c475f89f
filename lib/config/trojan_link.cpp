// config/trojan_link.cpp: trojan:// share links (docs/config.md, "Share
// links"): the Trojan field mapping for parse_share_link.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   trojan://<password>@<host>:<port>?<query>#<name>
//
// The user part is the password. security defaults to tls (none and reality
// are refused); the older "peer" names the server when "sni" does not.
// Keys a raw-TCP Trojan does not use (host, path, headerType, vcn, ...) are
// ignored.
#include "config/link_common.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

class TrojanLink final : public config::LinkScheme {
 public:
  TrojanLink() : LinkScheme("trojan", "password") { t_.tls.enabled = true; }

  TlsClientOptions& tls() noexcept override { return t_.tls; }

  bool user(const std::string& value, std::string*) override {
    t_.password = value;
    return true;
  }

  bool param(const std::string& key, const std::string& value, std::string*) override {
    if (key == "peer") peer_ = value;
    return true;
  }

  bool finish(config::LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    if (c.security == config::LinkSecurity::none) {
      *error = "security=none: Trojan without TLS is not supported";
      return false;
    }
    if (c.security == config::LinkSecurity::reality) {
      *error = "security=reality is not supported yet";
      return false;
    }
    if (t_.tls.server_name.empty()) t_.tls.server_name = peer_;
    t_.endpoint = std::move(c.endpoint);
    out->type = OutboundType::trojan;
    out->options = std::move(t_);
    return true;
  }

 private:
  TrojanOutboundOptions t_;
  std::string peer_;
};

}  // namespace

Result<OutboundOptions> parse_trojan_link(std::string_view link, std::string* why) {
  TrojanLink scheme;
  return config::parse_share_link(link, scheme, why);
}

}  // namespace sluice

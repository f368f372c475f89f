// config/hysteria_link.cpp: hysteria:// (v1) share links (docs/config.md,
// "Share links"; the URI scheme of apernet/hysteria 1.x, first introduced
// by Shadowrocket).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   hysteria://<host>:<port>?<query>#<name>
//
// No user part: the auth string is a query key. Keys: protocol (only udp),
// auth (auth_str), peer (SNI; sni wins when both are given), insecure,
// upmbps and downmbps (required, Mbit/s), alpn, obfs (empty or xplus) and
// obfsParam (the XPlus password); the common keys of every scheme apply
// too. Other keys are ignored.
#include <charconv>

#include "config/link_common.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

bool parse_mbps(const std::string& v, uint64_t* bps) {
  uint32_t m = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), m);
  if (ec != std::errc() || p != v.data() + v.size() || m == 0) return false;
  *bps = uint64_t{m} * 125000;  // Mbit/s -> bytes/s
  return true;
}

class HysteriaLink final : public config::LinkScheme {
 public:
  HysteriaLink() : LinkScheme("hysteria", "") { h_.tls.enabled = true; }

  TlsClientOptions& tls() noexcept override { return h_.tls; }

  bool user(const std::string&, std::string*) override { return true; }

  bool param(const std::string& key, const std::string& value, std::string* error) override {
    if (key == "protocol") {
      if (!value.empty() && value != "udp") {
        *error = "protocol \"" + value + "\" is not supported (only udp)";
        return false;
      }
    } else if (key == "auth") {
      h_.auth = value;
    } else if (key == "peer") {
      peer_ = value;
    } else if (key == "upmbps") {
      if (!parse_mbps(value, &h_.up_bps)) {
        *error = "upmbps: expected a whole number of Mbit/s, 1..4294967295";
        return false;
      }
    } else if (key == "downmbps") {
      if (!parse_mbps(value, &h_.down_bps)) {
        *error = "downmbps: expected a whole number of Mbit/s, 1..4294967295";
        return false;
      }
    } else if (key == "obfs") {
      obfs_ = value;
    } else if (key == "obfsParam") {
      h_.obfs = value;
    }
    return true;
  }

  bool finish(config::LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    if (c.security == config::LinkSecurity::none || c.security == config::LinkSecurity::reality) {
      *error = "hysteria always uses QUIC's TLS (no security= other than tls)";
      return false;
    }
    if (h_.up_bps == 0 || h_.down_bps == 0) {
      *error = "upmbps and downmbps are required";
      return false;
    }
    if (!obfs_.empty() && obfs_ != "xplus") {
      *error = "obfs \"" + obfs_ + "\" is not supported (only xplus)";
      return false;
    }
    if (obfs_ == "xplus" && h_.obfs.empty()) {
      *error = "obfs=xplus needs obfsParam (the password)";
      return false;
    }
    if (h_.auth.size() > 0xffff) {
      *error = "auth: at most 65535 bytes";
      return false;
    }
    if (h_.tls.server_name.empty()) h_.tls.server_name = peer_;
    h_.endpoint = std::move(c.endpoint);
    out->type = OutboundType::hysteria;
    out->options = std::move(h_);
    return true;
  }

 private:
  HysteriaOutboundOptions h_;
  std::string peer_;
  std::string obfs_;
};

}  // namespace

Result<OutboundOptions> parse_hysteria_link(std::string_view link, std::string* why) {
  HysteriaLink scheme;
  return config::parse_share_link(link, scheme, why);
}

}  // namespace sluice

// config/hysteria2_link.cpp: hysteria2:// and hy2:// share links
// (docs/config.md, "Share links"; apernet/hysteria's URI scheme).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   hysteria2://<auth>@<host>[:<ports>]/?<query>#<name>
//
// <auth> is the password (or "user:password", sent as is, which the
// official server's userpass auth expects). <ports> is one port (443 when
// absent) or a port-hopping list such as "443,20000-30000": its first port
// becomes server_port and the whole list server_ports. Query keys: obfs
// (salamander), obfs-password, sni, insecure, pinSHA256 (hex SHA-256 of the
// leaf certificate, colons allowed); the common keys of every scheme apply
// too. Other keys are ignored.
#include <cctype>

#include "config/link_common.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

class Hysteria2Link final : public config::LinkScheme {
 public:
  Hysteria2Link() : LinkScheme("hysteria2", "password") { h_.tls.enabled = true; }

  TlsClientOptions& tls() noexcept override { return h_.tls; }

  bool user(const std::string& value, std::string*) override {
    h_.password = value;
    return true;
  }

  bool param(const std::string& key, const std::string& value, std::string* error) override {
    if (key == "obfs") {
      h_.obfs.type = value;
    } else if (key == "obfs-password") {
      h_.obfs.password = value;
    } else if (key == "pinSHA256") {
      std::string hex;
      for (char c : value)
        if (c != ':') hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (hex.size() != 64 || !config::is_hex(hex)) {
        *error = "pinSHA256: expected the hex SHA-256 of the certificate";
        return false;
      }
      h_.tls.certificate_sha256.push_back(hex);
    }
    return true;
  }

  bool finish(config::LinkCommon&& c, OutboundOptions* out, std::string* error) override {
    if (c.security == config::LinkSecurity::none || c.security == config::LinkSecurity::reality) {
      *error = "hysteria2 always uses QUIC's TLS (no security= other than tls)";
      return false;
    }
    if (!h_.obfs.type.empty() && h_.obfs.type != "salamander") {
      *error = "obfs \"" + h_.obfs.type + "\" is not supported (only salamander)";
      return false;
    }
    if (h_.obfs.type == "salamander" && h_.obfs.password.size() < 4) {
      *error = "obfs-password: the salamander password needs at least 4 bytes";
      return false;
    }
    h_.endpoint = std::move(c.endpoint);
    out->type = OutboundType::hysteria2;
    out->options = std::move(h_);
    return true;
  }

  Hysteria2OutboundOptions& options() noexcept { return h_; }

 private:
  Hysteria2OutboundOptions h_;
};

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool parse_port(std::string_view s, unsigned* out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *out = v;
  return true;
}

}  // namespace

Result<OutboundOptions> parse_hysteria2_link(std::string_view link, std::string* why) {
  auto fail = [&](const std::string& e) -> Errc {
    if (why) *why = "hysteria2 link: " + e;
    return Errc::config_invalid;
  };
  std::string_view rest;
  if (starts_with_ci(link, "hysteria2://"))
    rest = link.substr(12);
  else if (starts_with_ci(link, "hy2://"))
    rest = link.substr(6);
  else
    return fail("expected hysteria2:// or hy2://");
  // The authority ends at the first '/', '?' or '#'.
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return fail("missing password@");
  const std::string_view userinfo = authority.substr(0, at);
  std::string_view hostports = authority.substr(at + 1);
  std::string_view host = hostports, ports;
  if (!hostports.empty() && hostports.front() == '[') {
    const size_t close = hostports.find(']');
    if (close == std::string_view::npos) return fail("unclosed [ in the host");
    host = hostports.substr(0, close + 1);
    if (close + 1 < hostports.size()) {
      if (hostports[close + 1] != ':') return fail("expected :port after ]");
      ports = hostports.substr(close + 2);
    }
  } else if (const size_t colon = hostports.rfind(':'); colon != std::string_view::npos) {
    host = hostports.substr(0, colon);
    ports = hostports.substr(colon + 1);
  }
  // Port list: "443", "443,20000-30000" (port hopping).
  std::vector<std::string> ranges;
  unsigned first = 443;
  if (!ports.empty()) {
    bool first_set = false;
    for (const std::string& part : config::split_list(ports, ',')) {
      const size_t dash = part.find('-');
      unsigned a = 0, b = 0;
      if (dash == std::string::npos) {
        if (!parse_port(part, &a)) return fail("bad port \"" + part + "\"");
        ranges.push_back(std::to_string(a));
      } else {
        if (!parse_port(std::string_view(part).substr(0, dash), &a) ||
            !parse_port(std::string_view(part).substr(dash + 1), &b) || a > b)
          return fail("bad port range \"" + part + "\"");
        // Written back in decimal ("004" is port 4), so the list always
        // starts with server_port's text.
        ranges.push_back(std::to_string(a) + ":" + std::to_string(b));
      }
      if (!first_set) {
        first = a;
        first_set = true;
      }
    }
    if (!first_set) return fail("empty port list");
  }
  // Rebuild a plain one-port link for the shared parser.
  std::string plain = "hysteria2://";
  plain.append(userinfo);
  plain += '@';
  plain.append(host);
  plain += ':';
  plain += std::to_string(first);
  plain.append(tail);
  Hysteria2Link scheme;
  auto r = config::parse_share_link(plain, scheme, why);
  if (!r) return r;
  if (ranges.size() > 1 || (ranges.size() == 1 && ranges[0].find(':') != std::string::npos))
    std::get<Hysteria2OutboundOptions>(r->options).server_ports = std::move(ranges);
  return r;
}

}  // namespace sluice

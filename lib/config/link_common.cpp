// config/link_common.cpp: parse_share_link, the share-link parser every
// scheme uses.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/link_common.hpp"

#include <cctype>

#include "crypto/tls_pem.hpp"

namespace sluice::config {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_true(const std::string& v) { return v == "1" || v == "true" || v == "True"; }

}  // namespace

bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::vector<std::string> split_list(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t p = s.find(sep);
    std::string_view part = s.substr(0, p);
    if (!part.empty()) out.emplace_back(part);
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (hex_value(c) < 0) return false;
  return true;
}

namespace {

// ShareLink is a link cut into its raw (still escaped) pieces.
struct ShareLink {
  std::string_view user;       // before the last '@'
  std::string_view host_port;  // host:port or [IPv6]:port
  std::string_view query;      // after '?', without it
  std::string_view fragment;   // after '#', without it
};

// split_share_link checks |scheme| ("vless://", matched case-insensitively)
// and cuts |link| into pieces.
bool split_share_link(std::string_view link, std::string_view scheme, std::string_view user_name,
                      ShareLink* out, std::string* error) {
  bool scheme_ok = link.size() >= scheme.size();
  for (size_t i = 0; scheme_ok && i < scheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(link[i])) == scheme[i];
  if (!scheme_ok) {
    *error = "expected " + std::string(scheme);
    return false;
  }
  link.remove_prefix(scheme.size());

  *out = ShareLink{};
  if (size_t h = link.find('#'); h != std::string_view::npos) {
    out->fragment = link.substr(h + 1);
    link = link.substr(0, h);
  }
  if (size_t q = link.find('?'); q != std::string_view::npos) {
    out->query = link.substr(q + 1);
    link = link.substr(0, q);
  }
  if (!link.empty() && link.back() == '/') link.remove_suffix(1);
  // The authority ends at the first '/' (RFC 3986, as Go's url.Parse reads
  // these links): "pw@host:443/x@evil:1" must not connect to evil:1.
  if (link.find('/') != std::string_view::npos) {
    *error = "unexpected '/' (links carry no path; escape a '/' in the " + std::string(user_name) +
             " as %2F)";
    return false;
  }
  const size_t at = link.rfind('@');
  if (user_name.empty()) {  // no user part in this scheme
    if (at != std::string_view::npos) {
      *error = "unexpected user@ before the host";
      return false;
    }
    out->host_port = link;
    return true;
  }
  if (at == std::string_view::npos) {
    *error = "missing " + std::string(user_name) + "@";
    return false;
  }
  out->user = link.substr(0, at);
  out->host_port = link.substr(at + 1);
  return true;
}

bool parse_link_endpoint(std::string_view host_port, ServerEndpoint* out, std::string* error) {
  auto fail = [&](const char* w) {
    *error = w;
    return false;
  };
  std::string_view host, port;
  if (!host_port.empty() && host_port.front() == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':')
      return fail("bad [IPv6]:port");
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return fail("missing :port");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    // "::1:443" cannot be told from a port: IPv6 needs brackets (RFC 3986).
    if (host.find(':') != std::string_view::npos)
      return fail("an IPv6 address needs brackets: [IPv6]:port");
  }
  if (host.empty()) return fail("missing host");
  unsigned long p = 0;
  if (port.empty() || port.size() > 5) return fail("bad port");
  for (char c : port) {
    if (c < '0' || c > '9') return fail("bad port");
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  if (p == 0 || p > 65535) return fail("bad port");
  out->server = std::string(host);
  out->server_port = static_cast<uint16_t>(p);
  return true;
}

// LinkParam is what apply_link_param did with one query parameter.
enum class LinkParam { other, applied, failed };

// apply_link_param handles the keys every scheme reads the same way, except
// security (parse_share_link reads it); any other key is the scheme's.
LinkParam apply_link_param(const std::string& key, const std::string& value, TlsClientOptions* out,
                           std::string* error) {
  if (key == "sni") {
    out->server_name = value;
  } else if (key == "alpn") {
    out->alpn = split_list(value, ',');
  } else if (key == "fp") {
    out->utls.enabled = !value.empty() && value != "none";
    out->utls.fingerprint = value;
  } else if (key == "type") {
    if (!value.empty() && value != "tcp" && value != "raw") {
      *error = "transport type \"" + value + "\" is not supported (only tcp)";
      return LinkParam::failed;
    }
  } else if (key == "ech") {
    // Xray also allows a DNS query spec here; only the bare list is usable.
    auto bytes = tls::decode_base64(value);
    if (!bytes || bytes->empty()) {
      *error = "ech: expected a base64 ECHConfigList";
      return LinkParam::failed;
    }
    out->ech.enabled = true;
    out->ech.config = tls::encode_pem("ECH CONFIGS", bytes->data(), bytes->size());
  } else if (key == "pcs") {
    out->certificate_sha256 = split_list(value, ',');
  } else if (key == "allowInsecure" || key == "insecure") {
    out->insecure = out->insecure || is_true(value);
  } else {
    return LinkParam::other;
  }
  return LinkParam::applied;
}

LinkSecurity parse_security(const std::string& v, bool* ok) {
  *ok = true;
  if (v.empty()) return LinkSecurity::absent;
  if (v == "none") return LinkSecurity::none;
  if (v == "tls") return LinkSecurity::tls;
  if (v == "reality") return LinkSecurity::reality;
  *ok = false;
  return LinkSecurity::absent;
}

}  // namespace

Result<OutboundOptions> parse_share_link(std::string_view link, LinkScheme& scheme,
                                         std::string* why) {
  std::string error;
  auto fail = [&]() -> Errc {
    if (why) *why = std::string(scheme.name()) + " link: " + error;
    return Errc::config_invalid;
  };
  const std::string prefix = std::string(scheme.name()) + "://";
  ShareLink parts;
  if (!split_share_link(link, prefix, scheme.user_field(), &parts, &error)) return fail();

  LinkCommon common;
  if (!scheme.user_field().empty()) {
    if (!percent_decode(parts.user, &common.user) || common.user.empty()) {
      error = "bad " + std::string(scheme.user_field());
      return fail();
    }
    if (!scheme.user(common.user, &error)) return fail();
  }
  if (!parse_link_endpoint(parts.host_port, &common.endpoint, &error)) return fail();

  for (const std::string& kv : split_list(parts.query, '&')) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    std::string value;
    if (eq != std::string::npos && !percent_decode(std::string_view(kv).substr(eq + 1), &value)) {
      error = "bad escape in " + key;
      return fail();
    }
    if (key == "security") {
      bool ok;
      common.security = parse_security(value, &ok);
      if (!ok) {
        error = "unknown security \"" + value + "\"";
        return fail();
      }
      continue;
    }
    switch (apply_link_param(key, value, &scheme.tls(), &error)) {
      case LinkParam::applied:
        continue;
      case LinkParam::failed:
        return fail();
      case LinkParam::other:
        break;
    }
    if (!scheme.param(key, value, &error)) return fail();
  }

  OutboundOptions out;
  if (!scheme.finish(std::move(common), &out, &error)) return fail();
  if (!percent_decode(parts.fragment, &out.tag)) out.tag = std::string(parts.fragment);
  return out;
}

}  // namespace sluice::config

// config/trojan_link.cpp: trojan:// share links (config.md 5.2).
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
#include <cctype>

#include "crypto/tls_pem.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// percent_decode undoes %XX escapes ('+' stays '+': links are not form data).
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

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    std::string_view part =
        s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start);
    if (!part.empty()) out.emplace_back(part);
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool truthy(const std::string& v) { return v == "1" || v == "true" || v == "True"; }

}  // namespace

Result<OutboundOptions> parse_trojan_link(std::string_view link, std::string* why) {
  auto fail = [&](const std::string& w) -> Errc {
    if (why) *why = "trojan link: " + w;
    return Errc::config_invalid;
  };
  constexpr std::string_view kScheme = "trojan://";
  if (link.size() < kScheme.size()) return fail("expected trojan://");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(link[i])) != kScheme[i])
      return fail("expected trojan://");
  }
  link.remove_prefix(kScheme.size());

  OutboundOptions out;
  out.type = OutboundType::trojan;
  TrojanOutboundOptions t;
  t.tls.enabled = true;

  std::string_view fragment, query;
  if (size_t h = link.find('#'); h != std::string_view::npos) {
    fragment = link.substr(h + 1);
    link = link.substr(0, h);
  }
  if (size_t q = link.find('?'); q != std::string_view::npos) {
    query = link.substr(q + 1);
    link = link.substr(0, q);
  }
  if (!link.empty() && link.back() == '/') link.remove_suffix(1);
  const size_t at = link.rfind('@');
  if (at == std::string_view::npos) return fail("missing password@");
  if (!percent_decode(link.substr(0, at), &t.password) || t.password.empty())
    return fail("bad password");
  std::string_view hostport = link.substr(at + 1);
  std::string_view host, port;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos || close + 1 >= hostport.size() ||
        hostport[close + 1] != ':')
      return fail("bad [IPv6]:port");
    host = hostport.substr(1, close - 1);
    port = hostport.substr(close + 2);
  } else {
    const size_t colon = hostport.rfind(':');
    if (colon == std::string_view::npos) return fail("missing :port");
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty()) return fail("missing host");
  unsigned long p = 0;
  if (port.empty() || port.size() > 5) return fail("bad port");
  for (char c : port) {
    if (c < '0' || c > '9') return fail("bad port");
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  if (p == 0 || p > 65535) return fail("bad port");
  t.endpoint.server = std::string(host);
  t.endpoint.server_port = static_cast<uint16_t>(p);

  for (const std::string& kv : split(query, '&')) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    std::string value;
    if (eq != std::string::npos && !percent_decode(std::string_view(kv).substr(eq + 1), &value))
      return fail("bad escape in " + key);
    if (key == "security") {
      if (value == "none") return fail("security=none: Trojan without TLS is not supported");
      if (value == "reality") return fail("security=reality is not supported yet");
      if (!value.empty() && value != "tls") return fail("unknown security \"" + value + "\"");
    } else if (key == "sni") {
      t.tls.server_name = value;
    } else if (key == "peer") {
      if (t.tls.server_name.empty()) t.tls.server_name = value;
    } else if (key == "alpn") {
      t.tls.alpn = split(value, ',');
    } else if (key == "fp") {
      t.tls.utls.enabled = !value.empty() && value != "none";
      t.tls.utls.fingerprint = value;
    } else if (key == "type") {
      if (!value.empty() && value != "tcp" && value != "raw")
        return fail("transport type \"" + value + "\" is not supported (only tcp)");
    } else if (key == "ech") {
      // Xray also allows a DNS query spec here; only the bare list is usable.
      auto bytes = tls::decode_base64(value);
      if (!bytes || bytes->empty()) return fail("ech: expected a base64 ECHConfigList");
      t.tls.ech.enabled = true;
      t.tls.ech.config = tls::encode_pem("ECH CONFIGS", bytes->data(), bytes->size());
    } else if (key == "pcs") {
      t.tls.certificate_sha256 = split(value, ',');
    } else if (key == "allowInsecure" || key == "insecure") {
      t.tls.insecure = t.tls.insecure || truthy(value);
    }
    // host, path, headerType, vcn, encryption, ...: not used by raw TCP Trojan.
  }
  if (!percent_decode(fragment, &out.tag)) out.tag = std::string(fragment);
  out.options = std::move(t);
  return out;
}

}  // namespace sluice

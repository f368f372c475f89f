// config/vless_link.cpp: vless:// share links (config.md 5.1).
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
#include <cctype>

#include "crypto/tls_pem.hpp"
#include "proto/base64.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// unescape undoes %XX escapes ('+' stays '+': links are not form data).
bool unescape(std::string_view in, std::string* out) {
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

bool is_true(const std::string& v) { return v == "1" || v == "true" || v == "True"; }

bool is_hex(std::string_view s) {
  for (char c : s)
    if (hex_value(c) < 0) return false;
  return true;
}

}  // namespace

Result<OutboundOptions> parse_vless_link(std::string_view link, std::string* why) {
  auto fail = [&](const std::string& w) -> Errc {
    if (why) *why = "vless link: " + w;
    return Errc::config_invalid;
  };
  constexpr std::string_view kScheme = "vless://";
  if (link.size() < kScheme.size()) return fail("expected vless://");
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(link[i])) != kScheme[i])
      return fail("expected vless://");
  }
  link.remove_prefix(kScheme.size());

  OutboundOptions out;
  out.type = OutboundType::vless;
  VlessOutboundOptions v;

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
  if (at == std::string_view::npos) return fail("missing uuid@");
  if (!unescape(link.substr(0, at), &v.uuid) || v.uuid.empty()) return fail("bad uuid");
  if (!vless::parse_user_id(v.uuid)) return fail("bad uuid \"" + v.uuid + "\"");
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
  v.endpoint.server = std::string(host);
  v.endpoint.server_port = static_cast<uint16_t>(p);

  std::string security = "none";
  bool reality_key = false;
  for (const std::string& kv : split_list(query, '&')) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    std::string value;
    if (eq != std::string::npos && !unescape(std::string_view(kv).substr(eq + 1), &value))
      return fail("bad escape in " + key);
    if (key == "encryption") {
      if (!value.empty() && value != "none")
        return fail("encryption \"" + value + "\" is not supported (only none)");
    } else if (key == "flow") {
      constexpr std::string_view kUdp443 = "-udp443";
      if (value.size() > kUdp443.size() &&
          value.compare(value.size() - kUdp443.size(), kUdp443.size(), kUdp443) == 0)
        value.resize(value.size() - kUdp443.size());
      if (!value.empty() && value != vless::kFlowVision)
        return fail("unknown flow \"" + value + "\"");
      v.flow = value;
    } else if (key == "security") {
      if (value.empty()) value = "none";
      if (value != "none" && value != "tls" && value != "reality")
        return fail("unknown security \"" + value + "\"");
      security = value;
    } else if (key == "sni") {
      v.tls.server_name = value;
    } else if (key == "alpn") {
      v.tls.alpn = split_list(value, ',');
    } else if (key == "fp") {
      v.tls.utls.enabled = !value.empty() && value != "none";
      v.tls.utls.fingerprint = value;
    } else if (key == "type") {
      if (!value.empty() && value != "tcp" && value != "raw")
        return fail("transport type \"" + value + "\" is not supported (only tcp)");
    } else if (key == "headerType") {
      if (!value.empty() && value != "none")
        return fail("headerType \"" + value + "\" is not supported (only none)");
    } else if (key == "ech") {
      // Xray also allows a DNS query spec here; only the bare list is usable.
      auto bytes = tls::decode_base64(value);
      if (!bytes || bytes->empty()) return fail("ech: expected a base64 ECHConfigList");
      v.tls.ech.enabled = true;
      v.tls.ech.config = tls::encode_pem("ECH CONFIGS", bytes->data(), bytes->size());
    } else if (key == "pcs") {
      v.tls.certificate_sha256 = split_list(value, ',');
    } else if (key == "allowInsecure" || key == "insecure") {
      v.tls.insecure = v.tls.insecure || is_true(value);
    } else if (key == "packetEncoding") {
      if (value == "packet") return fail("packetEncoding packet is not supported yet");
      if (value == "none" || value.empty()) {
        v.packet_encoding.clear();
      } else if (value == "xudp") {
        v.packet_encoding = value;
      } else {
        return fail("unknown packetEncoding \"" + value + "\"");
      }
    } else if (key == "pbk") {
      auto k = base64_decode(value, Base64Alphabet::url);
      if (!k || k->size() != 32) return fail("pbk: expected a base64url X25519 public key");
      reality_key = true;
    } else if (key == "sid") {
      if (value.size() > 16 || !is_hex(value)) return fail("sid: expected 0-16 hex digits");
    }
    // spx, pqv, host, path, serviceName, mode, authority, extra, seed, vcn, fm:
    // not used by raw-TCP VLESS.
  }
  if (security == "reality") {
    if (!reality_key) return fail("security=reality needs pbk");
    return fail("security=reality: REALITY not built yet");
  }
  v.tls.enabled = security == "tls";
  if (!v.flow.empty() && !v.tls.enabled)
    return fail("flow xtls-rprx-vision needs security=tls or reality");
  if (!unescape(fragment, &out.tag)) out.tag = std::string(fragment);
  out.options = std::move(v);
  return out;
}

}  // namespace sluice

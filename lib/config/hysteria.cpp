// config/hysteria.cpp: the hysteria (v1) outbound and inbound
// (docs/config.md; sing-box's option/hysteria.go names).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <charconv>
#include <limits>

#include "config/fields.hpp"
#include "config/parse.hpp"
#include "proto/base64.hpp"

namespace sluice::config {

namespace {

// The smallest rate the official client and server accept (bytes/s).
constexpr uint64_t kMinRate = 16384;
constexpr uint64_t kMinWindow = 65536;

Status parse_rate(ObjectReader& r, const char* text_key, const char* mbps_key, bool required,
                  uint64_t* out) {
  std::string text;
  SLUICE_TRY(r.string(text_key, &text));
  uint32_t mbps = 0;
  SLUICE_TRY(r.uint32(mbps_key, &mbps));
  if (!text.empty() && mbps != 0)
    return r.ctx().fail(Errc::config_invalid, r.path(text_key),
                        std::string("set either ") + text_key + " or " + mbps_key + ", not both");
  if (!text.empty()) {
    std::string why;
    auto v = parse_hysteria_rate(text, &why);
    if (!v) return r.ctx().fail(Errc::config_invalid, r.path(text_key), why);
    *out = *v;
  } else {
    *out = uint64_t{mbps} * 125000;  // Mbit/s -> bytes/s
  }
  const std::string which = std::string(text_key) + " or " + mbps_key;
  if (*out == 0) {
    if (!required) return {};
    return r.ctx().fail(Errc::config_missing_field, r.path(mbps_key),
                        "required: " + which + " (the rate Brutal runs at)");
  }
  if (*out < kMinRate)
    return r.ctx().fail(Errc::config_invalid, r.path(text.empty() ? mbps_key : text_key),
                        "at least 16384 bytes/s (131 Kbps) for " + which);
  return {};
}

Status parse_window(ObjectReader& r, const char* key, uint64_t* out) {
  const Json* v = r.find(key);
  if (v == nullptr) return {};
  if (!v->is_number_unsigned())
    return r.ctx().fail(v->is_number_integer() ? Errc::config_invalid : Errc::config_wrong_type,
                        r.path(key), "expected a byte count, 0 or at least 65536");
  const uint64_t w = v->get<uint64_t>();
  if (w != 0 && w < kMinWindow)
    return r.ctx().fail(Errc::config_invalid, r.path(key),
                        "at least 65536 bytes (or 0 for the default), got " + std::to_string(w));
  *out = w;
  return {};
}

// parse_auth reads "auth" (base64) and "auth_str" of |r| into raw bytes.
Status parse_auth(ObjectReader& r, std::string* out) {
  std::string b64, str;
  SLUICE_TRY(r.string("auth", &b64));
  SLUICE_TRY(r.string("auth_str", &str));
  if (!b64.empty() && !str.empty())
    return r.ctx().fail(Errc::config_invalid, r.path("auth"),
                        "set either auth (base64) or auth_str, not both");
  if (!b64.empty()) {
    auto d = base64_decode(b64);
    if (!d)
      return r.ctx().fail(Errc::config_invalid, r.path("auth"),
                          "not standard base64 (use auth_str for a plain password)");
    *out = std::move(*d);
  } else {
    *out = std::move(str);
  }
  if (out->size() > 0xffff)
    return r.ctx().fail(Errc::config_invalid, r.path(b64.empty() ? "auth_str" : "auth"),
                        "at most 65535 bytes");
  return {};
}

}  // namespace

Result<uint64_t> parse_hysteria_rate(std::string_view s, std::string* why) {
  auto bad = [&]() -> Result<uint64_t> {
    if (why)
      *why =
          "expected a rate such as \"100 Mbps\" (units bps, Bps, Kbps, KBps, Mbps, MBps, Gbps, "
          "GBps, Tbps, TBps), got \"" +
          std::string(s) + "\"";
    return Errc::config_invalid;
  };
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) return bad();
  std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit.size() < 3 || unit.substr(unit.size() - 2) != "ps") return bad();
  unit.remove_suffix(2);
  const char kind = unit.back();  // 'b' bits, 'B' bytes
  if (kind != 'b' && kind != 'B') return bad();
  unit.remove_suffix(1);
  uint64_t scale = 1;
  if (unit.size() > 1) return bad();
  if (unit.size() == 1) {
    switch (unit[0]) {
      case 'K':
        scale = 1000;
        break;
      case 'M':
        scale = 1000 * 1000;
        break;
      case 'G':
        scale = 1000ull * 1000 * 1000;
        break;
      case 'T':
        scale = 1000ull * 1000 * 1000 * 1000;
        break;
      default:
        return bad();
    }
  }
  if (n > std::numeric_limits<uint64_t>::max() / scale) return bad();
  uint64_t v = n * scale;
  if (kind == 'b') v /= 8;
  return v;
}

Status parse_hysteria_outbound(ObjectReader& r, HysteriaOutboundOptions* o) {
  SLUICE_TRY(parse_hopping_server(r, &o->endpoint, &o->server_ports, &o->hop_interval));
  SLUICE_TRY(parse_rate(r, "up", "up_mbps", true, &o->up_bps));
  SLUICE_TRY(parse_rate(r, "down", "down_mbps", true, &o->down_bps));
  SLUICE_TRY(r.string("obfs", &o->obfs));
  SLUICE_TRY(parse_auth(r, &o->auth));
  SLUICE_TRY(parse_window(r, "recv_window_conn", &o->recv_window_conn));
  SLUICE_TRY(parse_window(r, "recv_window", &o->recv_window));
  SLUICE_TRY(r.boolean("disable_mtu_discovery", &o->disable_mtu_discovery));
  SLUICE_TRY(parse_network(r, &o->network));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled)
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "hysteria runs over QUIC: \"tls\": {\"enabled\": true} is required");
  return {};
}

Status parse_hysteria_inbound(ObjectReader& r, HysteriaInboundOptions* o) {
  SLUICE_TRY(parse_users(r, kHysteriaUserFields, [&](ObjectReader& u) -> Status {
    HysteriaUser user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(parse_auth(u, &user.auth));
    if (user.auth.empty())
      return u.ctx().fail(Errc::config_missing_field, u.path("auth_str"),
                          "required: auth (base64) or auth_str");
    o->users.push_back(std::move(user));
    return {};
  }));
  SLUICE_TRY(parse_rate(r, "up", "up_mbps", false, &o->up_bps));
  SLUICE_TRY(parse_rate(r, "down", "down_mbps", false, &o->down_bps));
  SLUICE_TRY(r.string("obfs", &o->obfs));
  SLUICE_TRY(parse_window(r, "recv_window_conn", &o->recv_window_conn));
  SLUICE_TRY(parse_window(r, "recv_window_client", &o->recv_window_client));
  SLUICE_TRY(r.uint32("max_conn_client", &o->max_conn_client));
  SLUICE_TRY(r.boolean("disable_mtu_discovery", &o->disable_mtu_discovery));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled)
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "hysteria runs over QUIC: \"tls\": {\"enabled\": true, certificate, key} "
                        "is required");
  return {};
}

}  // namespace sluice::config

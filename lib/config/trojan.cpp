// config/trojan.cpp: the trojan outbound (config.md 3.2) and inbound (4.2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"

namespace sluice::config {
namespace {

Status parse_fallback(ObjectReader& r, const Json& j, const std::string& path,
                      TrojanFallback* out) {
  SLUICE_TRY(check_object(r.ctx(), j, path));
  ObjectReader f(r.ctx(), j, path);
  SLUICE_TRY(f.string("server", &out->server, true));
  SLUICE_TRY(f.port("server_port", &out->server_port, true, 1));
  f.finish();
  return {};
}

}  // namespace

Status parse_trojan_outbound(ObjectReader& r, TrojanOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("password", &o->password, true));
  SLUICE_TRY(parse_network(r, &o->network));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  // sing-box allows Trojan in the clear (for a transport that encrypts);
  // sluice has no such transport yet, and plain Trojan exposes the password.
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "trojan needs \"tls\": {\"enabled\": true}");
  }
  SLUICE_TRY(r.reject("multiplex", "multiplex is not supported yet"));
  SLUICE_TRY(r.reject("transport", "v2ray transports are not supported yet"));
  return {};
}

Status parse_trojan_inbound(ObjectReader& r, TrojanInboundOptions* o) {
  const Json* arr;
  SLUICE_TRY(r.array("users", &arr));
  if (arr == nullptr || arr->empty())
    return r.ctx().fail(Errc::config_missing_field, r.path("users"),
                        "at least one user is required");
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string p = index_path(r.path("users"), i);
    SLUICE_TRY(check_object(r.ctx(), (*arr)[i], p));
    ObjectReader u(r.ctx(), (*arr)[i], p);
    TrojanUser user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(u.string("password", &user.password, true));
    u.finish();
    o->users.push_back(std::move(user));
  }
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "trojan needs \"tls\": {\"enabled\": true, certificate, key}");
  }
  const Json* fb;
  SLUICE_TRY(r.object("fallback", &fb));
  if (fb != nullptr) SLUICE_TRY(parse_fallback(r, *fb, r.path("fallback"), &o->fallback));
  SLUICE_TRY(r.object("fallback_for_alpn", &fb));
  if (fb != nullptr) {
    for (auto it = fb->begin(); it != fb->end(); ++it) {
      TrojanFallback f;
      SLUICE_TRY(parse_fallback(r, *it, join_path(r.path("fallback_for_alpn"), it.key()), &f));
      o->fallback_for_alpn.emplace_back(it.key(), std::move(f));
    }
  }
  SLUICE_TRY(r.reject("multiplex", "multiplex is not supported yet"));
  SLUICE_TRY(r.reject("transport", "v2ray transports are not supported yet"));
  return {};
}

}  // namespace sluice::config

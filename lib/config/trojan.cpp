// config/trojan.cpp: the trojan outbound and inbound (docs/config.md).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"

namespace sluice::config {

Status parse_trojan_outbound(ObjectReader& r, TrojanOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("password", &o->password, true));
  SLUICE_TRY(parse_network(r, &o->network));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  SLUICE_TRY(reality_needs_vless(r.ctx(), r.path("tls"), o->tls.reality.enabled));
  // sing-box allows Trojan in the clear (for a transport that encrypts);
  // sluice has no such transport yet, and plain Trojan exposes the password.
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "trojan needs \"tls\": {\"enabled\": true}");
  }
  return reject_multiplex_transport(r);
}

Status parse_trojan_inbound(ObjectReader& r, TrojanInboundOptions* o) {
  SLUICE_TRY(parse_users(r, kTrojanUserFields, [&](ObjectReader& u) -> Status {
    TrojanUser user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(u.string("password", &user.password, true));
    o->users.push_back(std::move(user));
    return {};
  }));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  SLUICE_TRY(reality_needs_vless(r.ctx(), r.path("tls"), o->tls.reality.enabled));
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "trojan needs \"tls\": {\"enabled\": true, certificate, key}");
  }
  SLUICE_TRY(parse_fallbacks(r, &o->fallback, &o->fallback_for_alpn));
  return reject_multiplex_transport(r);
}

}  // namespace sluice::config

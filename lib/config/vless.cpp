// config/vless.cpp: the vless outbound and inbound (docs/config.md).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/user_id.hpp"

namespace sluice::config {
namespace {

Status check_uuid(ConfigCtx& ctx, const std::string& path, const std::string& uuid) {
  if (!vless::parse_user_id(uuid)) {
    return ctx.fail(Errc::config_invalid, path,
                    "expected a UUID or a name of 1-30 characters, got \"" + uuid + "\"");
  }
  return {};
}

Status check_flow(ConfigCtx& ctx, const std::string& path, const std::string& flow) {
  if (flow.empty() || flow == vless::kFlowVision) return {};
  return ctx.fail(Errc::config_invalid, path,
                  "expected \"\" or \"xtls-rprx-vision\", got \"" + flow + "\"");
}

}  // namespace

Status parse_vless_outbound(ObjectReader& r, VlessOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("uuid", &o->uuid, true));
  SLUICE_TRY(check_uuid(r.ctx(), r.path("uuid"), o->uuid));
  SLUICE_TRY(r.string("flow", &o->flow));
  SLUICE_TRY(check_flow(r.ctx(), r.path("flow"), o->flow));
  // Absent means xudp (sing-box's default); an explicit "" means command 0x02.
  o->packet_encoding = "xudp";
  SLUICE_TRY(r.string("packet_encoding", &o->packet_encoding));
  if (o->packet_encoding == "packetaddr") {
    return r.ctx().fail(Errc::config_invalid, r.path("packet_encoding"),
                        "\"packetaddr\" is not supported yet (use \"xudp\" or \"\")");
  }
  if (!o->packet_encoding.empty() && o->packet_encoding != "xudp") {
    return r.ctx().fail(
        Errc::config_invalid, r.path("packet_encoding"),
        "expected \"\", \"xudp\" or \"packetaddr\", got \"" + o->packet_encoding + "\"");
  }
  SLUICE_TRY(parse_network(r, &o->network));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (o->tls.reality.enabled && !o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "REALITY needs \"tls\": {\"enabled\": true}");
  }
  if (!o->flow.empty() && !o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("flow"),
                        "xtls-rprx-vision needs \"tls\": {\"enabled\": true}");
  }
  return reject_multiplex_transport(r);
}

Status parse_vless_inbound(ObjectReader& r, VlessInboundOptions* o) {
  SLUICE_TRY(parse_users(r, kVlessUserFields, [&](ObjectReader& u) -> Status {
    VlessUser user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(u.string("uuid", &user.uuid, true));
    SLUICE_TRY(check_uuid(r.ctx(), u.path("uuid"), user.uuid));
    SLUICE_TRY(u.string("flow", &user.flow));
    SLUICE_TRY(check_flow(r.ctx(), u.path("flow"), user.flow));
    o->users.push_back(std::move(user));
    return {};
  }));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (o->tls.reality.enabled && !o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "REALITY needs \"tls\": {\"enabled\": true}");
  }
  SLUICE_TRY(parse_fallbacks(r, &o->fallback, &o->fallback_for_alpn));
  return reject_multiplex_transport(r);
}

}  // namespace sluice::config

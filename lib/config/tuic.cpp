// config/tuic.cpp: the tuic outbound and inbound (docs/config.md).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"
#include "proto/vless/user_id.hpp"

namespace sluice::config {
namespace {

// TUIC's UUID is a real UUID (sing-box parses it with uuid.FromString);
// VLESS's "any name" form does not apply.
Status check_uuid(ConfigCtx& ctx, const std::string& path, const std::string& uuid) {
  if (uuid.size() < 32 || !vless::parse_user_id(uuid)) {
    return ctx.fail(Errc::config_invalid, path, "expected a UUID, got \"" + uuid + "\"");
  }
  return {};
}

Status check_cc(ObjectReader& r, const std::string& cc) {
  if (cc == "cubic" || cc == "new_reno" || cc == "bbr") return {};
  return r.ctx().fail(Errc::config_invalid, r.path("congestion_control"),
                      "expected \"cubic\", \"new_reno\" or \"bbr\", got \"" + cc + "\"");
}

}  // namespace

Status parse_tuic_outbound(ObjectReader& r, TuicOutboundOptions* o) {
  SLUICE_TRY(parse_server(r, &o->endpoint));
  SLUICE_TRY(r.string("uuid", &o->uuid, true));
  SLUICE_TRY(check_uuid(r.ctx(), r.path("uuid"), o->uuid));
  SLUICE_TRY(r.string("password", &o->password));
  SLUICE_TRY(r.string("congestion_control", &o->congestion_control));
  if (o->congestion_control.empty()) o->congestion_control = "cubic";
  SLUICE_TRY(check_cc(r, o->congestion_control));
  SLUICE_TRY(r.string("udp_relay_mode", &o->udp_relay_mode));
  if (o->udp_relay_mode.empty()) o->udp_relay_mode = "native";
  if (o->udp_relay_mode != "native" && o->udp_relay_mode != "quic") {
    return r.ctx().fail(Errc::config_invalid, r.path("udp_relay_mode"),
                        "expected \"native\" or \"quic\", got \"" + o->udp_relay_mode + "\"");
  }
  SLUICE_TRY(r.boolean("udp_over_stream", &o->udp_over_stream));
  if (o->udp_over_stream) {
    return r.ctx().fail(Errc::config_invalid, r.path("udp_over_stream"),
                        "sing-box's UDP over stream is not supported (use udp_relay_mode)");
  }
  SLUICE_TRY(r.boolean("zero_rtt_handshake", &o->zero_rtt_handshake));
  SLUICE_TRY(r.duration("heartbeat", &o->heartbeat));
  SLUICE_TRY(parse_network(r, &o->network));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_client(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "tuic needs \"tls\": {\"enabled\": true} (QUIC is TLS 1.3)");
  }
  return {};
}

Status parse_tuic_inbound(ObjectReader& r, TuicInboundOptions* o) {
  SLUICE_TRY(parse_users(r, kTuicUserFields, [&](ObjectReader& u) -> Status {
    TuicUser user;
    SLUICE_TRY(u.string("name", &user.name));
    SLUICE_TRY(u.string("uuid", &user.uuid, true));
    SLUICE_TRY(check_uuid(r.ctx(), u.path("uuid"), user.uuid));
    SLUICE_TRY(u.string("password", &user.password));
    o->users.push_back(std::move(user));
    return {};
  }));
  SLUICE_TRY(r.string("congestion_control", &o->congestion_control));
  if (o->congestion_control.empty()) o->congestion_control = "cubic";
  SLUICE_TRY(check_cc(r, o->congestion_control));
  SLUICE_TRY(r.duration("auth_timeout", &o->auth_timeout));
  SLUICE_TRY(r.boolean("zero_rtt_handshake", &o->zero_rtt_handshake));
  SLUICE_TRY(r.duration("heartbeat", &o->heartbeat));
  const Json* tls;
  SLUICE_TRY(r.object("tls", &tls));
  if (tls != nullptr) SLUICE_TRY(parse_tls_server(r.ctx(), *tls, r.path("tls"), &o->tls));
  if (!o->tls.enabled) {
    return r.ctx().fail(Errc::config_invalid, r.path("tls"),
                        "tuic needs \"tls\": {\"enabled\": true, certificate, key, alpn}");
  }
  return {};
}

}  // namespace sluice::config

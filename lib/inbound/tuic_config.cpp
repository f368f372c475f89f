// inbound/tuic_config.cpp: config -> TuicSession / TuicInbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/tuic_config.hpp"

#include <chrono>

#include "core/file.hpp"
#include "proto/vless/user_id.hpp"

namespace sluice {
namespace {

uint64_t ms(Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

bool parse_cc(const std::string& s, quic::CongestionControl* out) {
  if (s.empty() || s == "cubic") {
    *out = quic::CongestionControl::cubic;
  } else if (s == "new_reno") {
    *out = quic::CongestionControl::reno;
  } else if (s == "bbr") {
    *out = quic::CongestionControl::bbr;
  } else {
    return false;
  }
  return true;
}

bool parse_uuid(const std::string& s, tuic::Uuid* out) {
  if (s.size() < 32) return false;
  auto id = vless::parse_user_id(s);
  if (!id) return false;
  *out = *id;
  return true;
}

std::vector<std::string> alpn_or_h3(const std::vector<std::string>& a) {
  return a.empty() ? std::vector<std::string>{"h3"} : a;
}

bool client_tls(const TlsClientOptions& t, quic::QuicTlsOptions* q, std::string* why) {
  if (t.utls.enabled) {
    *why = "tls.utls: uTLS does not apply to QUIC";
    return false;
  }
  if (t.disable_sni) {
    *why = "tls.disable_sni is not supported for tuic";
    return false;
  }
  if (t.ech.enabled) {
    *why = "tls.ech is not supported for tuic yet";
    return false;
  }
  q->server = false;
  q->alpn = alpn_or_h3(t.alpn);
  q->server_name = t.server_name;
  q->verify_peer = !t.insecure;
  q->ca_pem = t.certificate;
  q->ca_file = t.certificate_path;
  q->spki_pins_b64 = t.certificate_public_key_sha256;
  q->cert_pins_hex = t.certificate_sha256;
  return true;
}

bool server_tls(const TlsServerOptions& t, quic::QuicTlsOptions* q, std::string* why) {
  q->server = true;
  q->alpn = alpn_or_h3(t.alpn);
  q->cert_pem = t.certificate.certificate;
  q->key_pem = t.certificate.key;
  if (q->cert_pem.empty() && !t.certificate.certificate_path.empty() &&
      !read_file(t.certificate.certificate_path, &q->cert_pem)) {
    *why = "tls.certificate_path: cannot read " + t.certificate.certificate_path;
    return false;
  }
  if (q->key_pem.empty() && !t.certificate.key_path.empty() &&
      !read_file(t.certificate.key_path, &q->key_pem)) {
    *why = "tls.key_path: cannot read " + t.certificate.key_path;
    return false;
  }
  if (q->cert_pem.empty() || q->key_pem.empty()) {
    *why = "tls: a certificate and a key are required";
    return false;
  }
  if (!t.sni_certificates.empty()) {
    *why = "tls.sni_certificates is not supported for tuic";
    return false;
  }
  if (t.ech.enabled) {
    q->ech_keys_pem = t.ech.key;
    if (q->ech_keys_pem.empty() && !t.ech.key_path.empty() &&
        !read_file(t.ech.key_path, &q->ech_keys_pem)) {
      *why = "tls.ech.key_path: cannot read " + t.ech.key_path;
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Session>> make_tuic_session(Engine& e, const OutboundOptions& o,
                                                   std::string* why) {
  const auto& to = std::get<TuicOutboundOptions>(o.options);
  TuicSessionOptions s;
  s.server = to.endpoint.server;
  s.server_port = to.endpoint.server_port;
  if (!parse_uuid(to.uuid, &s.uuid)) {
    *why = "uuid: expected a UUID";
    return Errc::config_invalid;
  }
  s.password = to.password;
  if (!parse_cc(to.congestion_control, &s.congestion_control)) {
    *why = "congestion_control: expected cubic, new_reno or bbr";
    return Errc::config_invalid;
  }
  if (to.udp_relay_mode == "quic") {
    s.udp_relay_mode = tuic::RelayMode::quic;
  } else if (to.udp_relay_mode.empty() || to.udp_relay_mode == "native") {
    s.udp_relay_mode = tuic::RelayMode::native;
  } else {
    *why = "udp_relay_mode: expected native or quic";
    return Errc::config_invalid;
  }
  s.zero_rtt = to.zero_rtt_handshake;
  s.heartbeat_ms = ms(to.heartbeat);
  s.tcp = to.network.tcp;
  s.udp = to.network.udp;
  const uint64_t ct = ms(o.dial.connect_timeout);
  if (ct > 0) s.connect_timeout_ms = ct;
  if (!client_tls(to.tls, &s.tls, why)) return Errc::config_invalid;
  auto r = TuicSession::create(e, o.tag, s, why);
  if (!r) return r.error();
  return std::unique_ptr<Session>(std::move(*r));
}

Result<std::unique_ptr<TuicInbound>> make_tuic_inbound(Engine& e, const InboundOptions& in,
                                                       Router* router, std::string* why) {
  const auto& ti = std::get<TuicInboundOptions>(in.options);
  TuicInboundConfig c;
  c.tag = in.tag;
  c.listen = in.listen.listen;
  c.port = in.listen.listen_port;
  for (const TuicUser& u : ti.users) {
    tuic::Uuid id{};
    if (!parse_uuid(u.uuid, &id)) {
      *why = "user " + u.name + ": uuid: expected a UUID";
      return Errc::config_invalid;
    }
    c.users.push_back(TuicServerUser{u.name, id, u.password});
  }
  if (!parse_cc(ti.congestion_control, &c.congestion_control)) {
    *why = "congestion_control: expected cubic, new_reno or bbr";
    return Errc::config_invalid;
  }
  c.auth_timeout_ms = std::max<uint64_t>(1, ms(ti.auth_timeout));
  c.udp_timeout_ms = std::max<uint64_t>(1, ms(in.listen.udp_timeout));
  c.limits = {in.listen.max_connections, in.listen.max_connections_per_ip};
  if (!server_tls(ti.tls, &c.tls, why)) return Errc::config_invalid;
  c.tls.enable_early_data = ti.zero_rtt_handshake;
  return TuicInbound::create(e, c, router, why);
}

}  // namespace sluice

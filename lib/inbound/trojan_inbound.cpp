// trojan_inbound.cpp: the Trojan server, trojan::ServerCore on the
// ServerDriver (TLS, the request, then a Relay to the target, a
// DatagramRelay, or the fallback server).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/trojan_inbound.hpp"

#include <new>

namespace sluice {

namespace {

ServerDriverOptions make_driver_options(const TrojanInboundConfig& o) {
  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "trojan";
  d.handshake_timeout_ms = o.handshake_timeout_ms;  // TLS and the request header
  d.deadline_covers_open = true;
  d.fallback = o.fallback;
  d.fallback_for_alpn = o.fallback_for_alpn;
  d.fallback_dial = o.fallback_dial;
  d.relay = o.relay;
  d.udp.idle_timeout_ms = o.udp_timeout_ms;
  d.udp.write_queue = o.udp_write_queue;
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  return d;
}

}  // namespace

TrojanInbound::TrojanInbound(Engine& e, const TrojanInboundConfig& o, ServerDriverOptions d,
                             Router* r)
    : ServerDriver(e, std::move(d), r), opts_(o) {}

TrojanInbound::~TrojanInbound() = default;

Result<std::unique_ptr<TrojanInbound>> TrojanInbound::create(Engine& e,
                                                             const TrojanInboundConfig& o,
                                                             Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  std::string why;
  auto ctx = tls::TlsServerContext::create(o.tls, &why);
  if (!ctx) {
    if (reason) *reason = "tls: " + why;
    return ctx.error();
  }
  ServerDriverOptions d = make_driver_options(o);
  d.tls = *ctx;
  std::unique_ptr<TrojanInbound> in(new (std::nothrow) TrojanInbound(e, o, std::move(d), router));
  if (!in) return Errc::no_memory;
  in->ctx_ = std::move(*ctx);
  for (const TrojanUser& u : o.users) in->users_.add(u.name, u.password);
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

std::unique_ptr<ServerCore> TrojanInbound::make_core(TlsTransport*) {
  return std::unique_ptr<ServerCore>(new (std::nothrow) trojan::ServerCore(users_));
}

void TrojanInbound::on_event(DriverEvent ev, const ServerDecision* d,
                             const DatagramRelayResult* r) {
  switch (ev) {
    case DriverEvent::accepted:
      stats_.accepted++;
      break;
    case DriverEvent::tls_failed:
      stats_.tls_failures++;
      break;
    case DriverEvent::refused:
      if (d && d->cause == RefusalCause::auth) stats_.auth_failures++;
      break;
    case DriverEvent::fallback:
      stats_.fallbacks++;
      break;
    case DriverEvent::opened:
      stats_.relayed++;
      break;
    case DriverEvent::open_failed:
      stats_.open_failures++;
      break;
    case DriverEvent::datagram:
      stats_.udp_associations++;
      break;
    case DriverEvent::datagram_end:
      if (r && r->malformed) stats_.udp_malformed++;
      break;
    case DriverEvent::timed_out:
      break;
  }
}

}  // namespace sluice

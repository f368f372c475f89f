// inbound/tuic_inbound.cpp: the TUIC v5 server on the one ServerDriver.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/tuic_inbound.hpp"

#include <new>

#include "proto/tuic/connect_core.hpp"
#include "session/tuic_packets.hpp"

namespace sluice {

TuicInbound::TuicInbound(Engine& e, ServerDriverOptions d, Router* r)
    : ServerDriver(e, std::move(d), r) {}

TuicInbound::~TuicInbound() = default;

Result<std::unique_ptr<TuicInbound>> TuicInbound::create(Engine& e, const TuicInboundConfig& o,
                                                         Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  if (o.users.empty()) {
    if (reason) *reason = "no users";
    return Errc::config_invalid;
  }
  quic::QuicTlsOptions t = o.tls;
  t.server = true;
  if (t.alpn.empty()) {
    if (reason) *reason = "tls.alpn: TUIC over QUIC needs an ALPN (usually \"h3\")";
    return Errc::config_invalid;
  }
  std::string why;
  auto ctx = quic::QuicTlsContext::create(t, &why);
  if (!ctx) {
    if (reason) *reason = "tls: " + why;
    return ctx.error();
  }
  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "tuic";
  d.handshake_timeout_ms = o.header_timeout_ms;
  d.deadline_covers_open = true;
  d.relay = o.relay;
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  std::unique_ptr<TuicInbound> in(new (std::nothrow) TuicInbound(e, std::move(d), router));
  if (!in) return Errc::no_memory;
  quic::EndpointOptions eo = tuic::endpoint_options(o.congestion_control, o.idle_timeout_ms);
  eo.bind_host = o.listen;
  eo.bind_port = o.port;
  TuicSourceOptions so;
  so.tag = o.tag;
  so.log_prefix = in->log_prefix();
  so.users = o.users;
  so.auth_timeout_ms = o.auth_timeout_ms;
  so.udp_timeout_ms = o.udp_timeout_ms;
  so.max_udp_associations = o.max_udp_associations;
  auto src = TuicSource::create(e, eo, std::shared_ptr<quic::QuicTlsContext>(std::move(*ctx)),
                                std::move(so), router, in->sink(), in.get());
  if (!src) {
    if (reason) *reason = std::string("listen: ") + errc_message(src.error());
    return src.error();
  }
  in->source_ = src->get();
  in->add_source(std::move(*src));
  return in;
}

std::unique_ptr<ServerCore> TuicInbound::make_core(TlsTransport*) {
  return std::unique_ptr<ServerCore>(new (std::nothrow) tuic::ConnectCore());
}

void TuicInbound::on_event(DriverEvent ev, const ServerDecision*, const DatagramRelayResult*) {
  switch (ev) {
    case DriverEvent::opened:
      opened_++;
      break;
    case DriverEvent::open_failed:
      open_failed_++;
      break;
    case DriverEvent::refused:
      refused_++;
      break;
    default:
      break;
  }
}

}  // namespace sluice

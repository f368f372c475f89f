// proxy_inbound.cpp: the SOCKS5 / HTTP / mixed server, its cores on the
// ServerDriver (a Relay per stream, a DatagramRelay over a UDP socket per
// SOCKS5 UDP ASSOCIATE).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/proxy_inbound.hpp"

#include <new>

#include "proto/http_connect/proxy_core.hpp"
#include "proto/socks5/server_core.hpp"

namespace sluice {

namespace {

ServerDriverOptions make_driver_options(const ProxyInboundOptions& o) {
  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "inbound";
  d.handshake_timeout_ms = o.handshake_timeout_ms;
  d.deadline_covers_open = true;
  d.relay = o.relay;
  d.udp_bind_host = o.listen;
  d.udp.idle_timeout_ms = o.udp_timeout_ms;
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  return d;
}

}  // namespace

ProxyInbound::ProxyInbound(Engine& e, const ProxyInboundOptions& o, ServerDriverOptions d,
                           Router* r)
    : ServerDriver(e, std::move(d), r), opts_(o) {}

ProxyInbound::~ProxyInbound() = default;

Result<std::unique_ptr<ProxyInbound>> ProxyInbound::create(Engine& e, const ProxyInboundOptions& o,
                                                           Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  std::unique_ptr<ProxyInbound> in(new (std::nothrow)
                                       ProxyInbound(e, o, make_driver_options(o), router));
  if (!in) return Errc::no_memory;
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

std::unique_ptr<ServerCore> ProxyInbound::make_core(TlsTransport*) {
  std::span<const UserPass> users(opts_.users);
  switch (opts_.kind) {
    case ProxyKind::socks:
      return std::unique_ptr<ServerCore>(new (std::nothrow) socks5::ServerCore(users, opts_.udp));
    case ProxyKind::http:
      return std::unique_ptr<ServerCore>(new (std::nothrow) http::ProxyServerCore(users));
    case ProxyKind::mixed:
      break;
  }
  return std::unique_ptr<ServerCore>(new (std::nothrow) http::MixedServerCore(users, opts_.udp));
}

void ProxyInbound::on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult*) {
  switch (ev) {
    case DriverEvent::accepted:
      stats_.accepted++;
      break;
    case DriverEvent::refused:
      // An early end of stream is not counted; everything else that ends a
      // handshake is.
      if (d && d->cause != RefusalCause::closed && d->cause != RefusalCause::truncated)
        stats_.handshake_failures++;
      if (d && d->cause == RefusalCause::auth) stats_.auth_failures++;
      break;
    case DriverEvent::timed_out:
      stats_.handshake_failures++;
      break;
    case DriverEvent::opened:
      stats_.relayed++;
      break;
    case DriverEvent::open_failed:
      // A UDP association that cannot start is a failed handshake.
      if (d && d->kind == ServerDecision::datagram)
        stats_.handshake_failures++;
      else
        stats_.open_failures++;
      break;
    case DriverEvent::datagram:
      stats_.udp_associations++;
      break;
    case DriverEvent::tls_failed:
    case DriverEvent::fallback:
    case DriverEvent::datagram_end:
      break;
  }
}

}  // namespace sluice

// inbound/tuic_inbound.hpp: TuicInbound, the TUIC v5 server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A ServerDriver running tuic::ConnectCore on the Connect streams of a
// TuicSource (inbound/tuic_source.hpp), which owns the QUIC endpoint,
// authenticates each connection (users: UUID -> password, token from the
// TLS exporter), holds what arrives before authentication and relays the
// UDP associations. The driver opens each Connect's target through the
// Router and relays it; it has no TLS layer of its own (QUIC's) and no
// fallback (docs/protocols/tuic.md).
//
// Ownership and closing as every ServerDriver: close() closes the source
// (the endpoint and its connections) and the streams still in their header;
// exactly one callback. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inbound/server_driver.hpp"
#include "inbound/tuic_source.hpp"
#include "quic/connection.hpp"
#include "quic/quic_tls.hpp"

namespace sluice {

struct TuicInboundConfig {
  std::string tag;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  std::vector<TuicServerUser> users;
  // tls: server certificate and key (PEM contents), ALPN (required: QUIC
  // needs one; TUIC deployments use "h3"), enable_early_data (0-RTT, off by
  // default: replayable, docs/protocols/tuic.md).
  quic::QuicTlsOptions tls;
  quic::CongestionControl congestion_control = quic::CongestionControl::cubic;
  uint64_t auth_timeout_ms = 3000;
  // header_timeout_ms: a Connect stream's header must arrive within this
  // after the stream reaches the driver (tuic-server's task_negotiation_timeout).
  uint64_t header_timeout_ms = 3000;
  uint64_t udp_timeout_ms = 5 * 60 * 1000;
  size_t max_udp_associations = 128;
  uint64_t idle_timeout_ms = 30000;  // QUIC max_idle_timeout
  RelayOptions relay;
  // limits: max_connections and max_connections_per_ip (0 = none), counted
  // per QUIC connection (a connection's streams are its flows).
  ConnectionLimit::Options limits;
};

class TuicInbound final : public ServerDriver {
 public:
  static Result<std::unique_ptr<TuicInbound>> create(Engine& e, const TuicInboundConfig& o,
                                                     Router* router, std::string* reason);
  ~TuicInbound() override;

  TuicSource& source() noexcept { return *source_; }
  const TuicSourceStats& stats() const noexcept { return source_->stats(); }
  uint64_t connects_opened() const noexcept { return opened_; }
  uint64_t connects_failed() const noexcept { return open_failed_; }
  uint64_t connects_refused() const noexcept { return refused_; }

 private:
  TuicInbound(Engine& e, ServerDriverOptions d, Router* r);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;

  TuicSource* source_ = nullptr;  // owned by the driver (add_source)
  uint64_t opened_ = 0;
  uint64_t open_failed_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace sluice

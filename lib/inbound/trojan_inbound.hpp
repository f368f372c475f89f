// trojan_inbound.hpp: TrojanInbound, the Trojan server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A ServerDriver running trojan::ServerCore over TLS on a TCP listener.
// Each accepted connection is a TLS server (TlsTransport). After the
// handshake the first plaintext must be a Trojan request (lib/proto/trojan)
// whose password hash belongs to a configured user; the request's target is
// then opened through the Router's Session and relayed. Anything else (an
// HTTP request from a prober, a wrong password, a malformed header) goes,
// unchanged and including every byte already read, to the fallback server
// (sing-box `fallback`, or per negotiated ALPN `fallback_for_alpn`), as
// trojan-gfw's remote_addr does, so a prober sees an ordinary web server.
// Without a fallback such connections are closed.
//
// A UDP ASSOCIATE request opens a DatagramFlow through the Router's
// Session; the TLS stream then carries framed datagrams both ways (to the
// flow, and back from any source) until either end closes or nothing moves
// for udp_timeout_ms. A malformed or truncated frame closes that connection
// only (counted in udp_malformed). Replies are dropped, not queued, while
// the TLS write queue holds more than udp_write_queue bytes.
//
// Ownership and closing as ProxyInbound: close() stops listening and closes
// connections not yet handed to a Relay; exactly one callback.
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/tls_context.hpp"
#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "net/dialer.hpp"
#include "net/tcp_listener.hpp"
#include "proto/trojan/server.hpp"
#include "session/relay.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"

namespace sluice {

struct TrojanInboundConfig {
  std::string tag;
  // limits: max_connections and max_connections_per_ip (0 = none).
  ConnectionLimit::Options limits;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  std::vector<TrojanUser> users;
  TlsServerOptions tls;
  TrojanFallback fallback;
  std::vector<std::pair<std::string, TrojanFallback>> fallback_for_alpn;
  // handshake_timeout_ms bounds the TLS handshake plus the request header.
  uint64_t handshake_timeout_ms = 10000;
  // udp_timeout_ms ends a UDP association idle that long (sing-box udp_timeout).
  uint64_t udp_timeout_ms = 5 * 60 * 1000;
  size_t udp_write_queue = 1024 * 1024;
  net::ListenOptions listen_opts;
  net::DialOptions fallback_dial;
  RelayOptions relay;
};

struct TrojanInboundStats {
  uint64_t accepted = 0;
  uint64_t relayed = 0;
  uint64_t fallbacks = 0;
  uint64_t tls_failures = 0;
  uint64_t auth_failures = 0;  // well-formed header, unknown password
  uint64_t open_failures = 0;
  uint64_t udp_associations = 0;
  uint64_t udp_malformed = 0;  // associations closed for a bad frame
};

class TrojanInbound final : public ServerDriver {
 public:
  static Result<std::unique_ptr<TrojanInbound>> create(Engine& e, const TrojanInboundConfig& o,
                                                       Router* router, std::string* reason);
  ~TrojanInbound() override;

  const TrojanInboundStats& stats() const noexcept { return stats_; }
  tls::TlsServerContext& tls_context() noexcept { return *ctx_; }

 private:
  TrojanInbound(Engine& e, const TrojanInboundConfig& o, ServerDriverOptions d, Router* r);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;

  TrojanInboundConfig opts_;
  std::shared_ptr<tls::TlsServerContext> ctx_;
  trojan::TrojanUsers users_;
  TrojanInboundStats stats_;
};

}  // namespace sluice

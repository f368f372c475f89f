// proxy_inbound.hpp: ProxyInbound, the local SOCKS5 / HTTP proxy / mixed listener.
//
// Each accepted connection runs the sans-I/O handshake of its protocol
// (lib/proto/socks5, lib/proto/http_connect; `mixed` looks at the first byte:
// 0x05 is SOCKS5, anything else HTTP), asks the Router for a Session, opens a
// Stream through it and hands both to a Relay. SOCKS5 UDP ASSOCIATE binds a
// UDP port on the listen address and carries datagrams through the Session's
// DatagramFlow for as long as the TCP control connection lives.
//
// Ownership: created and owned by the host (unique_ptr). close() stops
// listening and closes every connection still in its handshake (relayed
// ones belong to their Relays); exactly one callback. The Engine calls it at
// stop. The owner deletes the inbound only after the close callback.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "net/tcp_listener.hpp"
#include "session/relay.hpp"
#include "sluice/engine.hpp"

namespace sluice {

enum class ProxyKind { socks, http, mixed };

using ProxyUser = UserPass;  // username, password

struct ProxyInboundOptions {
  ProxyKind kind = ProxyKind::mixed;
  std::string tag;
  // limits: max_connections and max_connections_per_ip (0 = none).
  ConnectionLimit::Options limits;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;             // 0 = ephemeral (see port())
  std::vector<ProxyUser> users;  // empty = no authentication
  bool udp = true;               // allow SOCKS5 UDP ASSOCIATE
  // udp_timeout_ms ends a SOCKS5 UDP association (and its control
  // connection) after this long without a datagram either way (sing-box
  // udp_timeout); 0 = only when the control connection closes.
  uint64_t udp_timeout_ms = 5 * 60 * 1000;
  uint64_t handshake_timeout_ms = 10000;
  net::ListenOptions listen_opts;
  RelayOptions relay;
};

// ProxyInboundStats count connections by outcome.
struct ProxyInboundStats {
  uint64_t accepted = 0;
  uint64_t relayed = 0;
  uint64_t udp_associations = 0;
  uint64_t handshake_failures = 0;
  uint64_t auth_failures = 0;
  uint64_t open_failures = 0;
};

class ProxyInbound final : public ServerDriver {
 public:
  static Result<std::unique_ptr<ProxyInbound>> create(Engine& e, const ProxyInboundOptions& o,
                                                      Router* router, std::string* reason);
  ~ProxyInbound() override;

  const ProxyInboundStats& stats() const noexcept { return stats_; }

 private:
  ProxyInbound(Engine& e, const ProxyInboundOptions& o, ServerDriverOptions d, Router* r);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;

  ProxyInboundOptions opts_;
  ProxyInboundStats stats_;
};

}  // namespace sluice

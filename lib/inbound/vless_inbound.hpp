// vless_inbound.hpp: VlessInbound, the VLESS server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// vless::ServerCore on the ServerDriver (which does the deadline, Router,
// fallback, Relay and DatagramRelay); this class adds the response header
// and Vision at the hand-over, the datagram framings and the counters.
// Each accepted connection is a TLS server (TlsTransport), or plain TCP
// when TLS is disabled (security "none"). The first plaintext must be a
// VLESS request (lib/proto/vless), read under a deadline (header_timeout_ms,
// Xray's 4 s, after the TLS handshake's own timeout):
//
//   * not VLESS (version byte not 0) or an unknown user id: the connection
//     goes, unchanged and with every byte already read, to the fallback
//     server (per negotiated ALPN, else the default one), as Xray's
//     fallbacks do; without a fallback it is closed;
//   * a known user but a malformed rest of the header (addons, command,
//     address): closed, with the specific error counted in stats();
//   * flow rules (vless.md section 5, Xray's): a request flow other than ""
//     or the user's flow is refused; a Vision user's TCP or Mux request
//     without flow is refused; Vision needs the outer TLS to be 1.3 and
//     does not carry UDP 0x02; reverse proxy (0x04) is refused;
//   * Vision (flow xtls-rprx-vision, TCP or XUDP): the connection is handed
//     to a VisionStream (padding, direct copy per direction);
//   * TCP (0x01): the target is opened through the Router's Session and
//     relayed; the response header `00 00` leaves with the first reply byte;
//   * UDP (0x02): a DatagramFlow from the Router's Session carries
//     LEN(2) ‖ payload datagrams to the header's target and back, until the
//     client ends the stream or udp_idle_timeout_ms passes without traffic;
//   * Mux (0x03): XUDP, Mux.Cool frames on session 0 carrying UDP to any
//     destination (New, then Keep with or without an address); replies name
//     their source; End, an error flag or a frame with metadata length < 4
//     ends the stream. Mux sessions other than 0, and TCP in Mux, are
//     refused with the stream.
//
// Ownership and closing as TrojanInbound. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/tls_context.hpp"
#include "inbound/reality_source.hpp"
#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "net/dialer.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/server.hpp"
#include "proto/vless/user_id.hpp"
#include "session/relay.hpp"
#include "session/vless_vision_stream.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"

namespace sluice {

using VlessInboundUser = vless::ServerUser;  // name, id, flow

struct VlessInboundConfig {
  std::string tag;
  // limits: max_connections and max_connections_per_ip (0 = none).
  ConnectionLimit::Options limits;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  std::vector<VlessInboundUser> users;
  TlsServerOptions tls;  // enabled = false: plain TCP
  VlessFallback fallback;
  std::vector<std::pair<std::string, VlessFallback>> fallback_for_alpn;
  uint64_t handshake_timeout_ms = 10000;  // the TLS handshake
  uint64_t header_timeout_ms = 4000;      // then the request header
  uint64_t udp_idle_timeout_ms = 300000;
  net::ListenOptions listen_opts;
  net::DialOptions fallback_dial;
  RelayOptions relay;
};

struct VlessInboundStats {
  uint64_t accepted = 0;
  uint64_t relayed = 0;    // TCP requests relayed to their target
  uint64_t udp = 0;        // UDP (0x02) requests served
  uint64_t xudp = 0;       // Mux requests served as XUDP
  uint64_t fallbacks = 0;  // connections handed to the fallback server
  uint64_t tls_failures = 0;
  uint64_t auth_failures = 0;  // version 0, unknown user id
  uint64_t malformed = 0;      // known user, malformed header
  uint64_t rejected = 0;       // refused by the flow rules or an unsupported command
  uint64_t open_failures = 0;
  uint64_t timeouts = 0;  // no complete header before the deadline
  // The last refusal: its error and a static description ("" if none).
  Errc last_error = Errc::ok;
  const char* last_reason = "";
};

class VlessInbound final : public ServerDriver {
 public:
  static Result<std::unique_ptr<VlessInbound>> create(Engine& e, const VlessInboundConfig& o,
                                                      Router* router, std::string* reason);
  ~VlessInbound() override;

  const VlessInboundStats& stats() const noexcept { return stats_; }
  // vision: Vision streams served and how many switched to direct copy.
  VisionCounters vision() const noexcept { return *vision_; }
  // reality: the REALITY gate (tls.reality), null otherwise.
  const RealitySource* reality() const noexcept { return reality_; }

 private:
  VlessInbound(Engine& e, const VlessInboundConfig& o, ServerDriverOptions d, Router* r);
  static Result<std::unique_ptr<VlessInbound>> create_reality(Engine& e,
                                                              const VlessInboundConfig& o,
                                                              ServerDriverOptions d, Router* router,
                                                              std::string* reason);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;
  Result<std::unique_ptr<Transport>> wrap_client(std::unique_ptr<Transport> t, TlsTransport* tls,
                                                 ServerCore& core, const ServerDecision& d,
                                                 Chain* rest) override;
  std::unique_ptr<DatagramFraming> framing(ServerCore& core, const ServerDecision& d) override;
  void refuse(Errc e, const char* reason) noexcept;

  VlessInboundConfig opts_;
  std::shared_ptr<tls::TlsServerContext> ctx_;  // nullptr: plain TCP
  std::shared_ptr<VisionCounters> vision_;      // shared with the VisionStreams
  VlessInboundStats stats_;
  RealitySource* reality_ = nullptr;  // owned by the driver's sources
};

}  // namespace sluice

// inbound/hysteria2_inbound.hpp: Hysteria2Inbound, the Hysteria v2 server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC server Endpoint (ALPN h3; Salamander below QUIC when obfs is
// set) runs HTTP/3 on every connection. A request `POST /auth` with
// :authority `hysteria` whose `hysteria-auth` matches a user (its password,
// or "name:password" as the official `userpass` auth sends it) is answered
// 233 with `hysteria-udp` and `hysteria-cc-rx`; the connection is then
// authenticated. Every other request — a wrong password included — gets the
// masquerade's answer (hysteria2_masquerade.hpp), so a prober sees a web
// server. On an authenticated connection each new bidirectional stream is
// peeked: one starting with the frame type 0x401 is a proxied TCP flow and
// goes to the ServerDriver with hysteria2::ServerCore (request, Router
// open, TCPResponse, Relay); any other stays HTTP/3. Before authentication
// every stream is HTTP/3 (spec pitfall 7). A connection that has not
// authenticated auth_timeout_ms (10 s) after its handshake or after its
// latest request is closed with H3_NO_ERROR, so a client that completes
// QUIC and stays silent (or only PINGs) holds no state for long, while one
// browsing the masquerade goes on.
//
// UDP (unless disable_udp): DATAGRAM frames of an authenticated connection
// are UDPMessages; each session ID gets a session (up to
// max_udp_sessions per connection; more are dropped and counted) with its
// one-packet defragmenter and a DatagramRelay to a flow of the Router's
// Session, ended after udp_timeout_ms without traffic. A malformed
// datagram is dropped, never closing the connection. Replies carry the
// source address and are fragmented to the client's DATAGRAM limit.
//
// Congestion, as the official server: BBR until authentication; then, when
// the client announced a receive rate (`hysteria-cc-rx` > 0) and
// ignore_client_bandwidth is off, Brutal at that rate capped by up_bps
// (when set), else BBR stays. Brutal sits deferred on the connection from
// its creation and takes over through the congestion-control hook
// (cc_hook::take_over).
//
// Ownership and closing as the other ServerDrivers: close() closes the
// Endpoint (every connection, their UDP sessions) and the streams still in
// their request; exactly one callback. Threads: the Engine's loop thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inbound/hysteria2_masquerade.hpp"
#include "inbound/quic_conn_listener.hpp"
#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_tls.hpp"
#include "session/relay.hpp"

namespace sluice {

struct Hysteria2InboundConfig {
  std::string tag;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  // extra_ports: more ports listened on for port-hopping clients
  // (quic/endpoint.hpp, EndpointOptions::extra_ports); 0 = ephemeral.
  std::vector<uint16_t> extra_ports;
  std::vector<Hysteria2User> users;
  // tls: a server context's options (certificate and key PEM); alpn
  // defaults to "h3".
  quic::QuicTlsOptions tls;
  uint64_t up_bps = 0;    // server's max send rate, bytes/s (0: no limit)
  uint64_t down_bps = 0;  // server's max receive rate, sent as hysteria-cc-rx (0: unlimited)
  bool ignore_client_bandwidth = false;  // reply cc-rx "auto", never Brutal
  bool disable_loss_compensation = false;
  bool disable_udp = false;
  std::string obfs_password;  // Salamander PSK; empty: no obfuscation
  Hysteria2MasqueradeOptions masquerade;
  uint64_t udp_timeout_ms = 60000;  // official udpIdleTimeout
  size_t max_udp_sessions = 1024;   // per connection
  uint64_t idle_timeout_ms = 30000;
  uint64_t handshake_timeout_ms = 10000;  // QUIC handshake; each TCP request
  // auth_timeout_ms: a connection not authenticated this long after its
  // handshake, or after its latest HTTP/3 request, is closed (H3_NO_ERROR).
  // The official server has none (an idle client lasts until the QUIC idle
  // timeout, and one that sends PINGs for ever); 10 s is sluice's TCP
  // handshake deadline.
  uint64_t auth_timeout_ms = 10000;
  RelayOptions relay;
  // limits: max_connections and max_connections_per_ip (0 = none), counted
  // per QUIC connection (a connection's streams are its flows).
  ConnectionLimit::Options limits;
};

struct Hysteria2UserStats {
  uint64_t connections = 0;  // authenticated connections
  uint64_t tcp_streams = 0;
  uint64_t udp_sessions = 0;
};

struct Hysteria2InboundStats {
  uint64_t connections = 0;        // QUIC connections accepted
  uint64_t authenticated = 0;      // successful /auth (not counting repeats)
  uint64_t brutal = 0;             // ... of which sent with Brutal (the rest BBR)
  uint64_t brutal_rate = 0;        // the last one's Brutal rate, bytes/s
  uint64_t auth_failures = 0;      // /auth with a wrong password (masquerade served)
  uint64_t auth_timeouts = 0;      // connections closed by auth_timeout_ms
  uint64_t masquerade = 0;         // requests answered by the masquerade
  uint64_t tcp_streams = 0;        // 0x401 streams handed to the driver
  uint64_t tcp_relayed = 0;        // ... opened and relayed
  uint64_t tcp_open_failures = 0;  // ... refused by the Router or the outbound
  uint64_t udp_sessions = 0;
  uint64_t udp_malformed = 0;  // datagrams dropped as malformed
  uint64_t udp_dropped = 0;    // dropped: before auth, UDP disabled, session bound
  uint64_t obfs_dropped = 0;   // packets Salamander refused (socket count at read)
  std::map<std::string, Hysteria2UserStats> users;
};

// hysteria2_inbound_config converts a config inbound; config_invalid or
// config_io with |why| for a TLS section it cannot use.
Result<Hysteria2InboundConfig> hysteria2_inbound_config(const std::string& tag,
                                                        const ListenOptions& listen,
                                                        const Hysteria2InboundOptions& o,
                                                        std::string* why);

// make_hysteria2_inbound builds the inbound |in| (type hysteria2) from its
// config (declared for the Instance in hysteria2_factory.hpp).
Result<std::unique_ptr<ServerDriver>> make_hysteria2_inbound(Engine& e, const InboundOptions& in,
                                                             Router* router, std::string* why);

class Hysteria2Inbound final : public ServerDriver, private QuicConnListener::Factory {
 public:
  static Result<std::unique_ptr<Hysteria2Inbound>> create(Engine& e,
                                                          const Hysteria2InboundConfig& o,
                                                          Router* router, std::string* reason);
  ~Hysteria2Inbound() override;

  const Hysteria2InboundStats& stats() noexcept;
  quic::Endpoint& endpoint() noexcept;

  class ServerConn;  // one connection (internal)
  class UdpSession;  // one UDP session (internal)

 private:
  friend class ServerConn;
  friend class UdpSession;
  Hysteria2Inbound(Engine& e, const Hysteria2InboundConfig& o, ServerDriverOptions d, Router* r);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  QuicServerConn* make_conn(quic::Connection& c, QuicConnListener& l) noexcept override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;
  // hand_stream gives an authenticated 0x401 stream to the driver.
  void hand_stream(std::unique_ptr<Transport> t, const std::string& user, const AcceptInfo& info);
  // check_auth returns the user an auth string names, or nullptr.
  const Hysteria2User* check_auth(std::string_view auth) const noexcept;

  Hysteria2InboundConfig opts_;
  Hysteria2Masquerade masq_;
  QuicConnListener* listener_ = nullptr;         // owned by the driver's sources
  const std::string* accepting_user_ = nullptr;  // make_core's user during hand_stream
  Hysteria2InboundStats stats_;
};

}  // namespace sluice

// inbound/hysteria1_inbound.hpp: Hysteria1Inbound, the Hysteria v1
// (protocol version 3) server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC server Endpoint (ALPN "hysteria"; XPlus below QUIC when obfs is
// set). On every connection the first client-opened bidirectional stream is
// the control stream: hysteria1::ControlCore reads the ClientHello, checks
// the auth bytes against the users and answers a ServerHello with the
// negotiated rates (the min of the client's and the server's own limits);
// a wrong auth is answered "auth error" and the connection closed with
// application code 2 once the answer is delivered; a bad version, a zero
// rate or no answered ClientHello within auth_timeout_ms (10 s) of accept
// closes with code 1 "protocol error". Brutal (v1 variant) runs at up_bps from the start and is
// lowered to the negotiated send rate; without up_bps the connection runs BBR.
//
// Every later bidirectional stream is a request. A TCP request goes to the
// ServerDriver with hysteria1::ServerCore (Router open, ServerResponse,
// Relay). A UDP request (unless disable_udp) gets a server-assigned session
// id (a per-connection counter from 0) and a DatagramRelay to a flow of the
// Router; its stream then only holds the session: the client closing it
// ends the session, and an idle session (udp_timeout_ms) closes it. UDP
// messages arrive in DATAGRAM frames, go through ONE defragmenter per
// connection (as the official server) and are dropped for unknown session
// ids. Replies carry the source IP text and port and are fragmented to the
// client's DATAGRAM limit.
//
// Ownership and closing as the other ServerDrivers. Threads: the Engine's
// loop thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inbound/quic_conn_listener.hpp"
#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "proto/hysteria1/hysteria1.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_tls.hpp"
#include "session/relay.hpp"

namespace sluice {

struct Hysteria1User {
  std::string name;
  std::string auth;  // raw auth bytes
};

struct Hysteria1InboundConfig {
  std::string tag;
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  // extra_ports: more ports listened on for port-hopping clients
  // (quic/endpoint.hpp, EndpointOptions::extra_ports); 0 = ephemeral.
  std::vector<uint16_t> extra_ports;
  std::vector<Hysteria1User> users;
  // tls: a server context's options; alpn defaults to "hysteria".
  quic::QuicTlsOptions tls;
  uint64_t up_bps = 0;    // server's max send rate, bytes/s (0: no limit, BBR)
  uint64_t down_bps = 0;  // server's max receive rate, bytes/s (0: no limit)
  std::string obfs;       // XPlus password; empty: no obfuscation
  bool disable_udp = false;
  uint64_t recv_window_conn = 16u << 20;    // per-stream receive window (bytes)
  uint64_t recv_window_client = 40u << 20;  // per-connection receive window
  uint64_t max_conn_client = 1024;          // concurrent streams per connection
  bool disable_mtu_discovery = false;
  uint64_t udp_timeout_ms = 60000;  // UDP session idle expiry
  uint64_t idle_timeout_ms = 60000;
  uint64_t handshake_timeout_ms = 10000;  // QUIC handshake; each request
  // auth_timeout_ms: the control stream's ClientHello must have been
  // answered this long after the connection was accepted, or the connection
  // is closed with code 1 "protocol error" (the official server's 10 s).
  uint64_t auth_timeout_ms = hysteria1::kControlTimeoutMs;
  RelayOptions relay;
  // limits: max_connections and max_connections_per_ip (0 = none), counted
  // per QUIC connection (a connection's streams are its flows).
  ConnectionLimit::Options limits;
};

struct Hysteria1InboundStats {
  uint64_t connections = 0;      // QUIC connections accepted
  uint64_t authenticated = 0;    // accepted ClientHellos
  uint64_t auth_failures = 0;    // refused with "auth error"
  uint64_t protocol_errors = 0;  // closed with code 1
  uint64_t tcp_streams = 0;
  uint64_t tcp_relayed = 0;
  uint64_t tcp_open_failures = 0;
  uint64_t udp_sessions = 0;
  uint64_t udp_malformed = 0;  // datagrams dropped as malformed
  uint64_t udp_dropped = 0;    // before auth, UDP disabled, unknown session
  uint64_t obfs_dropped = 0;   // packets XPlus refused
  std::map<std::string, uint64_t> user_connections;
};

// hysteria1_inbound_config converts a config inbound (sing-box's
// `hysteria` fields) into the server's options; config_invalid /
// config_io with |why|.
Result<Hysteria1InboundConfig> hysteria1_inbound_config(const std::string& tag,
                                                        const ListenOptions& listen,
                                                        const HysteriaInboundOptions& o,
                                                        std::string* why);

// make_hysteria1_inbound builds the inbound |in| (type hysteria).
Result<std::unique_ptr<ServerDriver>> make_hysteria1_inbound(Engine& e, const InboundOptions& in,
                                                             Router* router, std::string* why);

class Hysteria1Inbound final : public ServerDriver, private QuicConnListener::Factory {
 public:
  static Result<std::unique_ptr<Hysteria1Inbound>> create(Engine& e,
                                                          const Hysteria1InboundConfig& o,
                                                          Router* router, std::string* reason);
  ~Hysteria1Inbound() override;

  const Hysteria1InboundStats& stats() noexcept;
  quic::Endpoint& endpoint() noexcept;

  class ServerConn;  // internal
  class UdpSession;  // internal

 private:
  friend class ServerConn;
  friend class UdpSession;
  Hysteria1Inbound(Engine& e, const Hysteria1InboundConfig& o, ServerDriverOptions d, Router* r);
  std::unique_ptr<ServerCore> make_core(TlsTransport* tls) override;
  QuicServerConn* make_conn(quic::Connection& c, QuicConnListener& l) noexcept override;
  void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) override;
  void hand_stream(std::unique_ptr<Transport> t, const std::string& user, const AcceptInfo& info);

  Hysteria1InboundConfig opts_;
  std::vector<std::string> auths_;
  QuicConnListener* listener_ = nullptr;
  const std::string* accepting_user_ = nullptr;
  Hysteria1InboundStats stats_;
};

}  // namespace sluice

// inbound/tuic_source.hpp: TuicSource, the TUIC v5 server's QUIC side: it
// authenticates each connection, hands its Connect streams to the server
// driver once authenticated, and relays its UDP associations itself.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Per QUIC connection (docs/protocols/tuic.md, "Server"):
//   auth       the client's Authenticate (uni stream: 05 00 UUID TOKEN) is
//              checked against the users: the token must equal the TLS
//              exporter (label = the UUID's 16 bytes, context = that user's
//              password, 32 bytes) on our side of the same TLS session,
//              compared in constant time. An unknown UUID, a wrong token, a
//              second Authenticate, or no Authenticate within
//              auth_timeout_ms of the handshake closes the connection
//              (application error 0, the reason phrase says which).
//   held       everything that arrives before authentication is held, not
//              refused (0-RTT clients send Connect first): bidirectional
//              streams unread (QUIC flow control stops their senders),
//              commands on uni streams and DATAGRAMs (bounded: past
//              kMaxHeldCommands the excess is dropped, UDP semantics), and
//              taken up in arrival order once it succeeds.
//   Connect    each authenticated bidirectional stream goes to the Sink (the
//              driver runs tuic::ConnectCore, opens the target through the
//              Router and relays).
//   UDP        Packets (DATAGRAMs in native mode, one uni stream each in quic
//              mode) are reassembled (tuic::Reassembler) and sent through a
//              DatagramFlow the Router opens per association (ASSOC_ID);
//              replies go back as Packets from their source, in the relay
//              mode of the association's latest packet (sing-box's rule;
//              clients use one mode per connection). An association ends on
//              Dissociate, after udp_timeout_ms without a packet either
//              way, or with the connection; at most max_udp_associations
//              per connection (a Packet for one more is dropped).
//   Heartbeat  received and ignored (it only keeps the connection busy);
//              the server sends none (tuic-server's choice: official
//              clients log an error for a server heartbeat).
//
// Admission: a new connection is admitted by the driver given to create()
// (ServerDriver::admit_connection: the inbound's connection limits and the
// pool cap) before its first Initial makes any state; a refused client gets
// CONNECTION_REFUSED (quic/endpoint.hpp). Its Connect streams then count
// under the pool cap each, not under the limits again.
//
// Ownership: the source owns the Endpoint and every per-connection object.
// close() closes the Endpoint (and with it every connection, association
// and held stream); exactly one callback. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inbound/router.hpp"
#include "inbound/server_driver.hpp"
#include "inbound/source.hpp"
#include "proto/tuic/tuic.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_tls.hpp"

namespace sluice {

struct TuicServerUser {
  std::string name;
  tuic::Uuid uuid{};
  std::string password;
};

struct TuicSourceOptions {
  std::string tag;  // the inbound's tag (Router, logs)
  std::string log_prefix = "tuic";
  std::vector<TuicServerUser> users;
  uint64_t auth_timeout_ms = 3000;          // sing-box and tuic-server: 3 s
  uint64_t udp_timeout_ms = 5 * 60 * 1000;  // sing-box udp_timeout
  size_t max_udp_associations = 128;        // per connection
};

// TuicSourceStats count over all connections.
struct TuicSourceStats {
  uint64_t connections = 0;
  uint64_t authenticated = 0;
  uint64_t auth_failures = 0;  // unknown UUID, token mismatch, duplicate
  uint64_t auth_timeouts = 0;
  uint64_t held_streams = 0;   // bidirectional streams that waited for auth
  uint64_t held_commands = 0;  // uni-stream commands and DATAGRAMs that waited
  uint64_t streams = 0;        // Connect streams handed to the driver
  uint64_t udp_associations = 0;
  uint64_t udp_in = 0;       // datagrams from clients, reassembled
  uint64_t udp_out = 0;      // replies sent to clients
  uint64_t udp_dropped = 0;  // unroutable, over the bound, or refused by QUIC
  uint64_t udp_native = 0;   // packets received as DATAGRAMs
  uint64_t udp_quic = 0;     // packets received on uni streams
  uint64_t dissociations = 0;
  uint64_t heartbeats = 0;
  uint64_t protocol_errors = 0;  // connections closed for a malformed command
};

class TuicSource final : public TransportSource, private quic::AcceptHandler {
 public:
  class Conn;  // one QUIC connection (internal)

  // create opens a server Endpoint with |tls| (a server context, ALPN set)
  // and |eo|; Connect streams go to |sink|, UDP through |router|; new
  // connections are admitted by |admitter| (null: all are).
  static Result<std::unique_ptr<TuicSource>> create(Engine& e, const quic::EndpointOptions& eo,
                                                    std::shared_ptr<quic::QuicTlsContext> tls,
                                                    TuicSourceOptions o, Router* router, Sink* sink,
                                                    ServerDriver* admitter = nullptr);
  ~TuicSource() override;

  uint16_t port() const noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  quic::Endpoint& endpoint() noexcept { return *endpoint_; }
  const TuicSourceStats& stats() const noexcept { return stats_; }
  size_t connections() const noexcept { return conns_.size(); }

  // Maximum commands and DATAGRAMs held per connection before auth.
  static constexpr size_t kMaxHeldCommands = 64;

 private:
  friend class Conn;
  TuicSource(Engine& e, TuicSourceOptions o, Router* r, Sink* s, ServerDriver* a);
  const char* admit(const sockaddr* from) noexcept override;
  void admit_dropped() noexcept override { pending_.reset(); }
  void on_connection(quic::Connection& c) override;
  void conn_done(Conn* c) noexcept;

  Engine& engine_;
  TuicSourceOptions opts_;
  Router* router_;
  Sink* sink_;
  ServerDriver* admitter_;
  // pending_: what admit() took for the connection on_connection() makes next.
  ConnectionAdmission pending_;
  std::unique_ptr<quic::Endpoint> endpoint_;
  std::vector<Conn*> conns_;
  TuicSourceStats stats_;
};

}  // namespace sluice

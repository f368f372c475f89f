// inbound/server_driver.hpp: ServerDriver, the one server: accepted
// Transports from any source -> optional TLS -> a protocol's handshake core
// (lib/proto/server_handshake.hpp) under one deadline -> a Relay to the
// Router's stream, a fallback with byte-exact replay, or a DatagramRelay.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A protocol server (TrojanInbound, VlessInbound, ProxyInbound) is a
// ServerDriver subclass that supplies the core for each connection
// (make_core), counts what happens (on_event), and, where the protocol
// answers inside the relayed stream (VLESS), wraps the client transport at
// the hand-over (wrap_client). Everything else is here, once:
//
//   deadline   handshake_timeout_ms from accept (the TLS handshake and, when
//              header_timeout_ms is 0, the header too); header_timeout_ms
//              re-arms it when the header phase starts. At expiry the core
//              decides (core.expired): fallback or reject.
//   open       Router::open_stream; then the core's answer (SOCKS5 reply,
//              HTTP 200) goes to the client, target_prefix() and then every
//              byte that followed the header go to the stream, and a Relay
//              takes both. A failed open is answered (SOCKS5 REP, HTTP 5xx),
//              flushed and closed.
//   fallback   the entry of fallback_for_alpn for the negotiated ALPN, else
//              fallback; dialed, given every byte received so far in order,
//              then relayed. No fallback: close.
//   datagram   a DatagramRelay with the core's framing over the client
//              stream, or a SOCKS5 UDP socket (bound on udp_bind_host).
//   reject     the core's last output is flushed, then the connection closes.
//
// Log lines carry "<proto> <tag>: " ("<proto>: " without a tag).
//
// Ownership and closing: created and owned by the host (unique_ptr).
// close() stops every source and closes every connection still in its
// handshake or relaying datagrams (stream Relays belong to the Engine);
// exactly one callback per caller, at once for one who arrives after the
// close finished. The Engine calls it at stop. Delete only after it.
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/tls_context.hpp"
#include "inbound/connection_limit.hpp"
#include "inbound/router.hpp"
#include "inbound/source.hpp"
#include "net/dialer.hpp"
#include "proto/server_handshake.hpp"
#include "session/datagram_relay.hpp"
#include "session/relay.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"

namespace sluice {

class TlsTransport;

struct ServerDriverOptions {
  std::string tag;
  const char* proto = "inbound";               // log prefix: "trojan", "vless", "inbound"
  std::shared_ptr<tls::TlsServerContext> tls;  // nullptr: no TLS layer
  // tls_one_record_reads: one TLS record per read until the header is
  // decided (VLESS: Vision must be able to stop at a record boundary).
  bool tls_one_record_reads = false;
  uint64_t handshake_timeout_ms = 10000;
  uint64_t header_timeout_ms = 0;  // 0: handshake_timeout_ms covers the header
  // deadline_covers_open: the deadline runs on while the open or the
  // fallback dial is pending (Trojan, SOCKS/HTTP); false stops it at the
  // decision (VLESS).
  bool deadline_covers_open = true;
  TrojanFallback fallback;  // server empty: no fallback
  std::vector<std::pair<std::string, TrojanFallback>> fallback_for_alpn;
  net::DialOptions fallback_dial;
  RelayOptions relay;
  DatagramRelayOptions udp;
  std::string udp_bind_host = "127.0.0.1";  // SOCKS5 UDP ASSOCIATE socket
  // Admission (connection_limit.hpp): refused connections are closed at
  // once and logged (at most one line per kLimitLogIntervalMs). 0 = none.
  uint32_t max_connections = 0;
  uint32_t max_connections_per_ip = 0;
};

// ConnectionAdmission is what one admitted QUIC connection holds
// (ServerDriver::admit_connection): its place under the inbound's
// connection limits, for the connection's life, and with a pool cap a
// reservation of one 64 KiB block (the connection's send buffer) until its
// handshake is done. Move-only; destroy it on the loop thread.
class ConnectionAdmission {
 public:
  ConnectionAdmission() noexcept = default;
  ConnectionAdmission(ConnectionAdmission&& o) noexcept
      : slot_(std::exchange(o.slot_, nullptr)), pool_(std::move(o.pool_)) {}
  ConnectionAdmission& operator=(ConnectionAdmission&& o) noexcept {
    if (this != &o) {
      reset();
      slot_ = std::exchange(o.slot_, nullptr);
      pool_ = std::move(o.pool_);
    }
    return *this;
  }
  ConnectionAdmission(const ConnectionAdmission&) = delete;
  ConnectionAdmission& operator=(const ConnectionAdmission&) = delete;
  ~ConnectionAdmission() { reset(); }

  // handshake_done gives the pool reservation back (the buffers it stood
  // for are taken by now); the place under the limits stays.
  void handshake_done() noexcept { pool_.reset(); }
  // reset gives everything back.
  void reset() noexcept {
    delete std::exchange(slot_, nullptr);
    pool_.reset();
  }

 private:
  friend class ServerDriver;
  ConnectionLimit::Slot* slot_ = nullptr;
  PoolReservation pool_;
};

// DriverCounters are what the driver counts for every protocol.
struct DriverCounters {
  uint64_t accept_errors = 0;     // accept failed (e.g. EMFILE: out of descriptors)
  uint64_t refused_by_limit = 0;  // closed at accept by max_connections(_per_ip)
  uint64_t refused_by_pool = 0;   // closed at accept: the buffer pool cap had no room
  uint64_t open_connections = 0;  // admitted and not closed (with a limit set; else 0)
};

// DriverEvent is what a driver tells its protocol server, for counters.
enum class DriverEvent : uint8_t {
  accepted,
  tls_failed,
  refused,       // a fallback or reject decision (see the decision's cause)
  timed_out,     // the deadline passed outside the header phase (TLS, open, fallback dial)
  fallback,      // a fallback dial started
  opened,        // a stream was opened and relayed
  open_failed,   // the Router or the outbound refused the open
  datagram,      // a DatagramRelay started
  datagram_end,  // a DatagramRelay ended (result given)
};

class ServerDriver : public EngineObject, private TransportSource::Sink {
 public:
  class Conn;  // one accepted connection until hand-over (internal)

  ~ServerDriver() override;

  const std::string& tag() const noexcept { return dopts_.tag; }
  // port: the first source's port (0 if none).
  uint16_t port() const noexcept;
  void close(CloseCallback cb, void* user) noexcept;
  void engine_close() noexcept override { close(nullptr, nullptr); }

  // listen adds a TCP listener source.
  Status listen(std::string_view host, uint16_t port, const net::ListenOptions& o,
                std::string* reason);
  // add_source adds any source whose Sink is this driver (sink()).
  void add_source(std::unique_ptr<TransportSource> s);
  TransportSource::Sink* sink() noexcept { return this; }
  // accept runs one Transport through the driver as if a source handed it over.
  void accept(std::unique_ptr<Transport> t, const AcceptInfo& info) {
    on_accepted(std::move(t), info);
  }

  // admit_connection is the admission of a connection that does not come
  // through a source's on_accepted (a QUIC connection, whose streams then
  // do): the inbound's connection limits for |peer| and, with a pool cap,
  // room for the connection's first buffers (ConnectionAdmission). A
  // refusal is counted (DriverCounters, EngineStats::connections_refused)
  // and logged like a refused TCP connection, and its reason returned (a
  // static phrase for the peer); nullptr when admitted, with |*out| set.
  const char* admit_connection(const sockaddr* peer, ConnectionAdmission* out) noexcept;

  DriverCounters counters() const noexcept;
  // kLimitLogIntervalMs: at most one accept-error and one limit line per
  // interval; the next line says how many were not logged.
  static constexpr uint64_t kLimitLogIntervalMs = 5000;

  // log_prefix: "<proto> <tag>" or "<proto>" without a tag.
  const std::string& log_prefix() const noexcept { return prefix_; }
  static std::string make_log_prefix(const char* proto, const std::string& tag);

 protected:
  ServerDriver(Engine& e, ServerDriverOptions o, Router* router);

  // make_core: the handshake core for a connection (after TLS, when any).
  virtual std::unique_ptr<ServerCore> make_core(TlsTransport* tls) = 0;
  // on_event: count. |d| is the decision for refused/fallback/opened/
  // datagram, |r| the result for datagram_end; either may be null.
  virtual void on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) {
    (void)ev;
    (void)d;
    (void)r;
  }
  // wrap_client: the client transport as the relay should see it (VLESS:
  // response header, Vision). It may take bytes from |*rest| (received after
  // the header); what is left goes to the target. Default: unchanged.
  virtual Result<std::unique_ptr<Transport>> wrap_client(std::unique_ptr<Transport> t,
                                                         TlsTransport* tls, ServerCore& core,
                                                         const ServerDecision& d, Chain* rest) {
    (void)tls;
    (void)core;
    (void)d;
    (void)rest;
    return t;
  }
  // framing: the framing for a stream datagram decision (default: the core's).
  virtual std::unique_ptr<DatagramFraming> framing(ServerCore& core, const ServerDecision& d) {
    (void)d;
    return core.framing();
  }
  bool closing() const noexcept { return closing_; }
  Router* router() const noexcept { return router_; }
  const ServerDriverOptions& driver_options() const noexcept { return dopts_; }

 private:
  friend class Conn;
  void on_accepted(std::unique_ptr<Transport> t, const AcceptInfo& info) override;
  void on_accept_error(Errc e) override;
  void conn_closed(Conn* c) noexcept;
  // admit runs the admission of one connection from |peer|: the limits
  // unless |limits| is false, then with a pool cap a reservation of
  // |blocks| blocks of |cls| (none when |blocks| is 0). Refusals are
  // counted and logged; the refusal's phrase for the peer is returned,
  // nullptr when admitted (|*slot| and |*res| then hold what it took).
  const char* admit(const sockaddr_storage& peer, bool limits, SizeClass cls, uint32_t blocks,
                    ConnectionLimit::Slot** slot, PoolReservation* res) noexcept;

  // RateLimitedLog lets one line through per kLimitLogIntervalMs and counts
  // the rest, so a flood cannot flood the log.
  struct RateLimitedLog {
    uint64_t last_ms = 0;
    uint64_t suppressed = 0;
    bool logged_once = false;
    // allow: true if a line may be written now; |*skipped| is how many
    // were suppressed since the last one.
    bool allow(uint64_t now_ms, uint64_t* skipped) noexcept;
  };
  void maybe_closed() noexcept;

  ServerDriverOptions dopts_;
  Router* router_;
  std::string prefix_;
  std::vector<std::unique_ptr<TransportSource>> sources_;
  std::vector<Conn*> conns_;
  ConnectionLimit* limit_ = nullptr;  // null without limits; one reference held
  DriverCounters counters_;
  RateLimitedLog accept_error_log_;
  RateLimitedLog limit_log_;
  size_t sources_open_ = 0;  // sources whose close has not finished
  bool closing_ = false;
  bool in_close_ = false;  // close() is closing connections
  bool closed_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice

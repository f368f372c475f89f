// endpoint.hpp: Endpoint, one UDP socket carrying QUIC connections.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// An Endpoint owns a UdpSocket and every Connection on it. Incoming
// datagrams are routed by Destination Connection ID through one table that
// holds every CID any of its connections issued (RFC 9000 §5.2). On a
// server, an unknown DCID in a client Initial of a supported version starts
// a connection (bounded: at most max_half_open connections may be in their
// handshake at once, further Initials are dropped); an unsupported version
// gets a Version Negotiation packet (RFC 9000 §6); a short-header packet for
// an unknown CID gets a Stateless Reset (RFC 9000 §10.3) whose token is
// recomputable from the CID, so it works after a restart with the same key.
//
// Address validation (EndpointOptions::retry): a client Initial without a
// token gets a stateless Retry (RFC 9000 §8.1.2) whose token (RetryTokenKey,
// retry_token.hpp) binds the client's address, its original DCID, the Retry
// SCID and the time; the repeated Initial starts the connection with
// original_destination_connection_id and retry_source_connection_id taken
// from the token (§7.3). A token that is not one of ours (another server's
// NEW_TOKEN) counts as none (RFC 9000 §8.1.3); one of ours that fails
// (forged, another address, expired) gets a stateless CONNECTION_CLOSE with
// INVALID_TOKEN (§8.1.2) and no connection. Both are counted.
//
// NEW_TOKEN (RFC 9000 §8.1.3): a server (issue_new_tokens) sends one
// NEW_TOKEN frame when a handshake completes, sealed under the same key
// (RetryTokenKey::seal_new_token: the client's IP and the wall-clock time).
// An Initial carrying a valid one starts a connection as address-validated:
// no Retry even with |retry| on, and no amplification limit. An invalid,
// expired or foreign NEW_TOKEN counts as no token (a Retry when |retry| is
// on; never a close). Clients keep the newest token per server address in
// a TokenStore (token_store.hpp; by default the Engine's, shared by all its
// client Endpoints) and spend each once: connect() sends it as
// ConnectionOptions::initial_token unless the caller gave one.
//
// Control packets (Version Negotiation, Stateless Reset, Retry, stateless
// CONNECTION_CLOSE) that a full socket refuses wait in a fixed ring of
// kControlQueue packets (no allocation) and go out, in order, when the
// socket is writable again; beyond the bound they are dropped and counted.
//
// Client endpoints use the same machinery with one or more connect()s. They
// resume TLS sessions (and send 0-RTT when the client context enables it)
// from a ticket cache: by default the Engine's cache that TLS-over-TCP
// clients share (lib/transport/tls_session_registry), under QUIC's own keys.
//
// Network changes: a client Endpoint subscribes to its Engine's
// (sluice_engine_network_changed). When told, it binds a new socket (a new
// local port, through the Engine's socket hook), closes the old one, and
// migrates each connection to the new path (RFC 9000 §9, immediate
// migration with path validation). A connection that cannot migrate (its
// handshake is not confirmed, the server disabled migration, no spare
// connection ID), or all of them if the new socket cannot be had, is
// closed with Errc::network_changed, so it fails at once instead of waiting
// out its idle timeout on a path that is gone.
//
// Several ports (a server's extra_ports): the socket binds one more socket
// per port, and connections arriving on any of them are one Endpoint's;
// replies leave from the port each peer's latest datagram came to
// (udp_socket.hpp). QUIC sees the first port as its local address
// throughout, so a client hopping between the ports looks like a NAT
// rebinding to ngtcp2 (new remote port, same local address) and keeps its
// connection ID: no spare CID is needed (a local-address change would need
// one, ngtcp2 0.12 conn_recv_non_probing_pkt_on_new_path).
//
// Port hopping (a client's |hop|): after connect() the socket presents the
// server's first address as a constant peer and, every interval (random in
// [interval_min_ms, interval_max_ms]), hop()s to a new local socket aimed
// at a random other port of |hop.ranges| (Hysteria 2 spec section 8). The
// hop happens below QUIC, as the official client's udphop conn does,
// rather than as a QUIC migration: ngtcp2 sees one unchanging path, needs
// no spare connection IDs and never waits for path validation on its own
// side; the server validates the new path as for a NAT rebinding. A
// network change while hopping is one more hop (a new socket at once).
//
// Lifetime: the creator owns the Endpoint; close() closes every connection
// (CONNECTION_CLOSE with code 0), then the socket, then calls back once.
// Threads: the Engine's loop thread.
#pragma once

#include <uv.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/host_hooks.hpp"
#include "net/timer.hpp"
#include "quic/connection.hpp"
#include "quic/quic_crypto.hpp"
#include "quic/retry_token.hpp"
#include "quic/token_store.hpp"
#include "quic/udp_socket.hpp"
#include "sluice/engine.hpp"

namespace sluice::quic {

struct EndpointOptions {
  std::string bind_host = "127.0.0.1";
  uint16_t bind_port = 0;
  bool allow_gso = true;
  size_t max_half_open = 256;    // server: handshakes in progress at once
  size_t scid_len = 16;          // length of the CIDs we issue
  ConnectionOptions connection;  // defaults for every connection
  // Server: validate client addresses with a stateless Retry first.
  bool retry = false;
  uint64_t retry_token_lifetime_ms = 10000;
  // Server: send a NEW_TOKEN after each handshake (RFC 9000 §8.1.3), valid
  // for new_token_lifetime_ms from the client's IP.
  bool issue_new_tokens = true;
  uint64_t new_token_lifetime_ms = 24ull * 3600 * 1000;
  // Server: the 32-byte key of Retry and NEW_TOKEN tokens; empty = random
  // per Endpoint. A fixed key lets tokens survive a restart and be honoured
  // by every server sharing it. Any other length: create() fails.
  std::vector<uint8_t> token_key;
  // Client: keep NEW_TOKEN tokens from servers and send each in the next
  // connection's first Initial to the same address (single use).
  bool use_new_tokens = true;
  // ...in |token_store|, or in the Engine's shared store when null.
  std::shared_ptr<TokenStore> token_store;
  // Client: resume sessions (and 0-RTT if QuicTlsOptions::enable_early_data)
  // from |session_cache|, or from the Engine's shared cache when null.
  bool resume_sessions = true;
  std::shared_ptr<tls::TlsSessionCache> session_cache;
  // transform: a per-packet rewrite below QUIC on every socket of the
  // Endpoint (Hysteria's Salamander; udp_socket.hpp). Connections must
  // then send packets smaller by its overhead
  // (ConnectionOptions::max_tx_udp_payload_size). Null: none.
  std::shared_ptr<PacketTransform> transform;
  // extra_ports (server): more ports on bind_host whose datagrams reach
  // the same connections (Hysteria port hopping without DNAT). create()
  // fails with the bind's error if one cannot be bound.
  std::vector<uint16_t> extra_ports;
  // hop (client): port hopping towards the ports in |ranges| (inclusive
  // first, last pairs; empty = no hopping), a hop every interval, random in
  // [interval_min_ms, interval_max_ms] (max below min counts as min).
  struct PortHopping {
    std::vector<std::pair<uint16_t, uint16_t>> ranges;
    uint64_t interval_min_ms = 30000;
    uint64_t interval_max_ms = 0;
  } hop;
};

// parse_port_ranges reads port lists for hopping and extra_ports: each
// item "443", "20000:30000" (sing-box) or "20000-30000" (the official
// client's) into inclusive (first, last) pairs appended to |out|.
// config_invalid with |why| ("server_ports[1]: ...", after |what|) for an
// item that is not one.
Status parse_port_ranges(const std::vector<std::string>& items, const char* what,
                         std::vector<std::pair<uint16_t, uint16_t>>* out, std::string* why);

// format_port_ranges writes |ranges| back as text for logs and errors:
// "20000-20010,443".
std::string format_port_ranges(const std::vector<std::pair<uint16_t, uint16_t>>& ranges);

// Under a pool cap (EngineOptions::pool.max_bytes) every byte a stream
// holds is a pool chunk counted against the cap, where on TCP the kernel's
// socket buffers would hold it. Without bounds a single relayed stream on
// a fast path pins what the peer's window and the congestion window allow
// (measured on 127.0.0.1: 1.9 MB of a 2 MiB cap for one 4 MiB echo, its
// send side alone holding 1.3 MB unacknowledged), so it fails its own
// reads at the cap. bound_for_pool_cap makes a connection's buffering
// follow the Relay's watermarks instead: the write watermarks count
// unacknowledged bytes (ConnectionOptions::watermarks_count_unacked), a
// stream's receive window is at most kCappedStreamWindow (what a paused
// owner leaves queued) and a connection's at most a quarter of the cap
// (but not below one stream's). Endpoint applies it to every connection on
// a capped Engine; a cap of 0 changes nothing.
inline constexpr uint64_t kCappedStreamWindow = 512 * 1024;
void bound_for_pool_cap(ConnectionOptions& o, uint64_t max_bytes) noexcept;

// random_port picks a port uniformly from inclusive |ranges| (not empty).
uint16_t random_port(const std::vector<std::pair<uint16_t, uint16_t>>& ranges) noexcept;

// AcceptHandler receives a server Endpoint's new connections right after
// their first Initial; the handler usually installs a ConnectionHandler and
// waits for on_handshake_done.
//
// Admission: before a client's Initial makes any state (after a Retry has
// validated the address, when |retry| is on), admit() is asked. nullptr
// admits it; then exactly one of on_connection() (the connection exists)
// or admit_dropped() (it could not be made: no memory, a bad Initial)
// follows before accept returns, so a handler may keep what it took for
// the connection (a place under a limit, a pool reservation) in between.
// A reason refuses it: the client gets a stateless CONNECTION_CLOSE with
// CONNECTION_REFUSED (RFC 9000 §20.1) and the reason as its phrase, in an
// Initial packet (as for an invalid token), and nothing is kept; its
// retransmitted Initials are asked about again.
class AcceptHandler {
 public:
  virtual ~AcceptHandler() = default;
  // admit: nullptr to admit, else the reason phrase of the refusal (a
  // string that outlives the call).
  virtual const char* admit(const sockaddr* from) noexcept {
    (void)from;
    return nullptr;
  }
  virtual void admit_dropped() noexcept {}
  virtual void on_connection(Connection& c) = 0;
};

struct EndpointStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over the half-open bound or bad Initial
  uint64_t admissions_refused = 0;   // Initials the AcceptHandler refused (CONNECTION_REFUSED)
  uint64_t version_negotiations = 0;
  uint64_t stateless_resets = 0;
  uint64_t unroutable = 0;  // dropped: no connection, no reply due
  uint64_t retries_sent = 0;
  uint64_t invalid_tokens = 0;  // Initials dropped for a bad, foreign or expired token
  // NEW_TOKEN (server): frames sent; Initials whose token validated the
  // address; Initials with a NEW_TOKEN-shaped token that did not (forged,
  // another key or IP, expired): treated as no token.
  uint64_t new_tokens_issued = 0;
  uint64_t new_tokens_accepted = 0;
  uint64_t new_tokens_rejected = 0;
  // NEW_TOKEN (client): tokens received and kept; tokens spent by connect().
  uint64_t new_tokens_received = 0;
  uint64_t new_tokens_used = 0;
  // Control packets refused by a full socket: queued (and sent once it was
  // writable), and dropped because the queue was full.
  uint64_t control_queued = 0;
  uint64_t control_dropped = 0;
};

class Endpoint final : public EngineObject,
                       public UdpSocketHandler,
                       private net::NetworkChangeListener {
 public:
  // Control packets a full socket refused wait in kControlQueue slots of
  // kControlMax bytes (the largest control packet the Endpoint builds).
  static constexpr size_t kControlQueue = 16;
  static constexpr size_t kControlMax = 256;

  // create opens the socket. A server needs |tls| with a certificate and
  // |acceptor|; a client endpoint passes a client |tls| and no acceptor.
  static Result<std::unique_ptr<Endpoint>> create(Engine& e, const EndpointOptions& o,
                                                  std::shared_ptr<QuicTlsContext> tls,
                                                  AcceptHandler* acceptor);
  ~Endpoint() override;

  // connect starts a client connection to |host|:|port| (an IP literal).
  // The Connection is owned by the Endpoint; |h| hears its events.
  Result<Connection*> connect(const std::string& host, uint16_t port, ConnectionHandler* h,
                              const ConnectionOptions* o = nullptr);

  uint16_t port() const noexcept;
  UdpSocket& socket() noexcept { return *socket_; }
  const EndpointStats& stats() const noexcept { return stats_; }
  size_t connection_count() const noexcept { return conns_.size(); }
  // token_store: where this client keeps NEW_TOKEN tokens (null when
  // use_new_tokens is off).
  TokenStore* token_store() const noexcept { return token_store_.get(); }
  // migrations: how many times network changes moved this endpoint to a
  // new socket.
  uint64_t migrations() const noexcept { return migrations_; }
  // hops: times the socket hopped to a new port (0 without |hop|).
  uint64_t hops() const noexcept { return socket_ ? socket_->stats().hops : 0; }
  // control_queue_size: control packets waiting for a writable socket.
  size_t control_queue_size() const noexcept { return ctl_count_; }

  // close closes everything; |cb| once all handles are closed (a caller
  // after the close began hears the end too, on the next turn if it is over).
  void close(CloseCallback cb, void* user) noexcept;
  void engine_close() noexcept override;

 private:
  friend class Connection;
  Endpoint(Engine& e, const EndpointOptions& o) : EngineObject(e), opts_(o), hop_timer_(e) {}
  void on_datagram(const sockaddr* from, const uint8_t* data, size_t len) override;
  void on_batch_end() override;
  // A client endpoint moves to a new socket when the host reports a
  // network change (net/host_hooks.hpp) and migrates its connections to it;
  // those that cannot migrate are closed (they would otherwise wait out
  // their idle timeout on a path that is gone; the next open dials anew).
  void on_network_changed(unsigned flags) noexcept override;
  void close_all_for_network_change() noexcept;
  void on_writable() override;
  void accept(const sockaddr* from, const uint8_t* data, size_t len) noexcept;
  void send_retry(const sockaddr* to, const ngtcp2_pkt_hd& hd) noexcept;
  // send_stateless_close answers the client Initial |hd| with a
  // CONNECTION_CLOSE of transport error |code| and |reason|, in an Initial
  // packet under the keys of the client's DCID, keeping no state.
  void send_stateless_close(const sockaddr* to, const ngtcp2_pkt_hd& hd, uint64_t code,
                            std::string_view reason) noexcept;
  void send_version_negotiation(const sockaddr* to, const ngtcp2_version_cid& vc) noexcept;
  void send_stateless_reset(const sockaddr* to, const ngtcp2_version_cid& vc, size_t len) noexcept;
  // send_control sends one endpoint-built packet, or queues it while the
  // socket is full (or earlier ones still wait); flush_control sends the
  // queue until the socket refuses again.
  void send_control(const sockaddr* to, const uint8_t* data, size_t len) noexcept;
  void flush_control() noexcept;
  // issue_new_token: a server connection finished its handshake.
  void issue_new_token(Connection& c) noexcept;
  // store_new_token: a client connection to |server| received a token.
  void store_new_token(const sockaddr* server, const uint8_t* token, size_t len);
  void register_cid(const std::string& cid, Connection* c) { routes_[cid] = c; }
  void unregister_cid(const std::string& cid) { routes_.erase(cid); }
  void mark_dirty(Connection* c);
  void connection_done(Connection* c) noexcept;  // teardown finished
  void maybe_finish_close() noexcept;
  // Port hopping: arm the next hop; hop to a random other port now.
  void schedule_hop() noexcept;
  void hop_now() noexcept;
  static void on_hop_timer(void* self);

  EndpointOptions opts_;
  std::shared_ptr<QuicTlsContext> tls_;
  AcceptHandler* acceptor_ = nullptr;
  std::unique_ptr<UdpSocket> socket_;
  StatelessResetKey reset_key_;
  RetryTokenKey retry_key_;
  ngtcp2_crypto_aead retry_aead_{};
  ngtcp2_crypto_aead_ctx retry_aead_ctx_{};
  bool retry_aead_ready_ = false;
  std::shared_ptr<tls::TlsSessionCache> session_cache_;
  bool subscribed_ = false;  // client: subscribed to network changes
  // Sockets replaced by a migration, closing; the Endpoint's close waits
  // for them too.
  std::vector<std::unique_ptr<UdpSocket>> retired_;
  int retiring_ = 0;
  bool retire_held_ = false;  // the close holds closer_ until retired_ is closed
  uint64_t migrations_ = 0;
  // Port hopping: the server address (port replaced at each hop) and the
  // timer of the next hop.
  sockaddr_storage hop_server_{};
  net::Timer hop_timer_;
  // CidHash lets routes_ be searched with a string_view of the packet's
  // DCID: our 16-byte CIDs are past std::string's inline capacity, so a
  // std::string key per packet was a heap allocation per packet.
  struct CidHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // DCID bytes -> connection
  std::unordered_map<std::string, Connection*, CidHash, std::equal_to<>> routes_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<Connection*> dirty_;  // connections that read packets this batch
  size_t half_open_ = 0;
  // rx_ts_: when the current receive batch began (one clock read per batch
  // instead of per packet; its packets arrived together). Valid while
  // in_rx_batch_; nothing else runs between a batch's packets, so no
  // connection has been given a later time.
  uint64_t rx_ts_ = 0;
  bool in_rx_batch_ = false;
  uv_idle_t idle_{};  // runs writes requested outside a receive batch
  bool idle_init_ = false;
  bool idle_started_ = false;
  bool socket_closing_ = false;  // the socket's close has begun
  net::Closer closer_;
  // close()'s callback and a second caller's (see close()), run by on_closed.
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  CloseCallback late_cb_ = nullptr;
  void* late_user_ = nullptr;
  static void on_closed(void* self) noexcept;
  EndpointStats stats_;
  std::shared_ptr<TokenStore> token_store_;  // client, use_new_tokens
  // Control packets refused by a full socket: a ring of fixed slots.
  struct ControlPacket {
    sockaddr_storage to;
    uint16_t len;
    uint8_t data[kControlMax];
  };
  std::array<ControlPacket, kControlQueue> ctl_{};
  size_t ctl_head_ = 0;
  size_t ctl_count_ = 0;
};

}  // namespace sluice::quic

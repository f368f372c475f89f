// connection.hpp: Connection, one QUIC connection (ngtcp2_conn + BoringSSL).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A Connection is created by its Endpoint (client: Endpoint::connect;
// server: on a client's first Initial) and lives on the Endpoint's socket.
// It turns received datagrams into ngtcp2_conn_read_pkt calls, and writes
// after each receive batch, each timer expiry and each new piece of
// application data: stream data round-robin over the streams that have
// some, queued DATAGRAM frames, then whatever ngtcp2 wants to send alone
// (ACKs, retransmissions, PINGs). Packets are built back to back into one
// 64 KiB buffer, up to ngtcp2_conn_get_send_quantum bytes, and go to the
// socket as one GSO run; the pacer's next send time
// (ngtcp2_conn_update_pkt_tx_time) and every other deadline come back
// through ngtcp2_conn_get_expiry, which arms the connection's one timer.
//
// Closing: close() sends CONNECTION_CLOSE with an application error code
// (RFC 9000 §10.2) and stays in the closing state for three PTOs; a peer's
// CONNECTION_CLOSE puts it in the draining state for three PTOs; an idle
// timeout (max_idle_timeout, RFC 9000 §10.1) ends it silently. At the end
// the handler hears on_closed exactly once and the Endpoint deletes the
// Connection: the pointer is valid until on_closed returns.
//
// Threads: the Engine's loop thread.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/ring.hpp"
#include "net/timer.hpp"
#include "quic/cc_hook.hpp"
#include "quic/quic_tls.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::quic {

class Endpoint;
class QuicStream;

// CongestionControl names ngtcp2 0.12.1's algorithms (settings.cc_algo).
// reno and cubic get sluice's cwnd ceiling (cc_hook.hpp); a RateController
// replaces the algorithm altogether.
enum class CongestionControl : uint8_t { cubic, reno, bbr, bbr2 };

struct ConnectionOptions {
  CongestionControl cc = CongestionControl::cubic;
  // How reno and cubic bound cwnd growth (cc_hook.hpp): the default follows
  // the smoothed RTT; `stock` keeps 0.12.1's min-RTT rule, which holds cwnd
  // near 41 KiB on paths whose queueing delay dwarfs the minimum RTT.
  CwndCeiling cwnd_ceiling = CwndCeiling::smoothed_rtt;
  // rate_controller: when set, each connection gets its own controller from
  // it, which then owns cwnd and pacing (`cc` is ignored). Creating the
  // connection fails with Errc::not_supported if the hook is unavailable.
  std::function<std::unique_ptr<RateController>()> rate_controller;
  // rate_controller_deferred: the library's `cc` is in charge from the
  // start and the controller hears nothing until cc_hook::take_over() (a
  // Hysteria server learns the client's rate only after the handshake).
  bool rate_controller_deferred = false;
  uint64_t idle_timeout_ms = 30000;  // max_idle_timeout TP (RFC 9000 §10.1)
  uint64_t keep_alive_ms = 0;        // PING after this much quiet; 0 = off
  uint64_t handshake_timeout_ms = 10000;
  // max_datagram_frame_size TP (RFC 9221 §3); 0 disables datagrams.
  uint64_t max_datagram_frame_size = 65535;
  // Server: treat a client's absent max_datagram_frame_size as this (0 = no).
  uint64_t assume_peer_max_datagram_frame_size = 0;
  uint64_t stream_window = 2u << 20;       // initial_max_stream_data_*
  uint64_t max_stream_window = 16u << 20;  // auto-tuning ceiling
  uint64_t conn_window = 8u << 20;         // initial_max_data
  uint64_t max_conn_window = 32u << 20;
  // watermarks_count_unacked: a stream's write watermarks count every byte
  // it holds (unsent and sent-but-unacknowledged) instead of the unsent
  // ones only (quic_stream.hpp), so an owner such as a Relay stops feeding
  // it once that much waits for the peer's acknowledgement. Costs
  // throughput on paths whose bandwidth-delay product exceeds the high
  // watermark; Endpoint sets it on an Engine with a pool cap, where every
  // held byte counts against the cap (endpoint.hpp).
  bool watermarks_count_unacked = false;
  uint64_t max_streams_bidi = 1024;
  uint64_t max_streams_uni = 64;
  size_t max_tx_udp_payload_size = 1452;  // ngtcp2's default; PMTUD probes up to it
  // fixed_udp_payload_size: send max_tx_udp_payload_size-byte datagrams
  // from the start (bounded by the peer's max_udp_payload_size), without
  // Path MTU Discovery. Only for links whose MTU the operator knows (a
  // jumbo-frame LAN: 8952 fits 9000); a path that cannot carry them drops
  // every full-sized packet and the connection stalls.
  bool fixed_udp_payload_size = false;
  size_t datagram_queue_max = 256;  // queued DATAGRAMs before drop-and-count
  // Client: a token for the first Initial (from a NEW_TOKEN frame of an
  // earlier connection to the same server; RFC 9000 §8.1.3). Empty: none.
  std::string initial_token;
};

struct ConnectionStats {
  uint64_t packets_read = 0;
  uint64_t packets_written = 0;
  uint64_t send_batches = 0;  // socket sends (one GSO run each)
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_received = 0;
  uint64_t datagrams_dropped = 0;  // too big, queue full, or lost in the socket
  uint64_t key_updates = 0;
  uint64_t write_calls = 0;      // write(): after a receive batch, a timer or new data
  uint64_t timer_fires = 0;      // the connection's timer (loss, ack delay, pacing, idle)
  uint64_t timer_immediate = 0;  // armed for a deadline already due after a write
  uint64_t timer_idle = 0;       // timer fires after which nothing was sent
  uint64_t stream_blocked = 0;   // a stream's send stopped at the peer's flow-control limit
  // compactions: times enough streams had closed for maybe_compact to give
  // their memory back to the allocator; compacted_bytes: what it gave back.
  uint64_t compactions = 0;
  uint64_t compacted_bytes = 0;
  // pmtu_black_holes: the path stopped carrying the size PMTUD had found
  // (probe timeouts in a row or a persistent congestion), so the packet size
  // went back to 1200 bytes and PMTUD started over (RFC 8899 §4.3).
  uint64_t pmtu_black_holes = 0;
};

class Connection;

// ConnectionHandler hears a connection's events on the loop thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void on_handshake_done(Connection&) {}
  // on_stream hands over a stream the peer opened; dropping it resets it.
  virtual void on_stream(Connection&, std::unique_ptr<QuicStream> s);
  virtual void on_datagram(Connection&, const uint8_t* data, size_t len) {
    (void)data;
    (void)len;
  }
  // on_streams_available: open_*_stream may succeed again.
  virtual void on_streams_available(Connection&) {}
  // on_closed: the connection ended; |app_error| is the peer's or our
  // application error code when |e| is Errc::closed. Last call.
  virtual void on_closed(Connection&, Errc e, uint64_t app_error, const char* reason) {
    (void)e;
    (void)app_error;
    (void)reason;
  }
};

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_handler(ConnectionHandler* h) noexcept { handler_ = h; }
  bool server() const noexcept { return server_; }
  bool handshake_completed() const noexcept;
  bool closed() const noexcept { return state_ != State::open; }

  // open_bidi_stream / open_uni_stream: limit_exceeded while the peer's
  // stream limit is reached (on_streams_available follows when it rises),
  // invalid_state before the handshake keys allow it or after close.
  Result<std::unique_ptr<QuicStream>> open_bidi_stream() noexcept;
  Result<std::unique_ptr<QuicStream>> open_uni_stream() noexcept;

  // send_datagram queues one DATAGRAM frame (RFC 9221). Unreliable: a
  // payload above max_datagram_payload() or a full queue is dropped and
  // counted (stats().datagrams_dropped) and reported as frame_too_large /
  // limit_exceeded; not_supported if the peer takes no datagrams.
  Status send_datagram(const uint8_t* data, size_t len) noexcept;
  // send_datagram(Slice) queues |payload| itself (no copy), same rules.
  Status send_datagram(Slice&& payload) noexcept;
  // send_datagram(head, body): one DATAGRAM whose payload is |head| then
  // |body|, gathered into the queued copy (no second copy for a protocol
  // header in front of a payload). Same rules and errors as above.
  Status send_datagram(std::span<const uint8_t> head, std::span<const uint8_t> body) noexcept;
  // max_datagram_payload is the largest payload that fits now (0 if none).
  size_t max_datagram_payload() const noexcept;

  // close sends CONNECTION_CLOSE with |app_error| and |reason| and ends the
  // connection after the closing period (on_closed follows). Called from a
  // handler while a packet is being read (stream data, acks), it takes effect
  // right after that packet: ngtcp2 forbids writing from inside its callbacks.
  // |local| is the error the connection's own streams and handler hear
  // (Errc::closed, or network_changed when the host reported one).
  void close(uint64_t app_error, std::string_view reason = {}, Errc local = Errc::closed) noexcept;
  // initiate_key_update starts a 1-RTT key update (RFC 9001 §6).
  Status initiate_key_update() noexcept;

  // close_reason / close_app_error: once closed(), the reason phrase and
  // application error code of the CONNECTION_CLOSE that ended it (the
  // peer's or ours; a local cause's text otherwise), as on_closed will give.
  const std::string& close_reason() const noexcept { return close_reason_; }
  uint64_t close_app_error() const noexcept { return close_app_error_; }
  std::string alpn() const;
  SSL* ssl() const noexcept { return tls_.ssl; }
  // session_resumed: the handshake resumed a ticket (SSL_session_reused).
  bool session_resumed() const noexcept;
  // early_data_attempted: a client offered 0-RTT with a remembered ticket and
  // may open streams and write before the handshake completes; then
  // early_data_accepted() tells whether the server took it (after the
  // handshake), early_data_rejected() that the data went again as 1-RTT.
  bool early_data_attempted() const noexcept { return early_attempted_; }
  bool early_data_accepted() const noexcept;
  bool early_data_rejected() const noexcept { return tls_.early_data_rejected; }
  // ech_accepted: the server decrypted our ECH (the inner hello was used).
  bool ech_accepted() const noexcept;
  // ech_retry_configs: after a close with Errc::ech_rejected, the
  // ECHConfigList the server offered for a retry (empty if none): connect
  // again with it, as the TLS transport's dialer does.
  const std::vector<uint8_t>& ech_retry_configs() const noexcept { return ech_retry_; }
  ngtcp2_conn* native() const noexcept { return conn_; }
  const ConnectionStats& stats() const noexcept { return stats_; }
  // congestion returns ngtcp2's view: cwnd, srtt, bytes in flight, pacing.
  ngtcp2_conn_stat conn_stat() const noexcept;
  const ConnectionOptions& options() const noexcept { return opts_; }
  // rate_controller: the connection's own controller (from
  // ConnectionOptions::rate_controller), nullptr without one; its owner may
  // adjust it between calls (Hysteria's Brutal learns its rate after the
  // handshake).
  RateController* rate_controller() const noexcept { return rate_ctl_.get(); }
  // pool is the Engine's buffer pool (for layers above: HTTP/3 framing).
  BufferPool& pool() noexcept;
  // peer_bidi_stream_limit is the cumulative number of bidirectional streams
  // the peer may open: initial_max_streams_bidi plus every MAX_STREAMS
  // extension given back as its streams closed (RFC 9000 §4.6).
  uint64_t peer_bidi_stream_limit() const noexcept { return peer_bidi_limit_; }

 private:
  friend class Endpoint;
  friend class QuicStream;
  bool send_blocked() const noexcept { return npending_ > 0; }
  enum class State : uint8_t { open, closing, draining, dead };

  Connection(Endpoint& ep, bool server, const ConnectionOptions& o) noexcept;
  // init_client / init_server create the ngtcp2 connection and the SSL.
  Status init_client(const sockaddr* remote, const QuicTlsContext& tls, const std::string& host,
                     uint16_t port) noexcept;
  // init_server: |retry| carries what a validated Retry token proved (the
  // client's original DCID and our Retry SCID), nullptr without Retry.
  struct RetryInfo {
    ngtcp2_cid original_dcid;
    ngtcp2_cid retry_scid;
  };
  // |token_validated|: the Initial's token is a NEW_TOKEN of ours that
  // opened (RFC 9000 §8.1.3), so the address counts as validated.
  Status init_server(const sockaddr* remote, const ngtcp2_pkt_hd& hd, const QuicTlsContext& tls,
                     const RetryInfo* retry = nullptr, bool token_validated = false) noexcept;
  // 0-RTT rejected: take the streams back before ngtcp2 discards them, and
  // reopen them (same order, so same IDs) once the handshake completes.
  static void on_early_rejected(void* self) noexcept;
  void reopen_early_streams() noexcept;
  void fill_settings(ngtcp2_settings& s, ngtcp2_transport_params& p) const noexcept;
  static void fill_callbacks(ngtcp2_callbacks& cb) noexcept;
  Status make_rate_controller() noexcept;
  static void enqueue(Ring<QuicStream*>& q, QuicStream* s) noexcept;
  void set_path(const sockaddr* remote) noexcept;
  // migrate moves a client connection to its Endpoint's new socket (RFC
  // 9000 §9: immediate migration, the new path validated meanwhile);
  // invalid_state if it cannot (handshake not confirmed, migration disabled
  // by the peer, no spare connection ID).
  Status migrate() noexcept;

  // read handles one datagram addressed to this connection.
  void read(const sockaddr* from, const uint8_t* data, size_t len) noexcept;
  // write sends everything ngtcp2 is willing to send now and re-arms the timer.
  void write() noexcept;
  bool write_batch(uint64_t now, bool* more) noexcept;
  // flush_rx hands every stream's bytes of the receive batch to its owner
  // (once per batch, before write(): the credit it returns goes out at once).
  void flush_rx() noexcept;
  bool has_rx_ready() const noexcept { return !rx_ready_.empty(); }
  // send_run sends one GSO run from sendbuf_; on a full socket the unsent
  // tail becomes a pending run and false is returned.
  bool send_run(const sockaddr* to, size_t off, size_t len, size_t segment) noexcept;
  // flush_pending retries the pending runs; true once none is left.
  bool flush_pending() noexcept;
  void arm_timer(bool after_idle_fire = false) noexcept;
  static void on_timer(void* self);
  void fail(int ngtcp2_error) noexcept;
  void start_draining(Errc e) noexcept;
  void teardown() noexcept;  // ends the connection: streams, CIDs, handler, timer
  void detach_streams(Errc e, const char* why) noexcept;  // every stream hears on_closed_by_conn
  void schedule_write() noexcept;
  void stream_wants_send(QuicStream* s) noexcept;
  void stream_rx_ready(QuicStream* s) noexcept;
  void stream_low_ready(QuicStream* s) noexcept;
  // flush_low tells the owners of streams that drained to their low
  // watermark during a write (on_write_low), after it.
  void flush_low() noexcept;
  // forget_queued takes |s| off the send and delivery lists.
  void forget_queued(QuicStream* s) noexcept;
  void stream_closing(QuicStream* s) noexcept;
  void extend_credit(QuicStream* s, size_t n) noexcept;
  // maybe_compact gives the memory of closed streams back to the allocator
  // (ngtcp2's object pools and stream table, our stream tables and queues)
  // once enough of them closed: at least kCompactMinClosed and twice the
  // streams still kept, or every stream after more than 64 were open at
  // once. Counted since the last compaction, so its cost (a walk of what
  // was freed) is spread over the streams that made it due, never paid per
  // packet. Outside ngtcp2's callbacks only (end of write()).
  void maybe_compact() noexcept;
  Result<std::unique_ptr<QuicStream>> adopt_stream(int64_t id) noexcept;

  // ngtcp2 callbacks
  static int cb_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t offset,
                                 const uint8_t* data, size_t len, void* user, void* stream_user);
  static int cb_stream_open(ngtcp2_conn*, int64_t id, void* user);
  static int cb_stream_close(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t app_error,
                             void* user, void* stream_user);
  static int cb_stream_reset(ngtcp2_conn*, int64_t id, uint64_t final_size, uint64_t app_error,
                             void* user, void* stream_user);
  static int cb_stream_stop_sending(ngtcp2_conn*, int64_t id, uint64_t app_error, void* user,
                                    void* stream_user);
  static int cb_acked_stream_data_offset(ngtcp2_conn*, int64_t id, uint64_t offset,
                                         uint64_t datalen, void* user, void* stream_user);
  static int cb_extend_max_stream_data(ngtcp2_conn*, int64_t id, uint64_t max_data, void* user,
                                       void* stream_user);
  static int cb_extend_max_streams(ngtcp2_conn*, uint64_t max_streams, void* user);
  static int cb_handshake_completed(ngtcp2_conn*, void* user);
  static int cb_recv_new_token(ngtcp2_conn*, const ngtcp2_vec* token, void* user);
  static int cb_recv_datagram(ngtcp2_conn*, uint32_t flags, const uint8_t* data, size_t len,
                              void* user);
  static int cb_get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen,
                                      void* user);
  static int cb_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user);
  static int cb_update_key(ngtcp2_conn*, uint8_t*, uint8_t*, ngtcp2_crypto_aead_ctx*, uint8_t*,
                           ngtcp2_crypto_aead_ctx*, uint8_t*, const uint8_t*, const uint8_t*,
                           size_t, void*);

  Endpoint& ep_;
  bool server_;
  ConnectionOptions opts_;
  ConnectionHandler* handler_ = nullptr;
  // rate_ctl_ outlives conn_: ~Connection deletes conn_ first.
  std::unique_ptr<RateController> rate_ctl_;
  ngtcp2_conn* conn_ = nullptr;
  TlsBinding tls_;
  State state_ = State::open;
  Errc close_error_ = Errc::ok;
  uint64_t close_app_error_ = 0;
  std::string close_reason_;
  // The loss/ack/pacing/idle timer, then the closing or draining period.
  // timer_open_: from init_* until teardown.
  net::Timer timer_;
  bool timer_open_ = false;
  sockaddr_storage remote_{};
  sockaddr_storage local_{};
  ngtcp2_path path_{};
  Slice sendbuf_;  // 64 KiB pool chunk for one GSO run
  // Packets ngtcp2 built that a full socket refused (EAGAIN), kept in
  // sendbuf_ and sent first once the socket is writable (at most two runs:
  // a batch flushes early only when a packet is bigger than the run's).
  struct PendingRun {
    size_t off, len, segment;
  };
  PendingRun pending_[2];
  size_t npending_ = 0;
  sockaddr_storage pending_to_{};
  std::unordered_map<int64_t, QuicStream*> streams_;
  // Each stream is at most once in each of these three queues, and
  // adopt_stream reserves room for every stream, so pushing never allocates.
  Ring<QuicStream*> send_queue_;  // streams with data to send, round robin
  Ring<QuicStream*> rx_ready_;    // streams with bytes to deliver (flush_rx)
  Ring<QuicStream*> low_ready_;   // streams whose unsent bytes fell to low
  Ring<Slice> datagrams_;         // queued DATAGRAM payloads
  // Send data of streams the owner closed while ngtcp2 may still retransmit
  // from it; freed on ack or when ngtcp2 closes the stream.
  std::unordered_map<int64_t, Chain> orphans_;
  std::vector<std::string> cids_;           // CIDs registered with the Endpoint
  std::vector<QuicStream*> early_streams_;  // 0-RTT streams waiting to be reopened
  std::vector<uint8_t> ech_retry_;
  bool early_attempted_ = false;
  bool in_write_ = false;
  bool in_read_ = false;          // inside ngtcp2_conn_read_pkt (its callbacks)
  bool close_deferred_ = false;   // close() called while in_read_
  uint64_t peer_bidi_limit_ = 0;  // see peer_bidi_stream_limit()
  uint64_t streams_closed_ = 0;   // streams ngtcp2 closed since the last maybe_compact
  bool write_scheduled_ = false;
  bool handshake_reported_ = false;
  bool teardown_done_ = false;
  // The newest packet number made PTO-eliciting for its DATAGRAM frames,
  // and stats_.datagrams_sent then (write()).
  int64_t dgram_marked_pkt_ = -1;
  uint64_t dgram_marked_sent_ = 0;
  ConnectionStats stats_;
};

}  // namespace sluice::quic

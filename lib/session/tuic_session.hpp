// session/tuic_session.hpp: TuicSession, the `tuic` outbound (TUIC v5
// client over one shared QUIC connection).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One QUIC connection per Session carries every flow (as sing-box and
// tuic-client do). It is dialed on the first open (QuicDial: resolve,
// handshake, the Engine's ticket cache) and, once the handshake completes,
// authenticated on a unidirectional stream: 05 00 UUID TOKEN, TOKEN = the
// TLS exporter with label = the UUID's 16 raw bytes, context = password,
// 32 bytes. TUIC servers never answer; a refusal is a CONNECTION_CLOSE.
//
//   TCP   open_stream opens a bidirectional stream, writes Connect (05 01
//         ADDR) and hands the stream over at once (there is no reply); the
//         header leaves with the first bytes the relay writes. Opens asked
//         for while the connection is being made (or while the server's
//         stream limit is reached) wait, and are answered when it is up, or
//         fail with the dial's error: they are paused, not failed.
//   UDP   open_datagram returns a flow with its own association id; each
//         datagram goes as Packet commands in udp_relay_mode (native:
//         DATAGRAM frames fragmented to the current max DATAGRAM payload;
//         quic: a uni stream per packet); replies arrive in either form and
//         are reassembled. Closing the flow sends Dissociate.
//   Heartbeat  a DATAGRAM 05 04 every heartbeat_ms while connected
//         (sing-box's client; 0 disables).
//   Errors  a connection the server closes fails every stream and flow on
//         it with a reason naming the cause: auth_failed when the server
//         said the authentication failed (sluice's and tuic-server's close
//         reasons), otherwise connection_reset "connection to the TUIC
//         server lost: ...". The next open dials again; after a failed dial
//         the next attempt waits (backoff doubling from
//         reconnect_min_ms to reconnect_max_ms; reset by a success).
//
// Threads: the Engine's loop thread.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/resolve.hpp"
#include "net/timer.hpp"
#include "proto/target_address.hpp"
#include "proto/tuic/reassembly.hpp"
#include "proto/tuic/tuic.hpp"
#include "quic/connection.hpp"
#include "quic/quic_dial.hpp"
#include "quic/quic_tls.hpp"
#include "session/tuic_packets.hpp"
#include "sluice/session.hpp"

namespace sluice {

struct TuicSessionOptions {
  std::string server;
  uint16_t server_port = 0;
  tuic::Uuid uuid{};
  std::string password;
  // tls: client options (alpn required, server_name, verification).
  quic::QuicTlsOptions tls;
  quic::CongestionControl congestion_control = quic::CongestionControl::cubic;
  tuic::RelayMode udp_relay_mode = tuic::RelayMode::native;
  uint64_t heartbeat_ms = 10000;
  uint64_t connect_timeout_ms = 10000;  // resolve + handshake
  uint64_t idle_timeout_ms = 30000;     // QUIC max_idle_timeout
  uint64_t reconnect_min_ms = 200;
  uint64_t reconnect_max_ms = 10000;
  // zero_rtt: resume with 0-RTT when the Engine's ticket cache holds a
  // ticket of this server that allows it (Connect streams go in early data;
  // Authenticate follows the handshake). Replayable: see docs/protocols/tuic.md.
  bool zero_rtt = false;
  bool tcp = true;
  bool udp = true;
  // Opens and UDP datagrams waiting for the connection, at most.
  size_t max_pending_opens = 4096;
  size_t max_pending_datagrams = 256;
};

struct TuicSessionStats {
  uint64_t dials = 0;
  uint64_t dial_failures = 0;
  uint64_t connections = 0;  // dials that succeeded (authentication sent)
  uint64_t auth_refused = 0;
  uint64_t connections_lost = 0;
  uint64_t streams = 0;
  uint64_t heartbeats = 0;
  uint64_t resumed = 0;             // 0-RTT path: handshakes that resumed a ticket
  uint64_t zero_rtt_attempted = 0;  // connections that sent 0-RTT
  uint64_t zero_rtt_accepted = 0;   // ... and the server took it
  uint64_t udp_sent = 0;
  uint64_t udp_received = 0;
  uint64_t udp_dropped = 0;
  uint64_t udp_fragmented = 0;
};

class TuicSession final : public Session,
                          private quic::QuicDialHandler,
                          private quic::ConnectionHandler,
                          private tuic::UniReaderOwner {
 public:
  struct Fate;
  class Flow;

  static Result<std::unique_ptr<TuicSession>> create(Engine& e, std::string tag,
                                                     const TuicSessionOptions& o, std::string* why);
  ~TuicSession() override;

  const char* type() const noexcept override { return "tuic"; }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override;
  void cancel_open(OpenHandler* h) noexcept override;
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;

  const TuicSessionStats& stats() const noexcept { return stats_; }
  // connected: a connection is up and authenticated (Authenticate sent).
  bool connected() const noexcept { return conn_ != nullptr; }
  // connection: the current connection (nullptr when none), for tests and stats.
  quic::Connection* connection() const noexcept { return conn_; }
  // last_error: why the last connection or dial ended ("" if none did).
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  TuicSession(Engine& e, std::string tag, const TuicSessionOptions& o,
              std::shared_ptr<quic::QuicTlsContext> ctx);

  struct PendingOpen {
    OpenHandler* h;
    TargetAddress target;
  };

  // live: a connection is up; one that is closing counts as gone at once.
  bool live() noexcept;
  void ensure_connecting() noexcept;
  static void on_backoff(void* self);
  void start_dial() noexcept;
  void start_direct() noexcept;
  static void on_resolved(void* user, int status, std::vector<sockaddr_storage>&& addrs);
  void connect_direct(const sockaddr_storage& to) noexcept;
  void connected(quic::Connection* c) noexcept;
  void finish_close() noexcept;
  void on_quic_dial(Result<quic::QuicDialed> r, const char* reason) override;
  void dial_failed(Errc e, const std::string& why) noexcept;
  bool authenticate() noexcept;
  void open_now(OpenHandler* h, const TargetAddress& t) noexcept;
  void drain_pending() noexcept;
  // release_pending frees pending_'s blocks once it is empty after having
  // held more than kKeptPending entries.
  void release_pending() noexcept;
  static constexpr size_t kKeptPending = 16;
  void fail_pending(Errc e, const char* why) noexcept;
  void connection_gone(Errc e, const std::string& why) noexcept;
  static void on_heartbeat(void* self);
  void release_endpoint() noexcept;

  // quic::ConnectionHandler
  void on_handshake_done(quic::Connection& c) override;
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override;
  void on_datagram(quic::Connection&, const uint8_t* data, size_t len) override;
  void on_streams_available(quic::Connection&) override;
  void on_closed(quic::Connection&, Errc e, uint64_t app_error, const char* reason) override;
  // tuic::UniReaderOwner
  void on_uni_command(tuic::UniReader* r, const tuic::ParsedCommand& c, Slice&& payload) override;
  void on_uni_error(tuic::UniReader* r, Errc e) override;
  void drop_reader(tuic::UniReader* r) noexcept;
  void packet(const tuic::PacketHeader& h, Slice&& payload) noexcept;

  // --- for Flow ---
  friend class Flow;
  Status flow_send(Flow* f, const TargetAddress& to, const Slice& payload) noexcept;
  void flow_closed(Flow* f) noexcept;

  TuicSessionOptions opts_;
  std::shared_ptr<quic::QuicTlsContext> ctx_;
  quic::QuicDial* dial_ = nullptr;
  bool dialing_ = false;        // between QuicDial::start and its answer
  net::Resolution resolution_;  // the 0-RTT path's lookup
  bool resolving_ = false;
  quic::Connection* handshaking_ = nullptr;  // the 0-RTT path's connection until its handshake
  quic::Endpoint* closing_ep_ = nullptr;     // close(): the Endpoint being closed
  std::unique_ptr<quic::Endpoint> endpoint_;
  quic::Connection* conn_ = nullptr;  // up and authenticated
  std::shared_ptr<Fate> fate_;        // the current connection's, shared with its streams
  // A deque: drained from the front, put back at the front, up to
  // max_pending_opens long (a vector's front erase made draining 4,096
  // quadratic).
  std::deque<PendingOpen> pending_;
  size_t pending_peak_ = 0;  // most entries since the last release
  net::Timer backoff_timer_;
  net::Timer heartbeat_timer_;
  uint64_t failures_ = 0;      // consecutive failed dials
  uint64_t next_dial_ms_ = 0;  // not before (backoff)
  tuic::UniOutbox outbox_;
  tuic::UniReader* readers_ = nullptr;
  tuic::Reassembler reasm_;
  tuic::PacketSender sender_;
  std::unordered_map<uint16_t, Flow*> flows_;
  uint16_t next_assoc_ = 0;
  // Datagrams sent while the connection is being made.
  struct QueuedDatagram {
    Flow* flow;
    TargetAddress to;
    Slice payload;
  };
  std::vector<QueuedDatagram> queued_;
  std::string last_error_;
  TuicSessionStats stats_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice

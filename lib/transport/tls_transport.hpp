// tls_transport.hpp: TlsTransport, TLS (client or server) decorating any
// inner Transport.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The TLS state machine is tls::TlsConnection (lib/crypto, sans I/O); this
// class moves bytes between it and the inner Transport on the loop:
//
//   inner on_data -> feed -> handshake / open records (in place) -> on_data
//   write(plain)  -> seal records (in place where the chunk allows) -> inner write
//
// The handshake starts with start_handshake(); its handler hears the result
// exactly once (unless close() comes first). Writes made before that are
// queued as plaintext and sent when the handshake completes; received
// application data waits inside until read_start().
//
// Half-close: shutdown() sends close_notify after the queued bytes and then
// shuts the inner transport's write side; the peer's close_notify (or a raw
// end-of-stream without one, which many peers do) arrives as on_eof.
//
// Reads. On TLS 1.3 the records are opened in place (tls::TlsConnection's
// in-place path): each record's plaintext is a Slice of the chunk the socket
// read landed in. By default the records of the reads so far (at most
// kReadBatch) go up together: in one on_data_chain to an owner that takes
// Chains (a Relay writes them with one socket write), else one on_data per
// record. Coalescing them into one buffer, as the TLS 1.2 path still does
// (read_coalesced: every complete record received so far into one 64 KiB
// pool chunk), would cost a copy. One on_data per socket read rather than
// per 16 KiB record was worth about 10% CPU and 20-30% throughput for a
// Trojan tunnel (docs/perf/tunnel.md). set_one_record_reads(true) makes one
// on_data carry exactly one record's plaintext, so an owner can stop at any
// record boundary (VLESS Vision must: what follows its switch point may not
// be TLS at all, so it must not be opened).
//
// Writes. An owner's Slices are sealed where they lie when their chunk is
// theirs alone (the last record of each Slice in place, the ones before it
// into one output chunk), and go to the inner transport in one write.
//
// Leaving TLS mid-stream (VLESS Vision): with reading stopped, detach()
// returns the inner transport, the decrypted-but-unread plaintext and the
// raw bytes not yet handed to BoringSSL, and leaves this object empty (its
// close() then completes at once). With one-record reads, a handler can
// stop at any record boundary by calling read_stop() inside on_data.
//
// Ownership: owns the inner transport. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>

#include "crypto/tls_connection.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice {

// TlsHandshakeHandler hears how a handshake ended.
class TlsHandshakeHandler {
 public:
  virtual ~TlsHandshakeHandler() = default;
  // on_handshake: Errc::ok, or the failure (reason borrowed for the call).
  virtual void on_handshake(Errc result, const char* reason) = 0;
};

// TlsStats adds TLS facts to TransportStats.
struct TlsInfo {
  std::string version;
  std::string cipher;
  std::string alpn;
  std::string server_name;  // server side: the SNI received
  bool resumed = false;
  bool ech_accepted = false;
  uint64_t handshake_us = 0;  // from start_handshake to completion
};

class TlsTransport final : public Transport, private TransportHandler {
 public:
  static Result<std::unique_ptr<TlsTransport>> client(
      Engine& e, std::unique_ptr<Transport> inner, std::shared_ptr<const tls::TlsClientContext> ctx,
      tls::TlsClientParams params);
  static Result<std::unique_ptr<TlsTransport>> server(Engine& e, std::unique_ptr<Transport> inner,
                                                      std::shared_ptr<tls::TlsServerContext> ctx);
  ~TlsTransport() override;

  // start_handshake sends the first flight (client) or waits for one
  // (server). |h| is called exactly once unless close() comes first; it
  // may close this transport inside the call. Under a pool cap
  // (BufferPoolOptions::max_bytes) the handshake is new work: it first
  // reserves kHandshakeBlocks 16 KiB pool blocks (a socket read and a TLS
  // flight) and, if the cap refuses, fails at once with limit_exceeded and
  // the pool's reason, sending nothing; the reservation is held until the
  // handshake ends.
  void start_handshake(TlsHandshakeHandler* h) noexcept;
  static constexpr uint32_t kHandshakeBlocks = 2;
  bool handshake_done() const noexcept { return conn_->handshake_done(); }
  const TlsInfo& info() const noexcept { return info_; }
  tls::TlsConnection& connection() noexcept { return *conn_; }
  // set_one_record_reads: true = one record per on_data; false (the
  // default) = every complete record received so far (see above). May be
  // changed at any time; it applies from the next on_data.
  void set_one_record_reads(bool on) noexcept { one_record_ = on; }
  Transport* inner() noexcept { return inner_.get(); }
  // key_update sends a TLS 1.3 KeyUpdate and switches to the next sending
  // key (|request_peer|: ask the peer to do the same); invalid_state on TLS 1.2.
  Status key_update(bool request_peer) noexcept;

  // TlsCounters count this transport's I/O for perf/tunnel_bench: socket
  // reads and writes below TLS, and batches of records above it.
  struct TlsCounters {
    uint64_t raw_reads = 0;  // on_data calls from the inner transport
    uint64_t raw_read_bytes = 0;
    uint64_t raw_writes = 0;  // writes to the inner transport
    uint64_t raw_write_bytes = 0;
    uint64_t read_batches = 0;   // deliveries of opened records upward
    uint64_t write_batches = 0;  // owner writes sealed
  };
  const TlsCounters& counters() const noexcept { return counters_; }
  const tls::TlsConnection::RecordStats& record_stats() const noexcept {
    return conn_->record_stats();
  }
  // TlsTotals add up the counters of every TlsTransport of the process
  // (folded in when each is destroyed), for perf/tunnel_bench.
  struct TlsTotals {
    uint64_t transports = 0;
    uint64_t in_place = 0;  // of which used the in-place record path
    TlsCounters io;
    tls::TlsConnection::RecordStats records;
  };
  static TlsTotals process_totals() noexcept;
  // kReadBatch: records per delivery at most (a Chain holds 4 Slices inline).
  static constexpr size_t kReadBatch = 4;

  // Detached is what detach() hands back.
  struct Detached {
    std::unique_ptr<Transport> inner;
    Chain plaintext;  // decrypted, not yet delivered (unread() bytes first)
    Chain raw;        // received, not yet given to TLS
  };
  // detach gives up TLS (see the file comment); invalid_state while a
  // handshake runs or while writes are queued in plaintext.
  Result<Detached> detach() noexcept;

  void set_handler(TransportHandler* h) noexcept override {
    // A new owner hears an end-of-stream the previous one already saw.
    if (h != handler_) eof_delivered_ = false;
    handler_ = h;
  }
  Status write(Chain&& data) noexcept override;
  size_t write_buffered() const noexcept override;
  void set_write_watermarks(size_t low, size_t high) noexcept override;
  void read_start() noexcept override;
  void read_stop() noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  void reset_on_close() noexcept override {
    if (inner_) inner_->reset_on_close();
  }
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

  using Transport::write;

 private:
  TlsTransport(Engine& e, std::unique_ptr<Transport> inner) noexcept;

  // inner transport events
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void on_write_high() override;
  void on_write_low() override;
  void on_drained() override;

  void drive_handshake() noexcept;
  void finish_handshake(Errc e) noexcept;
  void process_reads() noexcept;
  Result<Slice> read_coalesced() noexcept;
  void deliver_batch() noexcept;
  Status flush() noexcept;
  Status encrypt(Chain&& plain) noexcept;
  void maybe_shutdown() noexcept;
  void fail(Errc e, const std::string& reason) noexcept;

  Engine& engine_;
  std::unique_ptr<Transport> inner_;
  std::unique_ptr<tls::TlsConnection> conn_;
  TransportHandler* handler_ = nullptr;        // not owned
  TlsHandshakeHandler* hs_handler_ = nullptr;  // not owned; cleared once called
  Chain plain_out_;                            // written before the handshake finished
  Chain unread_;                               // pushed back by the owner, delivered first
  Chain batch_;                                // records opened, being delivered
  TlsInfo info_;
  uint64_t hs_start_us_ = 0;
  PoolReservation hs_reservation_;  // pool room promised to the running handshake
  bool handshaking_ = false;
  bool reading_ = false;
  bool one_record_ = false;  // set_one_record_reads
  bool processing_ = false;  // inside process_reads (no recursion)
  bool eof_ = false;         // TLS end-of-stream seen
  bool eof_delivered_ = false;
  bool shutdown_wanted_ = false;
  bool shutdown_sent_ = false;
  bool failed_ = false;
  bool closing_ = false;
  bool detached_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  TransportStats stats_;
  TlsCounters counters_;
};

}  // namespace sluice

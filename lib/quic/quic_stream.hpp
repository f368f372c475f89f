// quic_stream.hpp: QuicStream, one QUIC stream as a sluice Transport.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Writes: write() appends the Chain's Slices to send_ (no copy). The
// connection hands ngtcp2 iovecs into send_ from unsent_off_ on, and drops
// the front of send_ as ngtcp2 reports it acknowledged (acked bytes never
// need retransmitting). The watermarks count every byte still held: unsent
// plus sent-but-unacknowledged, which is the memory the stream pins.
// shutdown() sends FIN after the last byte; on_drained fires once every byte
// and a requested FIN have been sent and the bytes acknowledged. close()
// before both directions have ended resets the stream (RESET_STREAM and
// STOP_SENDING with application error 0, RFC 9000 §19.4-§19.5).
//
// Reads: received bytes are copied once out of ngtcp2's decrypt buffer into
// pool Slices (ngtcp2 owns that buffer only during the callback). While the
// owner reads, they are delivered at once and the stream's and connection's
// flow-control credit is extended by what was delivered; after read_stop()
// they wait in rx_ and no credit is given, so a slow consumer stops the peer
// at its QUIC window instead of buffering without bound (RFC 9000 §4.1).
//
// Lifetime: the owner holds the QuicStream (unique_ptr) and closes it before
// deleting it. If the connection ends first, the stream gets on_error and
// only close() remains. Threads: the Engine's loop thread.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/buffer.hpp"
#include "sluice/transport.hpp"

struct uv_loop_s;

namespace sluice::quic {

class Connection;

class QuicStream final : public Transport {
 public:
  ~QuicStream() override;

  int64_t id() const noexcept { return id_; }
  bool bidi() const noexcept { return (id_ & 0x2) == 0; }
  // reset sends RESET_STREAM/STOP_SENDING with |app_error| now (abortive).
  void reset(uint64_t app_error) noexcept;
  // stop_reading sends STOP_SENDING with |app_error| (RFC 9000 §19.5) and
  // leaves the write side alone; the peer answers with RESET_STREAM.
  void stop_reading(uint64_t app_error) noexcept;

  // Transport
  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  Status write(Chain&& data) noexcept override;
  using Transport::write;
  size_t write_buffered() const noexcept override { return send_.size(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override;
  void read_start() noexcept override;
  void read_stop() noexcept override;
  Status unread(Chain&& data) noexcept override;
  Status shutdown() noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

 private:
  friend class Connection;
  QuicStream(Connection* c, int64_t id) noexcept : conn_(c), id_(id) {}

  // --- called by the Connection ---
  void on_recv(const uint8_t* data, size_t len, bool fin) noexcept;
  void on_acked(uint64_t n) noexcept;
  void on_sent(size_t n, bool fin_sent) noexcept;
  void on_peer_reset(uint64_t app_error) noexcept;
  void on_closed_by_conn(Errc e, const char* why) noexcept;
  void on_stream_closed() noexcept;  // ngtcp2 freed the stream
  bool wants_send() const noexcept {
    return !failed_ && !closing_ && (unsent() > 0 || (fin_wanted_ && !fin_sent_));
  }
  size_t unsent() const noexcept { return send_.size() - unsent_off_; }
  void deliver() noexcept;
  void check_low() noexcept;

  Connection* conn_;           // null once the connection is gone
  uv_loop_s* loop_ = nullptr;  // for the deferred close callback
  int64_t id_;
  TransportHandler* handler_ = nullptr;
  Chain send_;             // unacked bytes, oldest first
  size_t unsent_off_ = 0;  // offset in send_ of the first byte not yet given to ngtcp2
  Chain rx_;               // received, not yet delivered (reading stopped)
  size_t low_ = 256 * 1024;
  size_t high_ = 1024 * 1024;
  bool above_high_ = false;
  bool reading_ = false;
  bool rx_fin_ = false;  // the peer's FIN arrived (after rx_)
  bool eof_delivered_ = false;
  bool fin_wanted_ = false;  // shutdown() called
  bool fin_sent_ = false;
  bool in_send_queue_ = false;  // on the connection's send list
  bool failed_ = false;
  bool closing_ = false;
  bool delivering_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  TransportStats stats_;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice::quic

// quic_stream.hpp: QuicStream, one QUIC stream as a sluice Transport.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Writes: write() appends the Chain's Slices to send_ (no copy). The
// connection hands ngtcp2 iovecs into send_ from unsent_off_ on, and drops
// the front of send_ as ngtcp2 reports it acknowledged (acked bytes never
// need retransmitting). The watermarks count the bytes not yet handed to
// ngtcp2 (write_unsent()), the analogue of a TCP transport's user-space
// queue; sent-but-unacknowledged bytes are the analogue of the kernel's
// socket send buffer, bounded by the congestion window and the peer's
// flow-control credit. Counting them too would cap a relayed flow at
// high-watermark bytes per round trip (512 KiB per RTT with the relay's
// defaults: ~10 MB/s on a 50 ms path) whatever the path could carry.
// write_buffered() still reports every byte held (unsent + unacknowledged).
// On a connection with ConnectionOptions::watermarks_count_unacked (an
// Engine with a pool cap) the watermarks count every byte held instead:
// there the pool, not the path, is the limit, and a fast path's congestion
// window would otherwise let one stream pin megabytes of pool chunks until
// they are acknowledged.
// shutdown() sends FIN after the last byte; on_drained fires once every byte
// and a requested FIN have been sent and the bytes acknowledged. close()
// before both directions have ended resets the stream (RESET_STREAM and
// STOP_SENDING with application error 0, RFC 9000 §19.4-§19.5).
//
// Reads: received bytes are copied once out of ngtcp2's decrypt buffer
// (ngtcp2 owns it only during the callback), back to back into one 64 KiB
// pool chunk (rx_tail_), so the STREAM frames of a whole receive batch become
// one Slice: the owner gets one on_data per batch, not one per packet (a
// relay then makes one write to its other side, not one per 1.4 KB). The
// connection delivers at the end of the batch (Connection::flush_rx). A
// small batch (at most a quarter of the chunk) is copied into a Slice of
// its own size instead, so a trickle of tiny frames cannot pin 64 KiB each
// in a consumer's queue. While the owner reads, the stream's and the
// connection's flow-control credit is extended by what was delivered; after
// read_stop() bytes wait (rx_tail_ fills up completely, then rx_) and no
// credit is given, so a slow consumer stops the peer at its QUIC window
// instead of buffering without bound (RFC 9000 §4.1).
//
// Lifetime: the owner holds the QuicStream (unique_ptr) and closes it before
// deleting it. If the connection ends first, the stream gets on_error and
// only close() remains. Threads: the Engine's loop thread.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/buffer.hpp"
#include "sluice/transport.hpp"

namespace sluice {
class Engine;
}

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
  // write_buffered: the bytes held (unsent and unacknowledged), plus one
  // while a FIN that shutdown() asked for has not gone to ngtcp2 yet: an
  // owner that closes once both directions ended and nothing is buffered
  // (Relay) must wait for the FIN, or close() resets the stream under it
  // and the peer loses what it had not read. on_drained follows the FIN.
  size_t write_buffered() const noexcept override {
    return send_.size() + (fin_wanted_ && !fin_sent_ && !failed_ && !closing_ ? 1 : 0);
  }
  // write_unsent: bytes written but not yet given to ngtcp2 (the watermarks').
  size_t write_unsent() const noexcept { return unsent(); }
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
  // watermarked: what the write watermarks compare (see the file comment).
  size_t watermarked() const noexcept { return count_unacked_ ? send_.size() : unsent(); }
  void deliver() noexcept;
  // take_tail moves rx_tail_ to the end of rx_ (copied if small).
  bool take_tail() noexcept;
  void fail_rx() noexcept;
  void check_low() noexcept;

  Connection* conn_;          // null once the connection is gone
  Engine* engine_ = nullptr;  // for the deferred close callback
  int64_t id_;
  TransportHandler* handler_ = nullptr;
  Chain send_;             // unacked bytes, oldest first
  size_t unsent_off_ = 0;  // offset in send_ of the first byte not yet given to ngtcp2
  // The same position as (Slice index in send_, offset in that Slice), so
  // the write loop starts there instead of walking the unacknowledged
  // Slices before it for every packet.
  size_t unsent_idx_ = 0;
  size_t unsent_in_ = 0;
  void rewind_unsent() noexcept { unsent_off_ = unsent_idx_ = unsent_in_ = 0; }
  Chain rx_;       // received, not yet delivered
  Slice rx_tail_;  // the chunk this batch's bytes are appended to
  size_t low_ = 256 * 1024;
  size_t high_ = 1024 * 1024;
  bool above_high_ = false;
  bool count_unacked_ = false;  // the watermarks count unacknowledged bytes too
  bool reading_ = false;
  bool rx_fin_ = false;  // the peer's FIN arrived (after rx_)
  bool eof_delivered_ = false;
  bool fin_wanted_ = false;  // shutdown() called
  bool fin_sent_ = false;
  bool in_send_queue_ = false;  // on the connection's send list
  bool in_rx_queue_ = false;    // on the connection's list to deliver at batch end
  bool in_low_queue_ = false;   // on the connection's list to check the low watermark
  bool failed_ = false;
  bool closing_ = false;
  bool delivering_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  TransportStats stats_;
};

}  // namespace sluice::quic

// quic_stream.cpp: a QUIC stream as a Transport.
#include "quic/quic_stream.hpp"

#include <uv.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "core/check.hpp"
#include "net/closer.hpp"
#include "quic/connection.hpp"
#include "quic/endpoint.hpp"

namespace sluice::quic {

QuicStream::~QuicStream() {
  // The owner waited for the close callback, or the stream was never
  // handed out (the connection went away first).
  if (conn_) conn_->stream_closing(this);
}

void QuicStream::set_write_watermarks(size_t low, size_t high) noexcept {
  low_ = std::min(low, high);
  high_ = high;
  check_low();
}

Status QuicStream::write(Chain&& data) noexcept {
  if (closing_ || fin_wanted_) return Errc::closed;
  if (failed_ || conn_ == nullptr) return error_ == Errc::ok ? Errc::closed : error_;
  if (data.empty()) return {};
  SLUICE_TRY(send_.append(std::move(data)));
  conn_->stream_wants_send(this);
  if (!above_high_ && watermarked() > high_) {
    above_high_ = true;
    if (handler_) handler_->on_write_high();
  }
  return {};
}

Status QuicStream::shutdown() noexcept {
  if (closing_) return Errc::closed;
  if (failed_ || conn_ == nullptr) return error_ == Errc::ok ? Errc::closed : error_;
  // A unidirectional stream is writable only by its initiator (RFC 9000 §2.1).
  if (!bidi() && ((id_ & 1) != 0) != conn_->server()) return Errc::invalid_state;
  fin_wanted_ = true;
  conn_->stream_wants_send(this);
  return {};
}

void QuicStream::on_sent(size_t n, bool fin_sent) noexcept {
  unsent_off_ += n;
  for (size_t left = n; left > 0 && unsent_idx_ < send_.count();) {
    const size_t rest = send_[unsent_idx_].size() - unsent_in_;
    if (left < rest) {
      unsent_in_ += left;
      break;
    }
    left -= rest;
    ++unsent_idx_;
    unsent_in_ = 0;
  }
  stats_.bytes_written += n;
  if (fin_sent) fin_sent_ = true;
  // Inside the connection's write loop: on_write_low comes after it.
  if (above_high_ && watermarked() <= low_ && conn_) conn_->stream_low_ready(this);
}

void QuicStream::on_acked(uint64_t n) noexcept {
  const size_t k = static_cast<size_t>(std::min<uint64_t>(n, send_.size()));
  // Which Slices Chain::advance(k) drops whole, and how much it trims off
  // the next one: the unsent cursor moves with them (only sent bytes are
  // acknowledged, so the cursor is never inside what is dropped).
  size_t dropped = 0, trim = k;
  while (trim > 0 && dropped < send_.count() && trim >= send_[dropped].size())
    trim -= send_[dropped++].size();
  send_.advance(k);
  unsent_off_ -= std::min(unsent_off_, k);
  if (unsent_idx_ >= dropped) {
    unsent_idx_ -= dropped;
    if (unsent_idx_ == 0) unsent_in_ -= std::min(unsent_in_, trim);
  } else {
    unsent_idx_ = unsent_in_ = 0;
  }
  check_low();
  // Drained means everything asked for went out and was acknowledged: the
  // bytes, and the FIN once shutdown() asked for it (a FIN sent alone is
  // acknowledged with n == 0), so the owner may then close() cleanly.
  if (send_.empty() && (!fin_wanted_ || fin_sent_) && handler_ && !closing_ && !failed_)
    handler_->on_drained();
}

void QuicStream::check_low() noexcept {
  if (above_high_ && watermarked() <= low_) {
    above_high_ = false;
    if (handler_ && !closing_ && !failed_) handler_->on_write_low();
  }
}

void QuicStream::on_recv(const uint8_t* data, size_t len, bool fin) noexcept {
  if (closing_ || failed_) return;
  stats_.bytes_read += len;
  // Append to the batch's chunk (ngtcp2's buffer is valid only during the
  // callback); a full chunk joins rx_ and a new one starts.
  BufferPool& pool = conn_->ep_.engine().pool();
  while (len > 0) {
    if (rx_tail_.tailroom() == 0 || !rx_tail_.unique()) {
      if (!take_tail()) return;
      auto r = pool.get(SizeClass::k64K);
      if (!r) return fail_rx();
      rx_tail_ = std::move(*r);
    }
    const size_t n = std::min(len, rx_tail_.tailroom());
    std::memcpy(rx_tail_.append(n), data, n);
    data += n;
    len -= n;
  }
  if (fin) rx_fin_ = true;
  // Delivered once the whole receive batch is in (Connection::flush_rx).
  if (conn_) conn_->stream_rx_ready(this);
}

void QuicStream::fail_rx() noexcept {
  failed_ = true;
  error_ = Errc::no_memory;
  reason_ = "out of buffer memory";
  reset(0);
  if (handler_) handler_->on_error(error_);
}

bool QuicStream::take_tail() noexcept {
  if (rx_tail_.empty()) {
    rx_tail_.reset();
    return true;
  }
  Slice t = std::move(rx_tail_);
  if (t.size() <= t.chunk()->capacity() / 4) {
    // Small: a right-sized copy; the 64 KiB chunk goes back to the pool.
    auto r = conn_ ? conn_->ep_.engine().pool().copy_from(t.data(), t.size())
                   : Result<Slice>(Errc::closed);
    if (r) t = std::move(*r);
  }
  if (!rx_.push_back(std::move(t))) {
    fail_rx();
    return false;
  }
  return true;
}

void QuicStream::deliver() noexcept {
  if (delivering_) return;
  delivering_ = true;
  // While paused the tail keeps filling (no half-empty chunks pile up).
  if (reading_ && !closing_ && !failed_ && !take_tail()) {
    delivering_ = false;
    return;
  }
  size_t delivered = 0;
  while (reading_ && !closing_ && !failed_ && !rx_.empty()) {
    Slice s = rx_.pop_front();
    delivered += s.size();
    if (handler_) handler_->on_data(std::move(s));
  }
  // Credit goes back only for what the owner took (RFC 9000 §4.1): a
  // paused reader stops the peer at its window.
  if (conn_ && delivered) conn_->extend_credit(this, delivered);
  if (reading_ && !closing_ && !failed_ && rx_.empty() && rx_tail_.empty() && rx_fin_ &&
      !eof_delivered_) {
    eof_delivered_ = true;
    if (handler_) handler_->on_eof();
  }
  delivering_ = false;
}

void QuicStream::read_start() noexcept {
  if (closing_) return;
  reading_ = true;
  deliver();
}

void QuicStream::read_stop() noexcept { reading_ = false; }

Status QuicStream::unread(Chain&& data) noexcept {
  if (closing_) return Errc::closed;
  // Pushed-back bytes were already credited when first delivered; they go
  // in front without touching flow control (deliver() credits them again,
  // so take that credit back by not counting them: they are small).
  SLUICE_TRY(data.append(std::move(rx_)));
  rx_ = std::move(data);
  if (reading_) deliver();
  return {};
}

void QuicStream::reset(uint64_t app_error) noexcept {
  if (conn_ && conn_->state_ == Connection::State::open && !(fin_sent_ && rx_fin_)) {
    ngtcp2_conn_shutdown_stream(conn_->conn_, id_, app_error);
    conn_->schedule_write();
  }
}

void QuicStream::stop_reading(uint64_t app_error) noexcept {
  if (conn_ && conn_->state_ == Connection::State::open && !rx_fin_) {
    ngtcp2_conn_shutdown_stream_read(conn_->conn_, id_, app_error);
    conn_->schedule_write();
  }
}

void QuicStream::on_peer_reset(uint64_t app_error) noexcept {
  if (failed_ || closing_) return;
  deliver();  // bytes that arrived before the reset in this batch
  if (failed_ || closing_) return;
  if (rx_fin_ && fin_sent_ && send_.empty()) return;  // both directions were done
  failed_ = true;
  error_ = Errc::connection_reset;
  reason_ = "stream reset by peer, code " + std::to_string(app_error);
  if (handler_) handler_->on_error(error_);
}

void QuicStream::on_stream_closed() noexcept {
  // ngtcp2 has forgotten the stream: nothing will be retransmitted from
  // send_, and no more data arrives.
  if (conn_) {
    conn_->streams_.erase(id_);
    conn_->forget_queued(this);
  }
  conn_ = nullptr;
  if (!failed_ && !closing_) deliver();  // what arrived before the close
  if (!failed_ && !closing_ && !(rx_fin_ && fin_sent_)) {
    failed_ = true;
    error_ = Errc::connection_reset;
    reason_ = "stream closed";
    if (handler_) handler_->on_error(error_);
  }
}

void QuicStream::on_closed_by_conn(Errc e, const char* why) noexcept {
  conn_ = nullptr;
  in_rx_queue_ = false;
  in_send_queue_ = false;
  in_low_queue_ = false;
  if (failed_ || closing_) return;
  deliver();  // what arrived before the connection ended
  if (failed_ || closing_) return;
  // Bytes already delivered stay delivered; a stream that finished cleanly
  // in both directions has nothing to report.
  if (rx_fin_ && fin_sent_ && send_.empty()) return;
  failed_ = true;
  error_ = e == Errc::ok ? Errc::closed : e;
  reason_ = why ? why : "connection closed";
  if (handler_) handler_->on_error(error_);
}

void QuicStream::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  handler_ = nullptr;
  stats_.bytes_dropped_at_close += send_.size() - std::min(send_.size(), unsent_off_);
  if (conn_) {
    // Abandon what the peer has not fully exchanged with us (RFC 9000
    // §3.5); data ngtcp2 may still retransmit moves to the connection.
    const bool clean = fin_sent_ && rx_fin_ && unsent() == 0;
    if (!clean) reset(0);
    if (!send_.empty()) conn_->orphans_[id_] = std::move(send_);
    conn_->stream_closing(this);
    conn_ = nullptr;
  }
  rx_.clear();
  rx_tail_.reset();
  // Exactly one callback, never from inside close(): the stream holds
  // nothing on the loop any more, so the callback only waits for the turn.
  SLUICE_CHECK(engine_ != nullptr);
  if (cb) net::defer(*engine_, cb, user);
}

}  // namespace sluice::quic

// quic_stream.cpp: a QUIC stream as a Transport.
#include "quic/quic_stream.hpp"

#include <uv.h>

#include <algorithm>
#include <new>

#include "core/check.hpp"
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
  if (!above_high_ && send_.size() > high_) {
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
  stats_.bytes_written += n;
  if (fin_sent) fin_sent_ = true;
}

void QuicStream::on_acked(uint64_t n) noexcept {
  const size_t k = static_cast<size_t>(std::min<uint64_t>(n, send_.size()));
  send_.advance(k);
  unsent_off_ -= std::min(unsent_off_, k);
  check_low();
  // Drained means everything asked for went out and was acknowledged: the
  // bytes, and the FIN once shutdown() asked for it (a FIN sent alone is
  // acknowledged with n == 0), so the owner may then close() cleanly.
  if (send_.empty() && (!fin_wanted_ || fin_sent_) && handler_ && !closing_ && !failed_)
    handler_->on_drained();
}

void QuicStream::check_low() noexcept {
  if (above_high_ && send_.size() <= low_) {
    above_high_ = false;
    if (handler_ && !closing_ && !failed_) handler_->on_write_low();
  }
}

void QuicStream::on_recv(const uint8_t* data, size_t len, bool fin) noexcept {
  if (closing_ || failed_) return;
  stats_.bytes_read += len;
  // Copy out of ngtcp2's buffer (valid only during the callback) into pool
  // chunks; at most 64 KiB per Slice.
  BufferPool& pool = conn_->ep_.engine().pool();
  while (len > 0) {
    const size_t n = std::min(len, kClassPayload[2]);
    auto r = pool.copy_from(data, n);
    if (!r || !rx_.push_back(std::move(*r))) {
      failed_ = true;
      error_ = Errc::no_memory;
      reason_ = "out of buffer memory";
      reset(0);
      if (handler_) handler_->on_error(error_);
      return;
    }
    data += n;
    len -= n;
  }
  if (fin) rx_fin_ = true;
  deliver();
}

void QuicStream::deliver() noexcept {
  if (delivering_) return;
  delivering_ = true;
  size_t delivered = 0;
  while (reading_ && !closing_ && !failed_ && !rx_.empty()) {
    Slice s = rx_.pop_front();
    delivered += s.size();
    if (handler_) handler_->on_data(std::move(s));
  }
  // Credit goes back only for what the owner took (RFC 9000 §4.1): a
  // paused reader stops the peer at its window.
  if (conn_ && delivered) conn_->extend_credit(this, delivered);
  if (reading_ && !closing_ && !failed_ && rx_.empty() && rx_fin_ && !eof_delivered_) {
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
    auto it = std::find(conn_->send_queue_.begin(), conn_->send_queue_.end(), this);
    if (it != conn_->send_queue_.end()) conn_->send_queue_.erase(it);
  }
  conn_ = nullptr;
  if (!failed_ && !closing_ && !(rx_fin_ && fin_sent_)) {
    failed_ = true;
    error_ = Errc::connection_reset;
    reason_ = "stream closed";
    if (handler_) handler_->on_error(error_);
  }
}

void QuicStream::on_closed_by_conn(Errc e, const char* why) noexcept {
  conn_ = nullptr;
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
  close_cb_ = cb;
  close_user_ = user;
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
  // Exactly one callback, never from inside close().
  struct Deferred {
    uv_timer_t t;
    CloseCallback cb;
    void* user;
  };
  auto* d = new (std::nothrow) Deferred{{}, cb, user};
  SLUICE_CHECK(d != nullptr && loop_ != nullptr);
  uv_timer_init(loop_, &d->t);
  d->t.data = d;
  uv_timer_start(
      &d->t,
      [](uv_timer_t* t) {
        auto* dd = static_cast<Deferred*>(t->data);
        uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) {
          auto* x = static_cast<Deferred*>(h->data);
          CloseCallback f = x->cb;
          void* u = x->user;
          delete x;
          if (f) f(u);
        });
        (void)dd;
      },
      0, 0);
}

}  // namespace sluice::quic

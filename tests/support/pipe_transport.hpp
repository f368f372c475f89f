// pipe_transport.hpp: PipeTransport, two connected in-memory Transports on an
// Engine, for unit tests on virtual time (net::ManualClock).
//
// make_pipe(engine) returns two ends; what one end writes the other reads,
// as over a socket pair, with the Transport semantics and nothing mocked:
//
//  * Delivery is asynchronous: bytes written now reach the peer's handler on
//    a later loop turn (a net::Timer with the pipe's delay, 0 by default), so
//    on a ManualClock they arrive from clock.advance().
//  * Backpressure: bytes stay in the writer's queue until the reader takes
//    them, and a reader takes them only while reading (read_start). The
//    writer's write_buffered() is that queue; crossing the high watermark
//    calls on_write_high once, draining to the low one on_write_low once,
//    an empty queue on_drained. A reader that stops reading therefore makes
//    its writer's queue grow, exactly as a full TCP window does.
//  * Half-close: shutdown() sends end-of-stream after the queued bytes; the
//    peer hears on_eof after the last on_data. close() drops what is queued
//    (counted in bytes_dropped_at_close) and the peer then hears on_eof (a
//    FIN) or, with close_with_reset(), on_error(connection_reset).
//  * Closing: exactly one close callback, on a later turn (net::Closer), or
//    set_close_delay_ms() later on the Engine's clock, so a test can order
//    the closes of several transports.
//
// Header-only; tests/support is shared by the test executables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice::test {

class PipeTransport final : public Transport {
 public:
  // make_pipe: two connected ends; |delay_ms| is the one-way delivery delay.
  static std::pair<std::unique_ptr<PipeTransport>, std::unique_ptr<PipeTransport>> make_pipe(
      Engine& e, uint64_t delay_ms = 0) {
    std::unique_ptr<PipeTransport> a(new PipeTransport(e, delay_ms));
    std::unique_ptr<PipeTransport> b(new PipeTransport(e, delay_ms));
    a->peer_ = b.get();
    b->peer_ = a.get();
    return {std::move(a), std::move(b)};
  }

  ~PipeTransport() override {
    if (peer_) peer_->peer_ = nullptr;
  }

  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  using Transport::write;
  Status write(Chain&& data) noexcept override {
    if (closer_.closing() || shutdown_wanted_) return Errc::closed;
    if (error_ != Errc::ok) return error_;
    if (data.empty()) return {};
    const size_t n = data.size();
    if (!out_.append(std::move(data))) return Errc::no_memory;
    stats_.bytes_written += n;
    if (!above_high_ && out_.size() > high_) {
      above_high_ = true;
      if (handler_) handler_->on_write_high();
    }
    schedule();
    return {};
  }
  size_t write_buffered() const noexcept override { return out_.size(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override {
    low_ = low;
    high_ = high;
  }
  void read_start() noexcept override {
    if (reading_ || closer_.closing()) return;
    reading_ = true;
    if (!unread_.empty() || eof_pending_) unread_timer_.start(0, &PipeTransport::on_unread, this);
    if (peer_) peer_->schedule();  // the writer's queue may move now
  }
  void read_stop() noexcept override { reading_ = false; }
  Status unread(Chain&& data) noexcept override {
    if (closer_.closing()) return Errc::closed;
    Chain front = std::move(data);
    if (!front.append(std::move(unread_))) return Errc::no_memory;
    unread_ = std::move(front);
    if (reading_) unread_timer_.start(0, &PipeTransport::on_unread, this);
    return {};
  }
  Status shutdown() noexcept override {
    if (closer_.closing()) return Errc::closed;
    if (error_ != Errc::ok) return error_;
    shutdown_wanted_ = true;
    schedule();
    return {};
  }
  void close(CloseCallback cb, void* user) noexcept override {
    if (!closer_.begin(cb, user)) return;
    handler_ = nullptr;
    reading_ = false;
    stats_.bytes_dropped_at_close += out_.size();
    out_.clear();
    unread_.clear();
    timer_.stop();
    unread_timer_.stop();
    if (peer_) {
      PipeTransport* p = peer_;
      peer_ = nullptr;
      p->peer_ = nullptr;
      p->peer_gone(reset_on_close_);
    }
    if (close_delay_ms_ > 0) {
      closer_.hold();
      close_timer_.start(
          close_delay_ms_, [](void* self) { static_cast<PipeTransport*>(self)->closer_.release(); },
          this);
    }
    closer_.arm(engine_);
  }
  // set_close_delay_ms: a later close() calls back |ms| after it (on the
  // Engine's clock) instead of on the next loop turn.
  void set_close_delay_ms(uint64_t ms) noexcept { close_delay_ms_ = ms; }
  // close_with_reset: close, and the peer hears connection_reset, not EOF.
  void close_with_reset(CloseCallback cb, void* user) noexcept {
    reset_on_close_ = true;
    close(cb, user);
  }
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

  bool reading() const noexcept { return reading_; }
  bool shut_down() const noexcept { return shutdown_wanted_; }
  bool closing() const noexcept { return closer_.closing(); }

 private:
  PipeTransport(Engine& e, uint64_t delay_ms)
      : engine_(e), delay_ms_(delay_ms), timer_(e), unread_timer_(e), close_timer_(e) {}

  // schedule arms the delivery of this end's queue to the peer.
  void schedule() noexcept {
    if (!timer_.armed() && !closer_.closing())
      timer_.start(delay_ms_, &PipeTransport::on_move, this);
  }

  // on_move hands queued bytes to the peer while it reads, then EOF.
  static void on_move(void* self) {
    auto* t = static_cast<PipeTransport*>(self);
    const bool had_bytes = !t->out_.empty();
    while (!t->out_.empty() && t->peer_ && t->peer_->reading_ && t->peer_->unread_.empty()) {
      Slice s = t->out_.pop_front();
      PipeTransport* p = t->peer_;
      p->stats_.bytes_read += s.size();
      if (p->handler_) p->handler_->on_data(std::move(s));
      if (t->closer_.closing()) return;  // a handler closed the writer
    }
    if (t->above_high_ && t->out_.size() <= t->low_) {
      t->above_high_ = false;
      if (t->handler_) t->handler_->on_write_low();
      if (t->closer_.closing()) return;
    }
    if (!t->out_.empty()) return;  // the reader paused: read_start reschedules
    if (had_bytes && t->handler_) {
      t->handler_->on_drained();
      if (t->closer_.closing()) return;
    }
    if (t->shutdown_wanted_ && !t->eof_sent_ && t->peer_) {
      t->eof_sent_ = true;
      t->peer_->eof_pending_ = true;
      if (t->peer_->reading_) t->peer_->deliver_eof();
    }
  }

  // on_unread delivers pushed-back bytes first, then a pending EOF.
  static void on_unread(void* self) {
    auto* t = static_cast<PipeTransport*>(self);
    while (t->reading_ && !t->unread_.empty()) {
      Slice s = t->unread_.pop_front();
      if (t->handler_) t->handler_->on_data(std::move(s));
      if (t->closer_.closing()) return;
    }
    if (!t->reading_) return;
    if (t->peer_) t->peer_->schedule();
    if (t->eof_pending_) t->deliver_eof();
  }

  void deliver_eof() noexcept {
    if (eof_delivered_ || !unread_.empty()) return;
    eof_delivered_ = true;
    if (handler_) handler_->on_eof();
  }

  void peer_gone(bool reset) noexcept {
    if (closer_.closing()) return;
    if (reset) {
      error_ = Errc::connection_reset;
      reason_ = "peer reset the pipe";
      if (handler_) handler_->on_error(error_);
      return;
    }
    eof_pending_ = true;
    if (reading_) unread_timer_.start(0, &PipeTransport::on_unread, this);
  }

  Engine& engine_;
  uint64_t delay_ms_;
  PipeTransport* peer_ = nullptr;
  TransportHandler* handler_ = nullptr;
  net::Timer timer_;         // delivery of out_ to the peer
  net::Timer unread_timer_;  // delivery of unread_ and of EOF to our handler
  net::Timer close_timer_;   // ends a close delayed by set_close_delay_ms
  uint64_t close_delay_ms_ = 0;
  net::Closer closer_;
  Chain out_;     // written, not yet taken by the peer
  Chain unread_;  // pushed back by unread()
  size_t low_ = 128 * 1024;
  size_t high_ = 512 * 1024;
  bool above_high_ = false;
  bool reading_ = false;
  bool shutdown_wanted_ = false;
  bool eof_sent_ = false;
  bool eof_pending_ = false;  // the peer's EOF (or FIN at close) is due
  bool eof_delivered_ = false;
  bool reset_on_close_ = false;
  Errc error_ = Errc::ok;
  std::string reason_;
  TransportStats stats_;
};

}  // namespace sluice::test

// memory_transport.hpp: MemoryTransport, a real Transport over memory, with
// its far end (MemoryWire) driven by the test: no socket, no loop.
//
// What the Transport under test writes collects in MemoryWire::written;
// the test delivers bytes, end-of-stream or an error with MemoryWire, sets
// how much the write queue holds (backlog, counted by write_buffered()),
// and finishes a close when it chooses (finish_close), so the ordering of
// close callbacks can be checked. The wire outlives the transport (shared),
// so a test can look at it after its owner deleted the transport.
//
// Semantics as Transport's: events only while reading (bytes delivered
// while paused wait, unread() bytes first), nothing called back after
// close(), exactly one close callback, write() fails after close(),
// shutdown() or an error.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "sluice/transport.hpp"

namespace sluice::test {

class MemoryTransport;

struct MemoryWire {
  Chain written;                         // every byte written, in order
  size_t backlog = 0;                    // reported by write_buffered()
  bool reading = false;                  // read_start() was called last
  bool shut_down = false;                // shutdown() was called
  bool closing = false;                  // close() was called
  bool closed = false;                   // the close callback ran
  int close_calls = 0;                   // close() calls
  MemoryTransport* transport = nullptr;  // while it exists
  Chain held;                            // delivered while paused

  // deliver hands |s| to the handler (or holds it while paused).
  void deliver(Slice&& s);
  void deliver_eof();
  void fail(Errc e, std::string reason);
  // finish_close runs the pending close callback (once).
  void finish_close();

  CloseCallback close_cb = nullptr;
  void* close_user = nullptr;
  bool eof_held = false;
};

class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::shared_ptr<MemoryWire> w) : wire_(std::move(w)) {
    wire_->transport = this;
  }
  ~MemoryTransport() override { wire_->transport = nullptr; }

  const std::shared_ptr<MemoryWire>& wire() const noexcept { return wire_; }
  TransportHandler* handler() const noexcept { return handler_; }

  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  using Transport::write;
  Status write(Chain&& data) noexcept override {
    if (wire_->closing || wire_->shut_down) return Errc::closed;
    if (error_ != Errc::ok) return error_;
    stats_.bytes_written += data.size();
    if (!wire_->written.append(std::move(data))) return Errc::no_memory;
    return {};
  }
  size_t write_buffered() const noexcept override { return wire_->backlog; }
  void set_write_watermarks(size_t, size_t) noexcept override {}
  void read_start() noexcept override {
    wire_->reading = true;
    while (wire_->reading && !wire_->closing && !wire_->held.empty() && handler_)
      handler_->on_data(wire_->held.pop_front());
    if (wire_->reading && !wire_->closing && wire_->eof_held && handler_) {
      wire_->eof_held = false;
      handler_->on_eof();
    }
  }
  void read_stop() noexcept override { wire_->reading = false; }
  Status unread(Chain&& data) noexcept override {
    Chain front = std::move(data);
    if (!front.append(std::move(wire_->held))) return Errc::no_memory;
    wire_->held = std::move(front);
    return {};
  }
  Status shutdown() noexcept override {
    wire_->shut_down = true;
    return {};
  }
  void close(CloseCallback cb, void* user) noexcept override {
    wire_->close_calls++;
    if (wire_->closing) return;
    wire_->closing = true;
    wire_->close_cb = cb;
    wire_->close_user = user;
    handler_ = nullptr;
    stats_.bytes_dropped_at_close = wire_->backlog;
  }
  const char* failure_reason() const noexcept override { return reason_.c_str(); }
  TransportStats stats() const noexcept override { return stats_; }

 private:
  friend struct MemoryWire;
  std::shared_ptr<MemoryWire> wire_;
  TransportHandler* handler_ = nullptr;
  Errc error_ = Errc::ok;
  std::string reason_;
  TransportStats stats_;
};

inline void MemoryWire::deliver(Slice&& s) {
  MemoryTransport* t = transport;
  if (t == nullptr || closing) return;
  t->stats_.bytes_read += s.size();
  if (!reading || t->handler_ == nullptr || !held.empty()) {
    (void)held.push_back(std::move(s));
    return;
  }
  t->handler_->on_data(std::move(s));
}

inline void MemoryWire::deliver_eof() {
  MemoryTransport* t = transport;
  if (t == nullptr || closing) return;
  if (!reading || t->handler_ == nullptr || !held.empty()) {
    eof_held = true;
    return;
  }
  t->handler_->on_eof();
}

inline void MemoryWire::fail(Errc e, std::string reason) {
  MemoryTransport* t = transport;
  if (t == nullptr || closing) return;
  t->error_ = e;
  t->reason_ = std::move(reason);
  if (t->handler_) t->handler_->on_error(e);
}

inline void MemoryWire::finish_close() {
  if (!closing || closed) return;
  closed = true;
  CloseCallback cb = close_cb;
  close_cb = nullptr;
  if (cb) cb(close_user);
}

}  // namespace sluice::test

// transport/forwarding_transport.hpp: ForwardingTransport, the base of
// decorators that wrap one inner Transport (VlessStream, VisionStream, and
// the protocol layers to come): everything not overridden is forwarded.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The base owns the inner transport and is its handler. It forwards
// writes, reads, watermarks, stats and the inner transport's events to the
// decorator's handler unchanged, and keeps the states every decorator has:
//   failed:  fail(e, why) records the reason (failure_reason() reports it,
//            else the inner one), tells the handler on_error once; writes
//            and events stop.
//   closing: close() drops the handler, lets the decorator drop its own
//            state (on_closing), closes the inner transport and calls back
//            exactly once when it has closed (the owner may delete the
//            decorator in that callback).
// A decorator overrides only what it changes (VlessStream: the first write
// and the first bytes read; VisionStream: nearly everything but close and
// the watermarks). No copies and no allocation here: each call is one
// virtual hop to the inner transport, as a hand-written decorator's is.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "sluice/transport.hpp"

namespace sluice {

class ForwardingTransport : public Transport, protected TransportHandler {
 public:
  ~ForwardingTransport() override {
    if (inner_) inner_->set_handler(nullptr);
  }

  Transport* inner() noexcept { return inner_.get(); }

  void set_handler(TransportHandler* h) noexcept override { handler_ = h; }
  using Transport::write;
  Status write(Chain&& data) noexcept override {
    if (failed_ || closing_) return Errc::closed;
    return inner_->write(std::move(data));
  }
  size_t write_buffered() const noexcept override { return inner_->write_buffered(); }
  void set_write_watermarks(size_t low, size_t high) noexcept override {
    inner_->set_write_watermarks(low, high);
  }
  void read_start() noexcept override { inner_->read_start(); }
  void read_stop() noexcept override { inner_->read_stop(); }
  Status unread(Chain&& data) noexcept override { return inner_->unread(std::move(data)); }
  Status shutdown() noexcept override {
    if (failed_ || closing_) return Errc::closed;
    return inner_->shutdown();
  }
  void reset_on_close() noexcept override { inner_->reset_on_close(); }
  void close(CloseCallback cb, void* user) noexcept override {
    if (closing_) return;
    closing_ = true;
    handler_ = nullptr;
    close_cb_ = cb;
    close_user_ = user;
    on_closing();
    inner_->close(
        [](void* u) {
          auto* s = static_cast<ForwardingTransport*>(u);
          CloseCallback c = s->close_cb_;
          s->close_cb_ = nullptr;
          if (c) c(s->close_user_);  // may delete s
        },
        this);
  }
  const char* failure_reason() const noexcept override {
    return reason_.empty() ? inner_->failure_reason() : reason_.c_str();
  }
  TransportStats stats() const noexcept override { return inner_->stats(); }

 protected:
  // |inner| may come later (set_inner) for decorators built in steps.
  explicit ForwardingTransport(std::unique_ptr<Transport> inner = nullptr) noexcept {
    if (inner) set_inner(std::move(inner));
  }
  void set_inner(std::unique_ptr<Transport> inner) noexcept {
    inner_ = std::move(inner);
    inner_->set_handler(this);
  }

  // on_closing: close() was called; drop what the decorator holds before
  // the inner transport closes.
  virtual void on_closing() noexcept {}

  // fail: the decorator failed (|why| empty: the inner transport's reason).
  void fail(Errc e, std::string why = {}) noexcept {
    if (failed_ || closing_) return;
    failed_ = true;
    if (!why.empty()) reason_ = std::move(why);
    if (handler_) handler_->on_error(e);
  }

  // The inner transport's events, forwarded unless overridden.
  void on_data(Slice&& data) override {
    if (failed_ || closing_) return;
    if (handler_) handler_->on_data(std::move(data));
  }
  void on_eof() override {
    if (failed_ || closing_) return;
    if (handler_) handler_->on_eof();
  }
  void on_error(Errc e) override { fail(e); }
  void on_write_high() override {
    if (handler_) handler_->on_write_high();
  }
  void on_write_low() override {
    if (handler_) handler_->on_write_low();
  }
  void on_drained() override {
    if (handler_) handler_->on_drained();
  }

  std::unique_ptr<Transport> inner_;
  TransportHandler* handler_ = nullptr;
  std::string reason_;

 private:
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;

 protected:
  // Last, so that a decorator's small members fill the padding after them
  // (a decorator's size decides its allocator bin, per connection).
  bool failed_ = false;
  bool closing_ = false;
};

}  // namespace sluice

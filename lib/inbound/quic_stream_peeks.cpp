// inbound/quic_stream_peeks.cpp: a server connection's new streams, read
// until their first bytes say where they go.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/quic_stream_peeks.hpp"

#include <new>

#include "net/closer.hpp"

namespace sluice {

class QuicStreamPeeks::Peek final : private TransportHandler {
 public:
  Peek(QuicStreamPeeks* set, std::unique_ptr<quic::QuicStream> s) noexcept
      : set_(set), s_(std::move(s)) {}
  void start() noexcept {
    s_->set_handler(this);
    s_->read_start();
  }
  // abandon: the set is going away; the stream is closed.
  void abandon() noexcept {
    set_ = nullptr;
    finish_closed();
  }

 private:
  void on_data(Slice&& d) override {
    if (!got_.push_back_compact(std::move(d))) {
      fail();
      return;
    }
    uint8_t b[kPeekBytes] = {};
    const size_t n = got_.copy_out(b, kPeekBytes);
    if (n == 0) return;
    const int kind = set_->owner_.classify(b, n);
    if (kind == kNeedMore) return;
    s_->read_stop();
    s_->set_handler(nullptr);
    if (!s_->unread(std::move(got_))) {
      fail();
      return;
    }
    QuicStreamPeeks* set = set_;
    std::unique_ptr<quic::QuicStream> s = std::move(s_);
    set->forget(this);
    delete this;
    set->owner_.on_peeked(std::move(s), kind);
  }
  void on_eof() override { fail(); }
  void on_error(Errc) override { fail(); }
  void fail() noexcept {
    if (set_) set_->forget(this);
    set_ = nullptr;
    finish_closed();
  }
  void finish_closed() noexcept {
    if (s_) {
      s_->set_handler(nullptr);
      close_and_delete(s_.release());
    }
    delete this;
  }

  QuicStreamPeeks* set_;
  std::unique_ptr<quic::QuicStream> s_;
  Chain got_;
};

void QuicStreamPeeks::add(std::unique_ptr<quic::QuicStream> s) noexcept {
  Peek* p = new (std::nothrow) Peek(this, std::move(s));
  if (p == nullptr) return;  // the stream (moved into nothing) is reset
  try {
    peeks_.push_back(p);
  } catch (...) {
    p->abandon();
    return;
  }
  p->start();
}

void QuicStreamPeeks::clear() noexcept {
  std::vector<Peek*> peeks;
  peeks.swap(peeks_);
  for (Peek* p : peeks) p->abandon();
}

void QuicStreamPeeks::forget(Peek* p) noexcept {
  for (size_t i = 0; i < peeks_.size(); ++i) {
    if (peeks_[i] == p) {
      peeks_[i] = peeks_.back();
      peeks_.pop_back();
      return;
    }
  }
}

}  // namespace sluice

// inbound/quic_stream_peeks.hpp: QuicStreamPeeks, the new streams of one
// server connection whose first bytes decide where each goes (Hysteria v1:
// a TCP or a UDP request; Hysteria v2: a 0x401 TCP request or an HTTP/3
// request).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// add() starts reading a stream; each arrival asks the Owner to classify
// the first bytes (up to kPeekBytes of them). Once it can, the stream stops
// reading, gets every byte read so far pushed back (unread) and goes to
// Owner::on_peeked with the kind. A stream that ends or fails first, or
// whose bytes cannot be kept (no memory), is closed. clear() (and the
// destructor) closes every stream still being peeked, without calling the
// Owner.
//
// Threads: the Engine's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "quic/quic_stream.hpp"

namespace sluice {

class QuicStreamPeeks {
 public:
  static constexpr size_t kPeekBytes = 2;
  static constexpr int kNeedMore = -1;

  class Owner {
   public:
    virtual ~Owner() = default;
    // classify: the kind (>= 0) of a stream starting with |b| (|n| bytes,
    // 1 <= n <= kPeekBytes), or kNeedMore.
    virtual int classify(const uint8_t* b, size_t n) noexcept = 0;
    // on_peeked: |s|, with its first bytes pushed back, is of |kind|.
    virtual void on_peeked(std::unique_ptr<quic::QuicStream> s, int kind) noexcept = 0;
  };

  explicit QuicStreamPeeks(Owner& o) noexcept : owner_(o) {}
  ~QuicStreamPeeks() { clear(); }
  QuicStreamPeeks(const QuicStreamPeeks&) = delete;
  QuicStreamPeeks& operator=(const QuicStreamPeeks&) = delete;

  // add starts peeking |s|; without memory the stream is reset.
  void add(std::unique_ptr<quic::QuicStream> s) noexcept;
  // clear closes every stream still being peeked.
  void clear() noexcept;

  class Peek;  // one stream (internal)

 private:
  friend class Peek;
  void forget(Peek* p) noexcept;

  Owner& owner_;
  std::vector<Peek*> peeks_;
};

}  // namespace sluice

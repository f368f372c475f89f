// proto/reality/rate_limit.hpp: FallbackLimit and TokenBucket, the rate
// limit the REALITY server may put on connections it relays to the real
// site (Xray's limitFallbackUpload / limitFallbackDownload).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Semantics, as Xray's REALITY server: with bytes_per_sec 0 there is no
// limit. Otherwise the first after_bytes bytes of the direction pass
// freely; from then on every chunk read takes its size from a bucket that
// starts full, holds burst_bytes_per_sec tokens (at least bytes_per_sec)
// and refills at bytes_per_sec. A chunk may take the bucket below zero; the
// reader then waits until the debt is repaid before reading again. So over
// a long transfer the rate is bytes_per_sec, and a burst of up to the
// bucket's size passes at once.
//
// Sans-I/O: the caller passes the time (milliseconds, any monotonic clock)
// and arms its own timer for the wait returned.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::reality {

struct FallbackLimit {
  uint64_t after_bytes = 0;
  uint64_t bytes_per_sec = 0;  // 0: no limit
  uint64_t burst_bytes_per_sec = 0;
  bool enabled() const noexcept { return bytes_per_sec != 0; }
};

class TokenBucket {
 public:
  TokenBucket(const FallbackLimit& limit, uint64_t now_ms) noexcept;

  // take accounts for |n| bytes just read at |now_ms| and returns how long
  // (ms) to wait before reading more: 0 to go on at once.
  uint64_t take(size_t n, uint64_t now_ms) noexcept;

  // tokens: what the bucket holds now (negative: a debt), for tests.
  double tokens() const noexcept { return tokens_; }

 private:
  void refill(uint64_t now_ms) noexcept;

  uint64_t after_;
  double rate_;      // bytes per millisecond
  double capacity_;  // bytes
  double tokens_;
  uint64_t last_ms_;
};

}  // namespace sluice::reality

// proto/reality/rate_limit.cpp: see rate_limit.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::reality {

TokenBucket::TokenBucket(const FallbackLimit& limit, uint64_t now_ms) noexcept
    : after_(limit.after_bytes),
      rate_(static_cast<double>(limit.bytes_per_sec) / 1000.0),
      capacity_(static_cast<double>(std::max(limit.burst_bytes_per_sec, limit.bytes_per_sec))),
      tokens_(capacity_),
      last_ms_(now_ms) {}

void TokenBucket::refill(uint64_t now_ms) noexcept {
  if (now_ms > last_ms_) {
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_);
    last_ms_ = now_ms;
  }
}

uint64_t TokenBucket::take(size_t n, uint64_t now_ms) noexcept {
  if (rate_ <= 0) return 0;
  refill(now_ms);
  if (after_ >= n) {
    after_ -= n;
    return 0;
  }
  n -= static_cast<size_t>(after_);
  after_ = 0;
  tokens_ -= static_cast<double>(n);
  if (tokens_ >= 0) return 0;
  return static_cast<uint64_t>(std::ceil(-tokens_ / rate_));
}

}  // namespace sluice::reality

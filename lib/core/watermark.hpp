// watermark.hpp: WatermarkBuffer, a Chain with high and low watermarks.
//
// Every queue on the data path is one of these. A producer appends; when the
// buffered bytes rise above `high` the above-high callback fires once, and the
// producer is expected to stop reading; when the consumer drains to `low` or
// below, the below-low callback fires once and the producer resumes. The
// callbacks fire once per crossing, never twice in a row for the same edge.
// One owner, one thread.
#pragma once

#include <cstddef>

#include "sluice/buffer.hpp"

namespace sluice {

class WatermarkBuffer {
 public:
  // WatermarkCallback receives the |user| given to set_callbacks.
  using WatermarkCallback = void (*)(void* user);

  // low must be <= high.
  WatermarkBuffer(size_t low, size_t high) noexcept;

  void set_callbacks(WatermarkCallback above_high, WatermarkCallback below_low,
                     void* user) noexcept;
  void set_watermarks(size_t low, size_t high) noexcept;

  // push appends a Slice; fires above-high on the crossing.
  Status push(Slice&& s) noexcept;
  Status push(Chain&& c) noexcept;
  // drain drops n bytes from the front; fires below-low on the crossing.
  void drain(size_t n) noexcept;
  // take moves up to n bytes out as a Chain (no copy).
  Result<Chain> take(size_t n) noexcept;

  Chain& chain() noexcept { return chain_; }
  size_t size() const noexcept { return chain_.size(); }
  bool above_high() const noexcept { return above_; }
  size_t low() const noexcept { return low_; }
  size_t high() const noexcept { return high_; }

 private:
  void check_high() noexcept;
  void check_low() noexcept;

  Chain chain_;
  size_t low_;
  size_t high_;
  bool above_ = false;  // set after above-high fired, cleared after below-low
  WatermarkCallback on_high_ = nullptr;
  WatermarkCallback on_low_ = nullptr;
  void* user_ = nullptr;
};

}  // namespace sluice

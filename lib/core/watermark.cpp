// watermark.cpp: WatermarkBuffer crossing detection.
#include "core/watermark.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace sluice {

WatermarkBuffer::WatermarkBuffer(size_t low, size_t high) noexcept : low_(low), high_(high) {
  SLUICE_DCHECK(low <= high);
}

void WatermarkBuffer::set_callbacks(WatermarkCallback above_high, WatermarkCallback below_low,
                                    void* user) noexcept {
  on_high_ = above_high;
  on_low_ = below_low;
  user_ = user;
}

void WatermarkBuffer::set_watermarks(size_t low, size_t high) noexcept {
  SLUICE_DCHECK(low <= high);
  low_ = low;
  high_ = high;
  check_high();
  check_low();
}

void WatermarkBuffer::check_high() noexcept {
  if (!above_ && chain_.size() > high_) {
    above_ = true;
    if (on_high_) on_high_(user_);
  }
}

void WatermarkBuffer::check_low() noexcept {
  if (above_ && chain_.size() <= low_) {
    above_ = false;
    if (on_low_) on_low_(user_);
  }
}

Status WatermarkBuffer::push(Slice&& s) noexcept {
  SLUICE_TRY(chain_.push_back(std::move(s)));
  check_high();
  return {};
}

Status WatermarkBuffer::push(Chain&& c) noexcept {
  SLUICE_TRY(chain_.append(std::move(c)));
  check_high();
  return {};
}

void WatermarkBuffer::drain(size_t n) noexcept {
  chain_.advance(std::min(n, chain_.size()));
  check_low();
}

Result<Chain> WatermarkBuffer::take(size_t n) noexcept {
  auto r = chain_.split_to(std::min(n, chain_.size()));
  check_low();
  return r;
}

}  // namespace sluice

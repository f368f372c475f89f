// timer_queue.hpp: TimerQueue, the Engine's min-heap of armed net::Timers.
//
// Internal to lib/net: the Engine owns one TimerQueue and one uv_timer_t that
// it keeps armed for the earliest due time (see engine.cpp); on a ManualClock
// the clock's advance() drains it instead. Timers reach their queue through
// their Engine (engine_internal.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "net/timer.hpp"

namespace sluice::net {

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // push inserts |t| (not armed) due at |due|. Returns true when |t| became
  // the earliest timer (the driver must re-arm its wake-up).
  bool push(Timer* t, uint64_t due) noexcept;
  // remove takes an armed |t| out of the heap.
  void remove(Timer* t) noexcept;
  // top: the earliest armed timer, or nullptr.
  Timer* top() const noexcept { return heap_.empty() ? nullptr : heap_.front(); }
  bool empty() const noexcept { return heap_.empty(); }
  size_t size() const noexcept { return heap_.size(); }
  // next_seq: the sequence number the next push will get. Timers with a
  // smaller one were armed before this point.
  uint64_t next_seq() const noexcept { return seq_; }

  // pop_due disarms and returns the earliest timer if it is due at or before
  // |now| and was armed before |seq_limit|; else nullptr.
  Timer* pop_due(uint64_t now, uint64_t seq_limit) noexcept;

  // fire calls |t|'s callback; |t| has been popped (disarmed) already.
  static void fire(Timer* t) noexcept { t->cb_(t->user_); }

 private:
  static bool before(const Timer* a, const Timer* b) noexcept {
    return a->due_ < b->due_ || (a->due_ == b->due_ && a->seq_ < b->seq_);
  }
  void place(Timer* t, uint32_t i) noexcept {
    heap_[i] = t;
    t->index_ = i;
  }
  void sift_up(uint32_t i) noexcept;
  void sift_down(uint32_t i) noexcept;

  std::vector<Timer*> heap_;
  uint64_t seq_ = 0;
};

}  // namespace sluice::net

// timer.cpp: net::Timer and the Engine's TimerQueue (a binary min-heap).
#include "net/timer.hpp"

#include "net/engine_internal.hpp"
#include "net/timer_queue.hpp"
#include "sluice/engine.hpp"

namespace sluice::net {

void Timer::start(uint64_t delay_ms, Callback cb, void* user) noexcept {
  TimerQueue& q = timer_queue(engine_);
  const bool was_top = armed() && q.top() == this;
  if (armed()) q.remove(this);
  cb_ = cb;
  user_ = user;
  const uint64_t now = engine_.now_ms();
  const uint64_t due = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
  if (q.push(this, due) || was_top) timers_changed(engine_);
}

void Timer::stop() noexcept {
  if (!armed()) return;
  TimerQueue& q = timer_queue(engine_);
  q.remove(this);
  // An earlier wake-up than needed is harmless (the Engine re-arms for the new
  // earliest timer when it fires), but an empty queue must not keep the loop
  // alive.
  if (q.empty()) timers_changed(engine_);
}

bool TimerQueue::push(Timer* t, uint64_t due) noexcept {
  t->due_ = due;
  t->seq_ = seq_++;
  heap_.push_back(t);
  const auto i = static_cast<uint32_t>(heap_.size() - 1);
  t->index_ = i;
  sift_up(i);
  return heap_.front() == t;
}

void TimerQueue::remove(Timer* t) noexcept {
  const uint32_t i = t->index_;
  t->index_ = Timer::kNotArmed;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (last == t) return;
  place(last, i);
  if (i > 0 && before(last, heap_[(i - 1) / 2])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

Timer* TimerQueue::pop_due(uint64_t now, uint64_t seq_limit) noexcept {
  if (heap_.empty()) return nullptr;
  Timer* t = heap_.front();
  if (t->due_ > now || t->seq_ >= seq_limit) return nullptr;
  remove(t);
  return t;
}

void TimerQueue::sift_up(uint32_t i) noexcept {
  Timer* t = heap_[i];
  while (i > 0) {
    const uint32_t parent = (i - 1) / 2;
    if (!before(t, heap_[parent])) break;
    place(heap_[parent], i);
    i = parent;
  }
  place(t, i);
}

void TimerQueue::sift_down(uint32_t i) noexcept {
  Timer* t = heap_[i];
  const auto n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) child++;
    if (!before(heap_[child], t)) break;
    place(heap_[child], i);
    i = child;
  }
  place(t, i);
}

}  // namespace sluice::net

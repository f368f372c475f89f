// timer.hpp: net::Timer, a one-shot deadline on the Engine's own timer queue.
//
// Every deadline in sluice (handshake deadlines, idle timeouts, QUIC loss and
// idle timers, deferred callbacks) is a Timer. A Timer is an intrusive node in
// a min-heap the Engine owns; the Engine drives the whole heap with a single
// uv_timer_t (or, on a ManualClock, with ManualClock::advance). So a Timer
// holds no libuv handle and needs no asynchronous close: destroying it simply
// takes it off the queue.
//
//   Timer t(engine);
//   t.start(5000, &Conn::on_deadline, this);  // fires once, at now_ms() + 5000
//   t.start(100, ...);                         // re-arms: the 5000 is forgotten
//   t.stop();                                  // disarms; idempotent
//
// Ordering: timers fire in order of their due time; timers due at the same
// millisecond fire in the order they were started. A timer started (or
// re-armed) from inside a callback with a delay that is already due fires in
// the next pass of the loop, never in the same one, so I/O is not starved.
//
// Threading and lifetime: the loop thread only. The callback runs on the loop
// thread with the Timer already disarmed; it may re-arm the Timer, stop or
// destroy any Timer, and destroy the Timer's owner (and with it the Timer).
// A Timer must not outlive its Engine. An armed Timer keeps the Engine's loop
// alive, as an active uv_timer_t does.
//
// Cost: start/stop are O(log n) in the number of armed timers on the Engine
// and allocate nothing once the queue has grown to its high-water size.
#pragma once

#include <cstdint>

namespace sluice {
class Engine;
namespace net {

class TimerQueue;

class Timer {
 public:
  using Callback = void (*)(void* user);

  explicit Timer(Engine& e) noexcept : engine_(e) {}
  ~Timer() { stop(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // start arms the timer to call |cb(user)| once, |delay_ms| after the
  // Engine's now_ms(). A timer already armed is re-armed (its old deadline and
  // callback are forgotten).
  void start(uint64_t delay_ms, Callback cb, void* user) noexcept;
  // stop disarms the timer; nothing is called. Idempotent.
  void stop() noexcept;
  bool armed() const noexcept { return index_ != kNotArmed; }
  // due_ms: the Engine time the armed timer fires at (meaningless when disarmed).
  uint64_t due_ms() const noexcept { return due_; }
  Engine& engine() const noexcept { return engine_; }

 private:
  friend class TimerQueue;
  static constexpr uint32_t kNotArmed = UINT32_MAX;

  Engine& engine_;
  Callback cb_ = nullptr;
  void* user_ = nullptr;
  uint64_t due_ = 0;
  uint64_t seq_ = 0;            // start order, for ties and for "armed this pass"
  uint32_t index_ = kNotArmed;  // position in the queue's heap
};

}  // namespace net
}  // namespace sluice

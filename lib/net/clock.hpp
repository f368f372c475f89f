// clock.hpp: the Engine's clock, and ManualClock, virtual time for tests.
//
// Engine::now_ms() is the time every deadline in sluice is measured against.
// Normally it is libuv's loop time (uv_now: milliseconds, updated once per
// loop iteration), and net::Timers are driven by one uv_timer_t.
//
// In tests an Engine can instead run on a ManualClock, as ngtcp2's simulator
// runs its connections: time stands still until the test advances it, and
// advancing fires every due Timer in order, with now_ms() stepped to each
// timer's due time before its callback runs. A handshake deadline of 10 s or
// an idle timeout of 5 min is then exercised in microseconds, deterministically:
//
//   net::ManualClock clock;                       // starts at 0 ms
//   auto engine = net::create_engine(clock).value();
//   Relay r(*engine, ...);                        // arms its idle Timer
//   clock.advance(299'999);                       // not yet
//   clock.advance(1);                             // the idle timeout fires now
//
// On a ManualClock the Engine's uv_timer_t is never armed: Timers fire only
// from advance(). Everything else about the Engine is as usual (its own loop,
// post(), close_all()); a test that also uses real sockets can still run the
// loop, but its Timers wait for advance(). Timers armed by a callback during
// advance() with a due time inside the advanced span fire within the same
// advance(), in order, so a chain of zero-delay deferrals completes in one
// call (a callback that keeps re-arming itself with delay 0 never returns).
//
// Threading: like the Engine, the loop thread only (the test's thread). The
// ManualClock must outlive the Engine created on it. This header is internal
// (lib/net), not part of the public API.
#pragma once

#include <cstdint>
#include <memory>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"

namespace sluice::net {

class ManualClock {
 public:
  explicit ManualClock(uint64_t start_ms = 0) noexcept : now_(start_ms) {}
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  uint64_t now_ms() const noexcept { return now_; }

  // advance moves time forward by |ms|, firing in order every Timer of the
  // Engine on this clock that falls due up to the new time (including timers
  // armed by those callbacks). advance(0) fires the timers due now.
  void advance(uint64_t ms) noexcept;
  // advance_to: advance to the absolute time |t_ms| (no-op if it is past).
  void advance_to(uint64_t t_ms) noexcept {
    if (t_ms > now_)
      advance(t_ms - now_);
    else
      advance(0);
  }
  // next_due_ms: the due time of the earliest armed Timer, or UINT64_MAX.
  uint64_t next_due_ms() const noexcept;
  // armed_timers: how many Timers are armed on the Engine.
  size_t armed_timers() const noexcept;

 private:
  friend Result<std::unique_ptr<Engine>> create_engine(ManualClock&, const EngineOptions&);
  friend class sluice::Engine;  // forgets the clock when it is destroyed
  uint64_t now_;
  Engine* engine_ = nullptr;
};

// create_engine makes an Engine whose now_ms() is |clock|'s time and whose
// Timers fire from clock.advance(). One Engine per ManualClock.
Result<std::unique_ptr<Engine>> create_engine(ManualClock& clock, const EngineOptions& opts = {});

}  // namespace sluice::net

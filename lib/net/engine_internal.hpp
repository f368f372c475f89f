// engine_internal.hpp: the parts of Engine that only sluice itself uses.
//
// Not a public header: the timer queue behind net::Timer. Functions here take
// the Engine as an argument instead of being members so the public
// include/sluice/engine.hpp carries no internals.
#pragma once

#include <cstdint>

#include "sluice/engine.hpp"

namespace sluice {
namespace net {
class TimerQueue;
}

namespace detail {
// EngineAccess reaches an Engine's implementation from inside lib/net.
struct EngineAccess {
  static EngineImpl* impl(Engine& e) noexcept { return e.impl_; }
  static const EngineImpl* impl(const Engine& e) noexcept { return e.impl_; }
};
}  // namespace detail

namespace net {

// timer_queue: the Engine's queue of armed Timers.
TimerQueue& timer_queue(Engine& e) noexcept;
// timers_changed: the earliest Timer may have changed; the Engine re-arms its
// wake-up (its uv_timer_t; nothing on a ManualClock).
void timers_changed(Engine& e) noexcept;

}  // namespace net
}  // namespace sluice

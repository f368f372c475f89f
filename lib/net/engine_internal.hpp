// engine_internal.hpp: the parts of Engine that only sluice itself uses.
//
// Not a public header: the counters that relays, inbounds and dials update,
// the timer queue behind net::Timer, and the loop runner for tests. They take
// the Engine as an argument instead of being members, so the public
// include/sluice/engine.hpp carries no hooks.
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

// closing_all: Engine::close_all (or stop) is under way: objects closing now
// close because the Engine stops (their reasons say so).
bool closing_all(Engine& e) noexcept;

// run_for_test runs the loop until no handle is active (tests without a
// thread of the Engine's own).
void run_for_test(Engine& e);

// Counters behind EngineStats, updated by relays, inbounds and TLS dials.
void count_bytes(Engine& e, uint64_t up, uint64_t down) noexcept;
void count_stream_open(Engine& e) noexcept;
void count_stream_close(Engine& e) noexcept;
void count_accept(Engine& e) noexcept;
void count_accept_error(Engine& e) noexcept;  // a listener's accept failed (EMFILE, ...)
void count_refused(Engine& e) noexcept;       // an inbound's limit closed a connection at accept
void count_ech(Engine& e, EchOutcome o) noexcept;

}  // namespace net
}  // namespace sluice

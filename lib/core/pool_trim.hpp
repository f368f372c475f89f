// pool_trim.hpp: giving memory back after load subsides: IdleTrimPolicy
// decides when (sans-I/O: it sees pool statistics, one sample per tick),
// trim_idle_memory does it.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Under load the pool grows to its working set and keeps it: slabs freed
// during a burst are reused by the next one, which is what makes the data
// path allocation-free. After the load is gone that memory is only retained
// (a server was seen at 25-36 MB after probes, from 8 MB), in the pool and
// in the heap that held the connections' objects. The policy trims when the
// load has subsided and stayed down: there is something to give back (free
// slab memory of at least min_free_bytes and at least what is in use, or at
// least min_churn connections and streams opened since the last trim, at
// least twice as many as the live Engine objects now: their memory is free
// in the heap; counted, not sampled, so a burst between two ticks counts),
// and neither the pool's outstanding bytes nor the live
// objects have grown for quiet_ticks ticks in a row. A growing tick resets
// the count, so a steady or rising load is never trimmed under it
// (hysteresis), and a trim is followed by quiet_ticks more ticks before the
// next. Growth in use means more than growth_slack over the lowest use
// since the last growth, so a periodic small buffer is not mistaken for
// load while a slow creep still is. The Engine ticks it every
// kPoolTrimTickMs on its loop.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/buffer.hpp"

namespace sluice {

// kPoolTrimTickMs: how often an Engine samples its pool for the policy.
inline constexpr uint64_t kPoolTrimTickMs = 5000;

class IdleTrimPolicy {
 public:
  struct Options {
    uint64_t min_free_bytes = uint64_t{1} << 20;  // pool memory below this is not worth a trim
    uint64_t min_churn = 64;   // or this many connections/streams opened (and mostly gone)
    uint32_t quiet_ticks = 2;  // ticks without growth before a trim
    // growth_slack: a rise in use of at most this much over the lowest use
    // seen while quiet is noise, not load: a keep-alive's buffer in flight
    // at a tick (a TUIC client's 10 s heartbeat met every other 5 s tick
    // and kept its pool from ever being trimmed).
    uint64_t growth_slack = uint64_t{256} << 10;
  };
  // Sample is what the Engine sees at a tick.
  struct Sample {
    PoolStats pool;
    uint64_t live_objects = 0;  // EngineStats::objects: connections, relays, sessions, ...
    uint64_t opened_total = 0;  // connections accepted + streams opened, ever (a counter)
  };
  IdleTrimPolicy() noexcept = default;
  explicit IdleTrimPolicy(const Options& o) noexcept : opts_(o) {}

  // on_tick takes one sample; true when memory should be given back now.
  bool on_tick(const Sample& s) noexcept;

 private:
  Options opts_;
  uint64_t low_used_ = 0;  // lowest use since the last growth
  uint64_t last_objects_ = 0;
  uint64_t opened_at_trim_ = 0;  // opened_total at the last trim
  uint32_t quiet_ = 0;           // consecutive ticks without growth and with something to give back
};

// trim_idle_memory gives the pool's free slabs back to the allocator and
// asks the allocator to return free memory to the OS (mimalloc's
// mi_collect when the pool uses it, glibc's malloc_trim for the rest of the
// process's heap). Returns the pool bytes freed. Loop thread of the pool's
// Engine; costs a heap walk, so only for idle moments.
size_t trim_idle_memory(BufferPool& pool) noexcept;

}  // namespace sluice

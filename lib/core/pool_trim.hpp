// pool_trim.hpp: giving memory back after load subsides: IdleTrimPolicy
// decides when (sans-I/O: it sees pool statistics, one sample per tick),
// trim_idle_memory does it.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Under load the pool grows to its working set and keeps it: slabs freed
// during a burst are reused by the next one, which is what makes the data
// path allocation-free. After the load is gone that memory is only retained
// (a server was seen at 25-36 MB after probes, from 8 MB). The policy trims
// when the load has subsided and stayed down: the free slab memory is large
// (at least min_free_bytes and at least what is in use) and the outstanding
// bytes have not grown for quiet_ticks ticks in a row. A growing tick resets
// the count, so a steady or rising load is never trimmed under it
// (hysteresis), and a trim is followed by quiet_ticks more ticks before the
// next. The Engine ticks it every kPoolTrimTickMs on its loop.
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
    uint64_t min_free_bytes = uint64_t{1} << 20;  // below this, trimming is not worth a call
    uint32_t quiet_ticks = 2;                     // ticks without growth before a trim
  };
  IdleTrimPolicy() noexcept = default;
  explicit IdleTrimPolicy(const Options& o) noexcept : opts_(o) {}

  // on_tick takes one sample; true when the pool should be trimmed now.
  bool on_tick(const PoolStats& s) noexcept;

 private:
  Options opts_;
  uint64_t last_outstanding_ = 0;
  uint32_t quiet_ = 0;  // consecutive ticks without growth and with enough free memory
};

// trim_idle_memory gives the pool's free slabs back to the allocator and
// asks the allocator to return free memory to the OS (mimalloc's
// mi_collect when the pool uses it, glibc's malloc_trim for the rest of the
// process's heap). Returns the pool bytes freed. Loop thread of the pool's
// Engine; costs a heap walk, so only for idle moments.
size_t trim_idle_memory(BufferPool& pool) noexcept;

}  // namespace sluice

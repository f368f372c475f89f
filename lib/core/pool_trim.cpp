// pool_trim.cpp: see pool_trim.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "core/pool_trim.hpp"

#include <malloc.h>

#ifdef SLUICE_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

namespace sluice {

bool IdleTrimPolicy::on_tick(const Sample& s) noexcept {
  const uint64_t used = s.pool.bytes_outstanding;
  const uint64_t free = s.pool.slab_bytes > used ? s.pool.slab_bytes - used : 0;
  const bool grew = used > low_used_ + opts_.growth_slack || s.live_objects > last_objects_;
  low_used_ = grew || used < low_used_ ? used : low_used_;
  last_objects_ = s.live_objects;
  const uint64_t churn = s.opened_total - opened_at_trim_;
  const bool pool_idle = free >= opts_.min_free_bytes && free >= used;
  const bool objects_gone = churn >= opts_.min_churn && churn >= 2 * s.live_objects;
  if (grew || !(pool_idle || objects_gone)) {
    quiet_ = 0;
    return false;
  }
  if (++quiet_ < opts_.quiet_ticks) return false;
  quiet_ = 0;
  opened_at_trim_ = s.opened_total;
  return true;
}

size_t trim_idle_memory(BufferPool& pool) noexcept {
  const size_t freed = pool.trim();
#ifdef SLUICE_HAVE_MIMALLOC
  // The slabs came from mimalloc: return its now-free pages to the OS.
  mi_collect(true);
#endif
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return freed;
}

}  // namespace sluice

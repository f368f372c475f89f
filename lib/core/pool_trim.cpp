// pool_trim.cpp: see pool_trim.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "core/pool_trim.hpp"

#include <malloc.h>

#ifdef SLUICE_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

namespace sluice {

bool IdleTrimPolicy::on_tick(const PoolStats& s) noexcept {
  const uint64_t used = s.bytes_outstanding;
  const uint64_t free = s.slab_bytes > used ? s.slab_bytes - used : 0;
  const bool grew = used > last_outstanding_;
  last_outstanding_ = used;
  if (grew || free < opts_.min_free_bytes || free < used) {
    quiet_ = 0;
    return false;
  }
  if (++quiet_ < opts_.quiet_ticks) return false;
  quiet_ = 0;
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

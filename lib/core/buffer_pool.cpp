// buffer_pool.cpp: BufferPool, slabs and size-class free lists.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "core/check.hpp"
#include "core/pool_state.hpp"
#include "sluice/buffer.hpp"

#ifdef SLUICE_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

namespace sluice {
namespace detail {
namespace {
std::atomic<size_t> g_orphaned_pools{0};
}

void* raw_alloc(size_t n) noexcept {
#ifdef SLUICE_HAVE_MIMALLOC
  return mi_malloc_aligned(n, kChunkHeaderSpace);
#else
  return std::aligned_alloc(kChunkHeaderSpace,
                            (n + kChunkHeaderSpace - 1) & ~(kChunkHeaderSpace - 1));
#endif
}

void raw_free(void* p) noexcept {
#ifdef SLUICE_HAVE_MIMALLOC
  mi_free(p);
#else
  std::free(p);
#endif
}

void PoolState::account_out(size_t cls) noexcept {
  stats.chunks_outstanding++;
  stats.bytes_outstanding += kClassPayload[cls];
  if (stats.bytes_outstanding > stats.high_water) stats.high_water = stats.bytes_outstanding;
}

void PoolState::account_in(size_t cls) noexcept {
  SLUICE_CHECK(stats.chunks_outstanding > 0);
  stats.chunks_outstanding--;
  stats.bytes_outstanding -= kClassPayload[cls];
}

void PoolState::link_avail(Slab* s) noexcept {
  ClassState& cs = classes[s->cls];
  s->avail_prev = nullptr;
  s->avail_next = cs.avail;
  if (cs.avail) cs.avail->avail_prev = s;
  cs.avail = s;
  s->in_avail = true;
}

void PoolState::unlink_avail(Slab* s) noexcept {
  ClassState& cs = classes[s->cls];
  if (s->avail_prev)
    s->avail_prev->avail_next = s->avail_next;
  else
    cs.avail = s->avail_next;
  if (s->avail_next) s->avail_next->avail_prev = s->avail_prev;
  s->avail_prev = s->avail_next = nullptr;
  s->in_avail = false;
}

Slab* PoolState::new_slab(size_t cls) noexcept {
  const size_t stride = block_stride(cls);
  const size_t bytes = kSlabHeaderSpace + stride * kBlocksPerSlab[cls];
  if (max_bytes && stats.slab_bytes + bytes > max_bytes) return nullptr;
  void* mem = raw_alloc(bytes);
  if (!mem) return nullptr;
  auto* s = new (mem) Slab{};
  s->pool = this;
  s->cls = static_cast<uint8_t>(cls);
  s->total = kBlocksPerSlab[cls];
  s->bytes = bytes;
  auto* first = static_cast<uint8_t*>(mem) + kSlabHeaderSpace;
  // Thread the blocks onto the slab's free list, lowest address first.
  for (uint32_t i = kBlocksPerSlab[cls]; i-- > 0;) {
    auto* c = new (first + i * stride) Chunk();
    c->base_ = reinterpret_cast<uint8_t*>(c) + kChunkHeaderSpace;
    c->capacity_ = static_cast<uint32_t>(kHeadroom + kClassPayload[cls] + kTailroom);
    c->kind_ = Chunk::Kind::pool;
    c->size_class_ = static_cast<uint8_t>(cls);
    c->slab_ = s;
    c->next_free_ = s->free_head;
    s->free_head = c;
  }
  s->free_count = s->total;
  free_blocks[cls] += s->total;
  ClassState& cs = classes[cls];
  s->next = cs.all;
  if (cs.all) cs.all->prev = s;
  cs.all = s;
  link_avail(s);
  stats.slab_bytes += bytes;
  stats.slabs++;
  return s;
}

void PoolState::free_slab(Slab* s) noexcept {
  ClassState& cs = classes[s->cls];
  if (s->in_avail) unlink_avail(s);
  if (s->prev)
    s->prev->next = s->next;
  else
    cs.all = s->next;
  if (s->next) s->next->prev = s->prev;
  free_blocks[s->cls] -= s->free_count;
  stats.slab_bytes -= s->bytes;
  stats.slabs--;
  s->~Slab();
  raw_free(s);
}

Chunk* PoolState::get(size_t cls) noexcept {
#ifdef SLUICE_NOPOOL
  // One allocation per chunk so AddressSanitizer sees each as its own object.
  const size_t bytes = kChunkHeaderSpace + kHeadroom + kClassPayload[cls] + kTailroom;
  if (max_bytes && stats.slab_bytes + bytes > max_bytes) {
    stats.failures++;
    return nullptr;
  }
  void* mem = raw_alloc(bytes);
  if (!mem) {
    stats.failures++;
    return nullptr;
  }
  auto* c = new (mem) Chunk();
  c->base_ = static_cast<uint8_t*>(mem) + kChunkHeaderSpace;
  c->capacity_ = static_cast<uint32_t>(kHeadroom + kClassPayload[cls] + kTailroom);
  c->kind_ = Chunk::Kind::heap;
  c->size_class_ = static_cast<uint8_t>(cls);
  c->pool_ = this;
  c->refs_ = 1;
  stats.misses++;
  stats.slab_bytes += bytes;
  account_out(cls);
  return c;
#else
  ClassState& cs = classes[cls];
  Slab* s = cs.avail;
  if (s) {
    stats.hits++;
  } else {
    s = new_slab(cls);
    if (!s) {
      stats.failures++;
      return nullptr;
    }
    stats.misses++;
  }
  Chunk* c = s->free_head;
  SLUICE_CHECK(c != nullptr && c->refs_ == 0);
  s->free_head = c->next_free_;
  c->next_free_ = nullptr;
  free_blocks[cls]--;
  if (--s->free_count == 0) unlink_avail(s);
  c->refs_ = 1;
  account_out(cls);
  return c;
#endif
}

void PoolState::put(Chunk* c) noexcept {
  const size_t cls = c->size_class_;
  account_in(cls);
  if (c->kind_ == Chunk::Kind::heap) {
    stats.slab_bytes -= kChunkHeaderSpace + kHeadroom + kClassPayload[cls] + kTailroom;
    c->~Chunk();
    raw_free(c);
  } else {
    Slab* s = c->slab_;
    c->next_free_ = s->free_head;
    s->free_head = c;
    free_blocks[cls]++;
    if (s->free_count++ == 0) link_avail(s);
  }
  destroy_if_orphaned_and_idle();
}

size_t PoolState::trim() noexcept {
  size_t freed = 0;
  for (auto& cs : classes) {
    Slab* s = cs.all;
    while (s) {
      Slab* next = s->next;
      if (s->free_count == s->total) {
        freed += s->bytes;
        free_slab(s);
      }
      s = next;
    }
  }
  return freed;
}

bool PoolState::admits(size_t cls, uint64_t blocks) const noexcept {
  if (max_bytes == 0) return true;
  uint64_t room = max_bytes > stats.slab_bytes ? max_bytes - stats.slab_bytes : 0;
  for (size_t k = 0; k < kNumSizeClasses; ++k) {
    const uint64_t want = reserved[k] + (k == cls ? blocks : 0);
    if (want <= free_blocks[k]) continue;
    const uint64_t units = (want - free_blocks[k] + unit_blocks(k) - 1) / unit_blocks(k);
    const uint64_t need = units * unit_bytes(k);
    if (need > room) return false;
    room -= need;
  }
  return true;
}

void PoolState::release(size_t cls, uint64_t blocks) noexcept {
  SLUICE_CHECK(reserved[cls] >= blocks && stats.reserved_blocks >= blocks);
  reserved[cls] -= blocks;
  stats.reserved_blocks -= blocks;
  destroy_if_orphaned_and_idle();
}

void PoolState::destroy_if_orphaned_and_idle() noexcept {
  if (orphaned && stats.chunks_outstanding == 0 && stats.reserved_blocks == 0) {
    g_orphaned_pools.fetch_sub(1, std::memory_order_relaxed);
    delete this;
  }
}

PoolState::~PoolState() {
  for (auto& cs : classes) {
    while (cs.all) free_slab(cs.all);
  }
}

}  // namespace detail

BufferPool::BufferPool(const BufferPoolOptions& opts) : state_(new detail::PoolState()) {
  state_->max_bytes = opts.max_bytes;
}

BufferPool::~BufferPool() {
  if (state_->stats.chunks_outstanding == 0 && state_->stats.reserved_blocks == 0) {
    delete state_;
  } else {
    // Slices (or reservations) still point into this pool: keep it alive
    // until the last one is released, and give back what is already free.
    state_->orphaned = true;
    state_->trim();
    detail::g_orphaned_pools.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<Slice> BufferPool::get(SizeClass c) {
  const auto cls = static_cast<size_t>(c);
  if (cls >= kNumSizeClasses) return Errc::invalid_argument;
  Chunk* chunk = state_->get(cls);
  if (!chunk) return Errc::no_memory;
  return Slice(chunk, static_cast<uint32_t>(kHeadroom), 0);
}

Result<Slice> BufferPool::get(size_t min_payload) {
  for (size_t cls = 0; cls < kNumSizeClasses; ++cls) {
    if (min_payload <= kClassPayload[cls]) return get(static_cast<SizeClass>(cls));
  }
  return Errc::invalid_argument;
}

Result<Slice> BufferPool::copy_from(const void* data, size_t len) {
  auto r = get(len);
  if (!r) return r;
  if (len) std::memcpy(r->append(len), data, len);
  return r;
}

Result<PoolReservation> BufferPool::reserve(SizeClass c, uint32_t blocks, std::string* why) {
  const auto cls = static_cast<size_t>(c);
  if (cls >= kNumSizeClasses || blocks == 0) return Errc::invalid_argument;
  detail::PoolState& st = *state_;
  if (st.max_bytes == 0) return PoolReservation();
  if (!st.admits(cls, blocks)) {
    st.trim();
    if (!st.admits(cls, blocks)) {
      st.stats.refused++;
      if (why != nullptr) {
        const uint64_t unit = detail::unit_bytes(cls);
        std::string w =
            "buffer pool cap reached: pool_max_bytes is " + std::to_string(st.max_bytes) + ", ";
        if (st.max_bytes < unit) {
          w += "below one slab of " + std::to_string(kClassPayload[cls] / 1024) + " KiB blocks (" +
               std::to_string(unit) + " bytes), so no connection can start";
        } else {
          w += std::to_string(st.stats.slab_bytes) + " bytes are in slabs and " +
               std::to_string(st.stats.reserved_blocks) +
               " blocks are reserved by handshakes in progress; new work is refused";
        }
        *why = std::move(w);
      }
      return Errc::limit_exceeded;
    }
  }
  st.reserved[cls] += blocks;
  st.stats.reserved_blocks += blocks;
  return PoolReservation(state_, static_cast<uint8_t>(cls), blocks);
}

uint64_t BufferPool::max_bytes() const noexcept { return state_->max_bytes; }

void PoolReservation::reset() noexcept {
  if (state_ == nullptr) return;
  detail::PoolState* s = std::exchange(state_, nullptr);
  s->release(cls_, std::exchange(blocks_, 0));
}

PoolStats BufferPool::stats() const noexcept { return state_->stats; }

size_t BufferPool::trim() noexcept { return state_->trim(); }

size_t BufferPool::orphaned_pools_for_test() noexcept {
  return detail::g_orphaned_pools.load(std::memory_order_relaxed);
}

}  // namespace sluice

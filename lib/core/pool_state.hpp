// pool_state.hpp: the BufferPool's private state (slabs, free lists, counters).
//
// A slab is one allocation carved into equal blocks of one size class. Each
// block is a Chunk header padded to a cache line, then headroom, payload and
// tailroom. A slab keeps its own free list; the class keeps a list of slabs
// with at least one free block ("available"), so get() is O(1) and trim() can
// give back exactly the slabs whose every block is free.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/buffer.hpp"

namespace sluice::detail {

// kChunkHeaderSpace: the Chunk header's footprint in a block (one cache line).
inline constexpr size_t kChunkHeaderSpace = 64;
static_assert(sizeof(Chunk) <= kChunkHeaderSpace, "Chunk header must fit one cache line");

// kBlocksPerSlab: blocks carved from one slab, per class. Small so that trim()
// finds free slabs and idle memory returns; 64 KiB blocks are one per slab.
inline constexpr uint32_t kBlocksPerSlab[kNumSizeClasses] = {16, 4, 1};

constexpr size_t block_stride(size_t cls) {
  return kChunkHeaderSpace + kHeadroom + kClassPayload[cls] + kTailroom;
}

struct Slab {
  PoolState* pool;
  Slab* prev;  // all-slabs list of the class
  Slab* next;
  Slab* avail_prev;  // available list (free_count > 0)
  Slab* avail_next;
  Chunk* free_head;  // this slab's free blocks
  uint32_t free_count;
  uint32_t total;
  uint8_t cls;
  bool in_avail;
  size_t bytes;  // bytes of this allocation
};

// kSlabHeaderSpace: bytes before a slab's first block, cache-line padded.
inline constexpr size_t kSlabHeaderSpace = (sizeof(Slab) + 63) & ~size_t{63};

struct ClassState {
  Slab* all = nullptr;
  Slab* avail = nullptr;
};

// unit_blocks / unit_bytes: what one new slab of a class adds (with
// SLUICE_NOPOOL every chunk is its own allocation, a "slab" of one block).
constexpr uint32_t unit_blocks(size_t cls) {
#ifdef SLUICE_NOPOOL
  (void)cls;
  return 1;
#else
  return kBlocksPerSlab[cls];
#endif
}
constexpr size_t unit_bytes(size_t cls) {
#ifdef SLUICE_NOPOOL
  return block_stride(cls);
#else
  return kSlabHeaderSpace + block_stride(cls) * kBlocksPerSlab[cls];
#endif
}

struct PoolState {
  ClassState classes[kNumSizeClasses];
  PoolStats stats;
  uint64_t max_bytes = 0;
  uint64_t free_blocks[kNumSizeClasses] = {};  // free blocks in this class's slabs
  uint64_t reserved[kNumSizeClasses] = {};     // blocks held by PoolReservations
  bool orphaned = false;                       // its BufferPool is gone; the last put() frees this

  Chunk* get(size_t cls) noexcept;
  void put(Chunk* c) noexcept;  // a pool or heap chunk whose refs reached 0
  size_t trim() noexcept;
  // admits reports whether |blocks| more blocks of |cls| fit beside every
  // reservation held: free blocks first, then new slabs under the cap.
  bool admits(size_t cls, uint64_t blocks) const noexcept;
  void release(size_t cls, uint64_t blocks) noexcept;
  void destroy_if_orphaned_and_idle() noexcept;
  ~PoolState();

 private:
  Slab* new_slab(size_t cls) noexcept;
  void free_slab(Slab* s) noexcept;
  void link_avail(Slab* s) noexcept;
  void unlink_avail(Slab* s) noexcept;
  void account_out(size_t cls) noexcept;
  void account_in(size_t cls) noexcept;
};

// raw_alloc / raw_free take slab and header memory from mimalloc when built
// with it, otherwise from the C library. Cache-line aligned.
void* raw_alloc(size_t n) noexcept;
void raw_free(void* p) noexcept;

}  // namespace sluice::detail

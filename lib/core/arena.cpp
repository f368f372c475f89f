// arena.cpp: Arena blocks and bump allocation.
#include "core/arena.hpp"

#include <cstdlib>
#include <cstring>

#include "core/check.hpp"

namespace sluice {

struct Arena::Block {
  Block* prev;
  size_t size;  // payload bytes after the header
  size_t used;
  alignas(64) uint8_t data[];
};

Arena::Arena(const ArenaOptions& opts) noexcept : opts_(opts) {
  if (opts_.block_size < 256) opts_.block_size = 256;
}

Arena::~Arena() {
  reset();
  while (head_) {
    Block* p = head_->prev;
    std::free(head_);
    head_ = p;
  }
}

Arena::Block* Arena::new_block(size_t min_payload) noexcept {
#ifdef SLUICE_NOPOOL
  const size_t payload = min_payload;
#else
  const size_t payload = min_payload > opts_.block_size ? min_payload : opts_.block_size;
#endif
  const size_t total = sizeof(Block) + payload;
  if (opts_.max_bytes && held_ + total > opts_.max_bytes) return nullptr;
  void* mem = std::aligned_alloc(64, (total + 63) & ~size_t{63});
  if (!mem) return nullptr;
  auto* b = static_cast<Block*>(mem);
  b->prev = head_;
  b->size = payload;
  b->used = 0;
  head_ = b;
  held_ += total;
  return b;
}

Result<void*> Arena::allocate(size_t size, size_t align) noexcept {
  if (align == 0 || (align & (align - 1)) != 0 || align > 64) return Errc::invalid_argument;
  if (size == 0) size = 1;
  Block* b = head_;
  size_t off = 0;
  bool fits = false;
  if (b) {
    off = (b->used + align - 1) & ~(align - 1);
    fits = off <= b->size && size <= b->size - off;
  }
#ifdef SLUICE_NOPOOL
  fits = false;
#endif
  if (!fits) {
    b = new_block(size + align);
    if (!b) return Errc::no_memory;
    off = 0;
  }
  b->used = off + size;
  used_ += size;
  return static_cast<void*>(b->data + off);
}

Result<uint8_t*> Arena::copy(const void* data, size_t len) noexcept {
  auto r = allocate(len, 1);
  if (!r) return r.error();
  if (len) std::memcpy(*r, data, len);
  return static_cast<uint8_t*>(*r);
}

Status Arena::push_dtor(void* obj, void (*fn)(void*)) noexcept {
  auto mem = allocate(sizeof(Dtor), alignof(Dtor));
  if (!mem) return mem.error();
  dtors_ = new (*mem) Dtor{fn, obj, dtors_};
  return {};
}

void Arena::reset() noexcept {
  while (dtors_) {
    Dtor* d = dtors_;
    dtors_ = d->prev;
    d->fn(d->obj);
  }
  // Keep the oldest block for the next handshake; free the rest.
  while (head_ && head_->prev) {
    Block* p = head_->prev;
    held_ -= sizeof(Block) + head_->size;
    std::free(head_);
    head_ = p;
  }
#ifdef SLUICE_NOPOOL
  if (head_) {
    held_ -= sizeof(Block) + head_->size;
    std::free(head_);
    head_ = nullptr;
  }
#endif
  if (head_) head_->used = 0;
  used_ = 0;
}

}  // namespace sluice

// arena.hpp: Arena, a bump allocator for handshake-lifetime objects.
//
// A handshake allocates many small objects that all die together (parsed
// extensions, transcript pieces, certificate views). The Arena hands them out
// from a few blocks by bumping a pointer and frees them all at once with
// reset(), running the destructors of non-trivially-destructible objects in
// reverse order of creation. One owner, one thread. With -Dnopool=true every
// allocation is its own malloc so AddressSanitizer sees overflows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "sluice/error.hpp"

namespace sluice {

struct ArenaOptions {
  size_t block_size = 4096;  // bytes per block (larger requests get their own)
  size_t max_bytes = 0;      // cap on bytes held; 0 = none. Past it: no_memory.
};

class Arena {
 public:
  explicit Arena(const ArenaOptions& opts = {}) noexcept;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // allocate returns |size| bytes aligned to |align| (a power of two <= 64),
  // or no_memory.
  Result<void*> allocate(size_t size, size_t align = alignof(std::max_align_t)) noexcept;

  // make constructs a T in the arena; its destructor runs at reset() if it
  // has one. T's constructor must not throw.
  template <typename T, typename... Args>
  Result<T*> make(Args&&... args) noexcept {
    static_assert(std::is_nothrow_constructible_v<T, Args...>,
                  "arena objects construct without throwing");
    auto mem = allocate(sizeof(T), alignof(T));
    if (!mem) return mem.error();
    if constexpr (!std::is_trivially_destructible_v<T>) {
      Status st = push_dtor(*mem, [](void* p) { static_cast<T*>(p)->~T(); });
      if (!st) return st.error();
    }
    return new (*mem) T(std::forward<Args>(args)...);
  }

  // copy returns an arena copy of |len| bytes.
  Result<uint8_t*> copy(const void* data, size_t len) noexcept;

  // reset runs pending destructors, frees every block but the first and
  // rewinds. Pointers handed out before are invalid afterwards.
  void reset() noexcept;

  size_t bytes_used() const noexcept { return used_; }  // bytes handed out since reset
  size_t bytes_held() const noexcept { return held_; }  // bytes of blocks held

 private:
  struct Block;
  struct Dtor {
    void (*fn)(void*);
    void* obj;
    Dtor* prev;
  };
  Status push_dtor(void* obj, void (*fn)(void*)) noexcept;
  Block* new_block(size_t min_payload) noexcept;

  ArenaOptions opts_;
  Block* head_ = nullptr;  // current block; older ones linked through Block::prev
  Dtor* dtors_ = nullptr;  // newest first
  size_t used_ = 0;
  size_t held_ = 0;
};

}  // namespace sluice

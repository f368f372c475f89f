// sluice/buffer.hpp: Chunk, Slice, Chain and BufferPool, the data path's memory.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// A Chunk is one block of memory with a reference count. Pool chunks come from
// a BufferPool in three size classes (2 KiB, 16 KiB, 64 KiB of payload); every
// pool chunk reserves kHeadroom bytes in front of the payload, so a protocol or
// record header is written in front without moving the payload, and kTailroom
// bytes behind it, so an AEAD tag is appended in place:
//
//   Chunk block:  [ header | headroom (64) | payload (class size) | tailroom (32) ]
//                            ^ base()                                          ^ base()+capacity()
//
// A Slice is a counted view [off, off+len) into a Chunk. Copying a Slice copies
// no bytes: it takes one more reference. A Slice may write into its bytes only
// while it holds the only reference (unique()); shared means read-only, and
// foreign (wrapped) memory is always read-only.
//
// A Chain is a sequence of Slices, with an iovec view for vectored writes and
// linearize(n), which copies only when the first n bytes straddle two Slices.
//
// Ownership and threads: a BufferPool belongs to one Engine, hence to one
// thread; its chunks, and every Slice and Chain pointing into them, are touched
// only on that thread (reference counts are not atomic). A BufferPool destroyed
// while chunks are still out is not freed under them: it is orphaned, and the
// last chunk released frees it, so a Slice can never outlive its memory.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sluice/error.hpp"

namespace sluice {

class BufferPool;
namespace detail {
struct PoolState;
struct Slab;
}  // namespace detail

// SizeClass names the pool's block sizes by payload capacity.
enum class SizeClass : uint8_t { k2K = 0, k16K = 1, k64K = 2 };
inline constexpr size_t kNumSizeClasses = 3;
inline constexpr size_t kClassPayload[kNumSizeClasses] = {2048, 16384, 65536};
// kHeadroom: bytes reserved in front of the payload of every pool chunk; enough
// for a TLS record header (5), a QUIC short header plus protocol framing, a
// SOCKS5/VLESS/Trojan request header with a domain name is *not* assumed to fit.
inline constexpr size_t kHeadroom = 64;
// kTailroom: bytes reserved after the payload; an AEAD tag is 16.
inline constexpr size_t kTailroom = 32;

// ChunkReleaseFn frees foreign memory wrapped by Chunk::wrap when its last
// reference goes. |user| is the value given to wrap.
using ChunkReleaseFn = void (*)(void* user, const uint8_t* data, size_t len);

// Chunk is the header of one block. Its fields are private to the buffer code;
// users hold Slices, never Chunks.
class Chunk {
 public:
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;

  uint8_t* base() const noexcept { return base_; }
  uint32_t capacity() const noexcept { return capacity_; }
  uint32_t refs() const noexcept { return refs_; }
  bool foreign() const noexcept { return kind_ == Kind::foreign; }

  void ref() noexcept { ++refs_; }
  void unref() noexcept {
    if (--refs_ == 0) release();
  }

 private:
  friend class BufferPool;
  friend class Slice;
  friend struct detail::PoolState;
  friend struct detail::Slab;
  enum class Kind : uint8_t { pool, heap, foreign };
  Chunk() = default;
  void release() noexcept;

  uint8_t* base_ = nullptr;  // first byte of headroom (pool) or of the memory
  uint32_t capacity_ = 0;    // bytes from base_ to the end of tailroom
  uint32_t refs_ = 0;        // Slices pointing here; 0 only while on a free list
  Kind kind_ = Kind::pool;
  uint8_t size_class_ = 0;  // SizeClass for pool chunks
  union {
    detail::Slab* slab_;       // pool: the slab it was carved from
    detail::PoolState* pool_;  // heap (nopool build): the pool to credit
    struct {
      ChunkReleaseFn fn;
      void* user;
    } foreign_;
  };
  Chunk* next_free_ = nullptr;  // free-list link inside its slab
};

// Slice is a counted view into a Chunk. Default-constructed, it is empty and
// points nowhere.
class Slice {
 public:
  Slice() noexcept = default;
  Slice(const Slice& o) noexcept : chunk_(o.chunk_), off_(o.off_), len_(o.len_) {
    if (chunk_) chunk_->ref();
  }
  Slice(Slice&& o) noexcept : chunk_(o.chunk_), off_(o.off_), len_(o.len_) {
    o.chunk_ = nullptr;
    o.off_ = o.len_ = 0;
  }
  Slice& operator=(const Slice& o) noexcept {
    if (this != &o) {
      if (o.chunk_) o.chunk_->ref();
      reset();
      chunk_ = o.chunk_;
      off_ = o.off_;
      len_ = o.len_;
    }
    return *this;
  }
  Slice& operator=(Slice&& o) noexcept {
    if (this != &o) {
      reset();
      chunk_ = std::exchange(o.chunk_, nullptr);
      off_ = std::exchange(o.off_, 0);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  ~Slice() { reset(); }

  // wrap makes a read-only Slice over foreign memory; |fn| (may be null) is
  // called with |user| when the last reference goes. Returns no_memory only if
  // the small Chunk header cannot be allocated; then |fn| is not called.
  static Result<Slice> wrap(const uint8_t* data, size_t len, ChunkReleaseFn fn, void* user);

  // reset drops this Slice's reference and leaves it empty.
  void reset() noexcept {
    if (chunk_) {
      chunk_->unref();
      chunk_ = nullptr;
    }
    off_ = len_ = 0;
  }

  bool empty() const noexcept { return len_ == 0; }
  size_t size() const noexcept { return len_; }
  const uint8_t* data() const noexcept { return chunk_ ? chunk_->base() + off_ : nullptr; }
  std::span<const uint8_t> span() const noexcept { return {data(), len_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), len_}; }
  const Chunk* chunk() const noexcept { return chunk_; }

  // unique: this Slice holds the only reference to a pool or heap chunk, so it
  // may write into its bytes and grow into head- and tailroom.
  bool unique() const noexcept { return chunk_ && chunk_->refs_ == 1 && !chunk_->foreign(); }
  // mutable_data returns a writable pointer, or nullptr unless unique().
  uint8_t* mutable_data() noexcept { return unique() ? chunk_->base() + off_ : nullptr; }

  // headroom / tailroom: bytes of the chunk before / after this view.
  size_t headroom() const noexcept { return chunk_ ? off_ : 0; }
  size_t tailroom() const noexcept { return chunk_ ? chunk_->capacity() - off_ - len_ : 0; }

  // advance drops n bytes from the front (n <= size()).
  void advance(size_t n) noexcept;
  // truncate keeps the first n bytes (n <= size()).
  void truncate(size_t n) noexcept;
  // split_to returns the first n bytes as a new Slice sharing the chunk and
  // leaves the rest here (n <= size()). No bytes move.
  Slice split_to(size_t n) noexcept;
  // sub returns a Slice over [pos, pos+n) sharing the chunk.
  Slice sub(size_t pos, size_t n) const noexcept;

  // prepend grows the view n bytes into the headroom and returns a pointer to
  // the new first byte, for writing a header. Requires unique() and
  // headroom() >= n; otherwise nullptr and nothing changes.
  uint8_t* prepend(size_t n) noexcept;
  // append grows the view n bytes into the tailroom and returns a pointer to
  // the first new byte. Requires unique() and tailroom() >= n.
  uint8_t* append(size_t n) noexcept;

 private:
  friend class BufferPool;
  friend class Chain;
  Slice(Chunk* c, uint32_t off, uint32_t len) noexcept : chunk_(c), off_(off), len_(len) {}

  Chunk* chunk_ = nullptr;  // holds one reference while non-null
  uint32_t off_ = 0;        // offset of the first byte from chunk_->base()
  uint32_t len_ = 0;        // bytes in view
};

// PoolStats are the BufferPool's counters.
struct PoolStats {
  uint64_t hits = 0;      // get() served from a free list
  uint64_t misses = 0;    // get() that had to take a new slab
  uint64_t failures = 0;  // get() that failed (limit or allocator)
  uint64_t chunks_outstanding = 0;
  uint64_t bytes_outstanding = 0;  // payload bytes of chunks handed out
  uint64_t high_water = 0;         // max of bytes_outstanding
  uint64_t slab_bytes = 0;         // memory currently held in slabs
  uint64_t slabs = 0;
  uint64_t reserved_blocks = 0;  // blocks promised to admitted work still starting
  uint64_t refused = 0;          // reserve() calls the cap refused
};

// BufferPoolOptions bound the pool.
//
// What the cap covers: max_bytes bounds the memory the pool holds in slabs
// (stats().slab_bytes: every chunk handed out, plus the free blocks of slabs
// not yet trimmed, plus slab headers). It does not cover heap memory outside
// the pool: protocol state, BoringSSL's own buffers, libuv handles, wrapped
// (foreign) chunks. Slabs come whole, so the smallest useful caps are one
// slab of a class: about 35 KiB for 2 KiB blocks, 65 KiB for 16 KiB blocks
// (4 per slab) and 64 KiB blocks (1 per slab); a cap below 65 KiB leaves no
// room for a socket read buffer, so nothing can connect.
//
// The cap works at two points:
//  - admission: new work calls reserve() before it starts: every TLS
//    handshake, client or server side (TlsTransport reserves two 16 KiB
//    blocks), and every connection or QUIC stream an inbound without TLS
//    accepts (one 16 KiB block until its request is decided); past the cap
//    it is refused with limit_exceeded and a reason, before any byte of the
//    handshake is sent, so the peer sees a refused connection rather than a
//    broken handshake.
//    What a reservation holds is counted against later admissions until it
//    is released (when the handshake ends), so work already admitted keeps
//    the room it was promised.
//  - get(): a get() that needs a new slab past the cap fails with
//    no_memory; the flow that asked fails (a relay's read or write), others
//    go on. Admission keeps handshakes clear of this unless running flows
//    grow into the reserved room, so size the cap for the flows admitted
//    (each relay direction buffers up to its high watermark, 512 KiB).
struct BufferPoolOptions {
  // max_bytes caps slab memory; 0 = no cap.
  uint64_t max_bytes = 0;
};

// PoolReservation holds blocks of one size class promised by
// BufferPool::reserve until it is destroyed or reset(). Move-only; it must
// not outlive its BufferPool's Engine loop (destroy it on the pool's thread).
class PoolReservation {
 public:
  PoolReservation() noexcept = default;
  ~PoolReservation() { reset(); }
  PoolReservation(PoolReservation&& o) noexcept
      : state_(std::exchange(o.state_, nullptr)),
        blocks_(std::exchange(o.blocks_, 0)),
        cls_(o.cls_) {}
  PoolReservation& operator=(PoolReservation&& o) noexcept {
    if (this != &o) {
      reset();
      state_ = std::exchange(o.state_, nullptr);
      blocks_ = std::exchange(o.blocks_, 0);
      cls_ = o.cls_;
    }
    return *this;
  }
  PoolReservation(const PoolReservation&) = delete;
  PoolReservation& operator=(const PoolReservation&) = delete;

  // reset gives the blocks back to the pool's admission budget.
  void reset() noexcept;
  bool held() const noexcept { return state_ != nullptr; }

 private:
  friend class BufferPool;
  PoolReservation(detail::PoolState* s, uint8_t cls, uint32_t blocks) noexcept
      : state_(s), blocks_(blocks), cls_(cls) {}
  detail::PoolState* state_ = nullptr;
  uint32_t blocks_ = 0;
  uint8_t cls_ = 0;
};

// BufferPool hands out Slices over pool chunks. One per Engine; not
// thread-safe. Destroying it with chunks outstanding orphans it (see above).
class BufferPool {
 public:
  explicit BufferPool(const BufferPoolOptions& opts = {});
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // get returns a unique, empty Slice positioned after kHeadroom, in the
  // smallest class whose payload holds |min_payload| bytes (append() up to the
  // class payload + kTailroom). no_memory if the cap is hit or the allocator
  // fails; invalid_argument if min_payload > 64 KiB. Reservations do not
  // limit get(): they limit admission (reserve).
  Result<Slice> get(size_t min_payload = kClassPayload[0]);
  Result<Slice> get(SizeClass c);

  // copy_from returns a Slice holding a copy of |data| (any length up to 64 KiB).
  Result<Slice> copy_from(const void* data, size_t len);

  // reserve admits new work that will need |blocks| blocks of class |c|: it
  // succeeds when the free blocks of that class, plus what the cap still
  // allows in new slabs, cover every reservation held and this one (with no
  // cap it always succeeds and holds nothing). Past the cap it first trims
  // free slabs, then fails with limit_exceeded and, if |why| is set, a reason
  // naming the cap and what is in use (refused is counted either way).
  Result<PoolReservation> reserve(SizeClass c, uint32_t blocks, std::string* why = nullptr);
  // max_bytes returns the cap (0 = none).
  uint64_t max_bytes() const noexcept;

  // stats returns the counters.
  PoolStats stats() const noexcept;
  // trim gives every completely free slab back to the allocator; returns bytes freed.
  size_t trim() noexcept;

  // orphaned_pools_for_test counts pools destroyed but not yet freed
  // (process-wide).
  static size_t orphaned_pools_for_test() noexcept;

 private:
  detail::PoolState* state_;
};

// Chain is a sequence of Slices. Move-only; moving a Chain moves no bytes.
class Chain {
 public:
  Chain() noexcept = default;
  ~Chain();
  Chain(Chain&& o) noexcept;
  Chain& operator=(Chain&& o) noexcept;
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  // push_back / push_front append a Slice (empty Slices are dropped).
  // no_memory only if the slot array must grow and cannot.
  Status push_back(Slice&& s) noexcept;
  Status push_front(Slice&& s) noexcept;
  // append moves every Slice of |o| to the end of this Chain.
  Status append(Chain&& o) noexcept;
  // push_back_compact appends |s| as push_back does, except that a small |s|
  // (at most kCompactMax bytes) is copied into the last Slice's tailroom
  // when that Slice is unique and keeps kTailroom free after the copy; |s|
  // is then released. For Chains that gather received bytes until a frame
  // is whole, or queue writes: a peer that dribbles bytes one read at a
  // time then pins about one chunk per chunk of bytes rather than a chunk
  // per read (16 KiB for each byte). Pointers into bytes already in the
  // Chain stay valid; never use it where the caller keeps a pointer into
  // |s| itself.
  static constexpr size_t kCompactMax = 1024;
  Status push_back_compact(Slice&& s) noexcept;
  // append_compact moves every Slice of |o| here with push_back_compact.
  Status append_compact(Chain&& o) noexcept;
  // push_back_framed appends |payload| with |n| header bytes in front and
  // returns where the caller writes them: the payload's own headroom when it
  // is unique and has room (one Slice, nothing copied), else a small Slice
  // from |pool| pushed in front of it. The pointer stays valid while the
  // bytes are in this Chain. Errors: no_memory (nothing appended).
  Result<uint8_t*> push_back_framed(Slice&& payload, size_t n, BufferPool& pool) noexcept;

  size_t size() const noexcept { return bytes_; }
  bool empty() const noexcept { return bytes_ == 0; }
  size_t count() const noexcept { return tail_ - head_; }
  const Slice& operator[](size_t i) const noexcept { return slots_[head_ + i]; }
  Slice& front() noexcept { return slots_[head_]; }

  // pop_front removes and returns the first Slice (the Chain must not be empty).
  Slice pop_front() noexcept;
  // advance drops n bytes from the front (n <= size()).
  void advance(size_t n) noexcept;
  // split_to moves the first n bytes into a new Chain, splitting at most one
  // Slice (no copy). n <= size().
  Result<Chain> split_to(size_t n) noexcept;
  // clear releases every Slice.
  void clear() noexcept;

  // iovecs fills up to |max| iovecs from the front and returns how many; the
  // pointers stay valid until the Chain changes. libuv's uv_buf_t has the same
  // layout as iovec on Unix.
  size_t iovecs(struct iovec* out, size_t max) const noexcept;

  // copy_out copies the first min(n, size()) bytes to |dst| without consuming
  // them; returns how many.
  size_t copy_out(void* dst, size_t n) const noexcept;

  // linearize makes the first n bytes contiguous and returns a pointer to them
  // (n <= size()). If the first Slice already holds n bytes, nothing is copied;
  // otherwise the bytes are gathered into one new Slice from |pool| (n <= 64 KiB).
  Result<const uint8_t*> linearize(size_t n, BufferPool& pool) noexcept;

 private:
  Status reserve_back() noexcept;
  Status reserve_front() noexcept;

  static constexpr size_t kInline = 4;
  Slice inline_[kInline];
  Slice* slots_ = inline_;  // inline_ or a heap array of cap_ Slices
  uint32_t cap_ = kInline;
  uint32_t head_ = 0;  // first used slot
  uint32_t tail_ = 0;  // one past the last used slot
  size_t bytes_ = 0;   // sum of the Slices' sizes
};

}  // namespace sluice

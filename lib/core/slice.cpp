// slice.cpp: Slice views: split, advance, grow into head- and tailroom.
#include <new>

#include "core/check.hpp"
#include "sluice/buffer.hpp"

namespace sluice {

Result<Slice> Slice::wrap(const uint8_t* data, size_t len, ChunkReleaseFn fn, void* user) {
  if (len > UINT32_MAX || (data == nullptr && len != 0)) return Errc::invalid_argument;
  auto* c = new (std::nothrow) Chunk();
  if (!c) return Errc::no_memory;
  c->base_ = const_cast<uint8_t*>(data);  // never written: foreign chunks are read-only
  c->capacity_ = static_cast<uint32_t>(len);
  c->kind_ = Chunk::Kind::foreign;
  c->foreign_.fn = fn;
  c->foreign_.user = user;
  c->refs_ = 1;
  return Slice(c, 0, static_cast<uint32_t>(len));
}

void Slice::advance(size_t n) noexcept {
  SLUICE_CHECK(n <= len_);
  off_ += static_cast<uint32_t>(n);
  len_ -= static_cast<uint32_t>(n);
}

void Slice::truncate(size_t n) noexcept {
  SLUICE_CHECK(n <= len_);
  len_ = static_cast<uint32_t>(n);
}

Slice Slice::split_to(size_t n) noexcept {
  SLUICE_CHECK(n <= len_);
  if (n == 0) return Slice();
  chunk_->ref();
  Slice front(chunk_, off_, static_cast<uint32_t>(n));
  off_ += static_cast<uint32_t>(n);
  len_ -= static_cast<uint32_t>(n);
  return front;
}

Slice Slice::sub(size_t pos, size_t n) const noexcept {
  SLUICE_CHECK(pos <= len_ && n <= len_ - pos);
  if (n == 0) return Slice();
  chunk_->ref();
  return Slice(chunk_, off_ + static_cast<uint32_t>(pos), static_cast<uint32_t>(n));
}

uint8_t* Slice::prepend(size_t n) noexcept {
  if (!unique() || headroom() < n) return nullptr;
  off_ -= static_cast<uint32_t>(n);
  len_ += static_cast<uint32_t>(n);
  return chunk_->base() + off_;
}

uint8_t* Slice::append(size_t n) noexcept {
  if (!unique() || tailroom() < n) return nullptr;
  uint8_t* p = chunk_->base() + off_ + len_;
  len_ += static_cast<uint32_t>(n);
  return p;
}

}  // namespace sluice

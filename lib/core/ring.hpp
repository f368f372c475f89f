// ring.hpp: Ring<T>, a FIFO queue on one growable circular array.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// std::deque allocates and frees a block each time its ends cross a block
// boundary, so a queue that stays short but sees one push and one pop per
// packet allocates every few dozen packets forever. A Ring allocates only
// when it grows past its largest size so far (doubling, moving its
// elements), and shrinks only when asked (shrink_to): in a steady state it
// does not allocate.
// push_back reports allocation failure instead of throwing.
//
// Threads: none of its own; like any container.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace sluice {

template <typename T>
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { clear(); }

  bool empty() const noexcept { return n_ == 0; }
  size_t size() const noexcept { return n_; }
  size_t capacity() const noexcept { return cap_; }

  // i-th element from the front.
  T& operator[](size_t i) noexcept { return slot(i); }
  const T& operator[](size_t i) const noexcept { return const_cast<Ring*>(this)->slot(i); }
  T& front() noexcept { return slot(0); }

  // push_back appends; false when growing failed (the Ring is unchanged).
  [[nodiscard]] bool push_back(T v) noexcept {
    if (n_ == cap_ && !grow()) return false;
    new (&raw(head_ + n_)) T(std::move(v));
    n_++;
    return true;
  }

  // reserve makes room for |n| elements; false when that failed.
  [[nodiscard]] bool reserve(size_t n) noexcept {
    while (cap_ < n)
      if (!grow()) return false;
    return true;
  }

  void pop_front() noexcept {
    raw(head_).~T();
    head_ = (head_ + 1) % cap_;
    if (--n_ == 0) head_ = 0;
  }

  // erase_at removes the i-th element, keeping the order of the others.
  void erase_at(size_t i) noexcept {
    for (size_t k = i; k + 1 < n_; ++k) slot(k) = std::move(slot(k + 1));
    raw(head_ + n_ - 1).~T();
    if (--n_ == 0) head_ = 0;
  }

  // find_index returns the index of the first element equal to |v|, or size().
  size_t find_index(const T& v) const noexcept {
    for (size_t i = 0; i < n_; ++i)
      if ((*this)[i] == v) return i;
    return n_;
  }

  void clear() noexcept {
    while (n_ > 0) pop_front();
  }

  // shrink_to gives back capacity beyond what |n| elements (and those held)
  // need: the capacity becomes the smallest of 8, 16, 32, ... that fits,
  // if that is at most half the current one. An owner calls it when a burst
  // that grew the Ring is over; false only when the smaller array could not
  // be allocated (the Ring is unchanged).
  bool shrink_to(size_t n) noexcept {
    if (n < n_) n = n_;
    size_t cap = 8;
    while (cap < n) cap *= 2;
    if (cap_ == 0 || cap * 2 > cap_) return true;
    return move_to(cap);
  }

 private:
  struct alignas(T) Storage {
    unsigned char bytes[sizeof(T)];
  };
  T& raw(size_t pos) noexcept { return *std::launder(reinterpret_cast<T*>(&buf_[pos % cap_])); }
  T& slot(size_t i) noexcept { return raw(head_ + i); }

  bool grow() noexcept { return move_to(cap_ ? cap_ * 2 : 8); }

  // move_to moves the elements to a new array of |cap| (at least n_) slots.
  bool move_to(size_t cap) noexcept {
    std::unique_ptr<Storage[]> b(new (std::nothrow) Storage[cap]);
    if (!b) return false;
    for (size_t i = 0; i < n_; ++i) {
      T& from = slot(i);
      new (&b[i]) T(std::move(from));
      from.~T();
    }
    buf_ = std::move(b);
    cap_ = cap;
    head_ = 0;
    return true;
  }

  std::unique_ptr<Storage[]> buf_;
  size_t cap_ = 0;
  size_t head_ = 0;
  size_t n_ = 0;
};

}  // namespace sluice

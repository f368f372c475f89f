// chain.cpp: Chain, a sequence of Slices with an iovec view.
#include <algorithm>
#include <cstring>
#include <new>

#include "core/check.hpp"
#include "sluice/buffer.hpp"

namespace sluice {

Chain::~Chain() {
  clear();
  if (slots_ != inline_) delete[] slots_;
}

Chain::Chain(Chain&& o) noexcept { *this = std::move(o); }

Chain& Chain::operator=(Chain&& o) noexcept {
  if (this == &o) return *this;
  clear();
  if (slots_ != inline_) {
    delete[] slots_;
    slots_ = inline_;
    cap_ = kInline;
  }
  if (o.slots_ == o.inline_) {
    for (uint32_t i = o.head_; i < o.tail_; ++i) inline_[i - o.head_] = std::move(o.inline_[i]);
    head_ = 0;
    tail_ = o.tail_ - o.head_;
  } else {
    slots_ = o.slots_;
    cap_ = o.cap_;
    head_ = o.head_;
    tail_ = o.tail_;
    o.slots_ = o.inline_;
    o.cap_ = kInline;
  }
  bytes_ = o.bytes_;
  o.head_ = o.tail_ = 0;
  o.bytes_ = 0;
  return *this;
}

Status Chain::reserve_back() noexcept {
  if (tail_ < cap_) return {};
  const uint32_t n = tail_ - head_;
  if (head_ > 0) {
    for (uint32_t i = 0; i < n; ++i) slots_[i] = std::move(slots_[head_ + i]);
    head_ = 0;
    tail_ = n;
    return {};
  }
  const uint32_t ncap = cap_ * 2;
  auto* fresh = new (std::nothrow) Slice[ncap];
  if (!fresh) return Errc::no_memory;
  for (uint32_t i = 0; i < n; ++i) fresh[i] = std::move(slots_[head_ + i]);
  if (slots_ != inline_) delete[] slots_;
  slots_ = fresh;
  cap_ = ncap;
  head_ = 0;
  tail_ = n;
  return {};
}

Status Chain::reserve_front() noexcept {
  if (head_ > 0) return {};
  const uint32_t n = tail_ - head_;
  if (tail_ < cap_) {
    // Shift right by half the free space so repeated push_front stays amortized O(1).
    const uint32_t shift = std::max<uint32_t>(1, (cap_ - tail_ + 1) / 2);
    for (uint32_t i = n; i-- > 0;) slots_[i + shift] = std::move(slots_[i]);
    head_ = shift;
    tail_ = n + shift;
    return {};
  }
  const uint32_t ncap = cap_ * 2;
  auto* fresh = new (std::nothrow) Slice[ncap];
  if (!fresh) return Errc::no_memory;
  const uint32_t shift = ncap - n - (ncap - n) / 2;
  for (uint32_t i = 0; i < n; ++i) fresh[shift + i] = std::move(slots_[i]);
  if (slots_ != inline_) delete[] slots_;
  slots_ = fresh;
  cap_ = ncap;
  head_ = shift;
  tail_ = shift + n;
  return {};
}

Status Chain::push_back(Slice&& s) noexcept {
  if (s.empty()) {
    s.reset();
    return {};
  }
  SLUICE_TRY(reserve_back());
  bytes_ += s.size();
  slots_[tail_++] = std::move(s);
  return {};
}

Result<uint8_t*> Chain::push_back_framed(Slice&& payload, size_t n, BufferPool& pool) noexcept {
  if (uint8_t* h = payload.prepend(n)) {
    SLUICE_TRY(push_back(std::move(payload)));
    return h;
  }
  auto hdr = pool.get(n);
  if (!hdr) return hdr.error();
  uint8_t* h = hdr->append(n);
  SLUICE_TRY(push_back(std::move(*hdr)));
  Status st = push_back(std::move(payload));
  if (!st) {  // take the header back out: nothing appended
    bytes_ -= slots_[tail_ - 1].size();
    slots_[--tail_].reset();
    return st.error();
  }
  return h;
}

Status Chain::push_front(Slice&& s) noexcept {
  if (s.empty()) {
    s.reset();
    return {};
  }
  SLUICE_TRY(reserve_front());
  bytes_ += s.size();
  slots_[--head_] = std::move(s);
  return {};
}

Status Chain::push_back_compact(Slice&& s) noexcept {
  if (!s.empty() && s.size() <= kCompactMax && tail_ > head_) {
    Slice& b = slots_[tail_ - 1];
    if (b.unique() && b.tailroom() >= s.size() + kTailroom) {
      std::memcpy(b.append(s.size()), s.data(), s.size());
      bytes_ += s.size();
      s.reset();
      return {};
    }
  }
  return push_back(std::move(s));
}

Status Chain::append_compact(Chain&& o) noexcept {
  while (o.count() > 0) {
    Status st = push_back_compact(o.pop_front());
    if (!st) return st;
  }
  return {};
}

Status Chain::append(Chain&& o) noexcept {
  while (o.count() > 0) {
    Slice s = o.pop_front();
    Status st = push_back(std::move(s));
    if (!st) return st;
  }
  return {};
}

Slice Chain::pop_front() noexcept {
  SLUICE_CHECK(head_ < tail_);
  Slice s = std::move(slots_[head_++]);
  bytes_ -= s.size();
  if (head_ == tail_) head_ = tail_ = 0;
  return s;
}

void Chain::advance(size_t n) noexcept {
  SLUICE_CHECK(n <= bytes_);
  while (n > 0) {
    Slice& f = slots_[head_];
    if (f.size() <= n) {
      n -= f.size();
      (void)pop_front();
    } else {
      f.advance(n);
      bytes_ -= n;
      n = 0;
    }
  }
}

Result<Chain> Chain::split_to(size_t n) noexcept {
  SLUICE_CHECK(n <= bytes_);
  Chain out;
  while (n > 0) {
    Slice& f = slots_[head_];
    if (f.size() <= n) {
      n -= f.size();
      Status st = out.push_back(pop_front());
      if (!st) return st.error();
    } else {
      Slice part = f.split_to(n);
      bytes_ -= n;
      n = 0;
      Status st = out.push_back(std::move(part));
      if (!st) return st.error();
    }
  }
  return out;
}

void Chain::clear() noexcept {
  for (uint32_t i = head_; i < tail_; ++i) slots_[i].reset();
  head_ = tail_ = 0;
  bytes_ = 0;
}

size_t Chain::iovecs(struct iovec* out, size_t max) const noexcept {
  size_t n = 0;
  for (uint32_t i = head_; i < tail_ && n < max; ++i, ++n) {
    out[n].iov_base = const_cast<uint8_t*>(slots_[i].data());
    out[n].iov_len = slots_[i].size();
  }
  return n;
}

size_t Chain::copy_out(void* dst, size_t n) const noexcept {
  auto* d = static_cast<uint8_t*>(dst);
  size_t done = 0;
  for (uint32_t i = head_; i < tail_ && done < n; ++i) {
    const size_t take = std::min(n - done, slots_[i].size());
    std::memcpy(d + done, slots_[i].data(), take);
    done += take;
  }
  return done;
}

Result<const uint8_t*> Chain::linearize(size_t n, BufferPool& pool) noexcept {
  if (n > bytes_ || n > kClassPayload[kNumSizeClasses - 1]) return Errc::invalid_argument;
  if (n == 0) return static_cast<const uint8_t*>(nullptr);
  if (slots_[head_].size() >= n) return slots_[head_].data();
  auto r = pool.get(n);
  if (!r) return r.error();
  Slice joined = std::move(*r);
  copy_out(joined.append(n), n);
  advance(n);
  const uint8_t* p = joined.data();
  Status st = push_front(std::move(joined));
  if (!st) return st.error();
  return p;
}

}  // namespace sluice

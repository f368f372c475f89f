// proto/tls13/wire.hpp: bounds-checked big-endian reader and a length-prefix
// writer for the TLS presentation language (RFC 8446 §3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Reader never reads past its span: a short read sets a sticky failure flag
// and yields zeros / empty spans, so a parser checks ok() once per structure
// and answers decode_error. Views returned by a Reader borrow the input.
// Writer appends to a std::vector (handshake messages only, never the record
// data path) and back-patches length prefixes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::tls13 {

class Reader {
 public:
  Reader() noexcept = default;
  explicit Reader(std::span<const uint8_t> in) noexcept : in_(in) {}

  bool ok() const noexcept { return ok_; }
  bool empty() const noexcept { return pos_ == in_.size(); }
  size_t remaining() const noexcept { return in_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  // fail marks the reader failed (for a caller-detected bound violation).
  void fail() noexcept { ok_ = false; }

  uint8_t u8() noexcept { return static_cast<uint8_t>(be(1)); }
  uint16_t u16() noexcept { return static_cast<uint16_t>(be(2)); }
  uint32_t u24() noexcept { return static_cast<uint32_t>(be(3)); }
  uint32_t u32() noexcept { return static_cast<uint32_t>(be(4)); }

  // bytes returns the next |n| bytes (empty and failed if fewer remain).
  std::span<const uint8_t> bytes(size_t n) noexcept {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return {};
    }
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // vec8 / vec16 / vec24 read a length-prefixed vector's body.
  std::span<const uint8_t> vec8() noexcept { return bytes(u8()); }
  std::span<const uint8_t> vec16() noexcept { return bytes(u16()); }
  std::span<const uint8_t> vec24() noexcept { return bytes(u24()); }

 private:
  uint64_t be(size_t n) noexcept {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | in_[pos_ + i];
    pos_ += n;
    return v;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) noexcept : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u24(uint32_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 16));
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }

  // open_prefix reserves a |width|-byte length (1, 2 or 3) and returns its
  // position; close_prefix writes the length of everything after it. False if
  // the body does not fit the width.
  size_t open_prefix(int width) {
    const size_t at = out_.size();
    out_.insert(out_.end(), static_cast<size_t>(width), 0);
    widths_ = widths_ << 2 | static_cast<unsigned>(width);
    return at;
  }
  bool close_prefix(size_t at) {
    const unsigned width = widths_ & 3;
    widths_ >>= 2;
    const size_t len = out_.size() - at - width;
    if (len >= (size_t{1} << (8 * width))) return false;
    for (unsigned i = 0; i < width; ++i)
      out_[at + i] = static_cast<uint8_t>(len >> (8 * (width - 1 - i)));
    return true;
  }

  size_t size() const noexcept { return out_.size(); }
  std::vector<uint8_t>& buffer() noexcept { return out_; }

 private:
  std::vector<uint8_t>& out_;
  uint64_t widths_ = 0;  // a stack of open prefix widths, 2 bits each
};

}  // namespace sluice::tls13

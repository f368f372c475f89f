// proto/vless/vision_padding.cpp: Vision padding blocks (vless.md sections
// 7.2, 7.3, 7.6; Xray proxy/proxy.go XtlsPadding / XtlsUnpadding).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/vision_padding.hpp"

#include <cstring>

#include "sluice/cipher.hpp"

namespace sluice::vless {
namespace {

uint32_t secure_uniform(void*, uint32_t bound) {
  // Rejection sampling: uniform in [0, bound) without modulo bias.
  uint32_t limit = UINT32_MAX - (UINT32_MAX % bound);
  for (;;) {
    uint8_t b[4];
    random_bytes(b);
    uint32_t v = (static_cast<uint32_t>(b[0]) << 24) | (static_cast<uint32_t>(b[1]) << 16) |
                 (static_cast<uint32_t>(b[2]) << 8) | b[3];
    if (v < limit) return v % bound;
  }
}

}  // namespace

PaddingRandom secure_padding_random() noexcept { return PaddingRandom{&secure_uniform, nullptr}; }

uint32_t padding_length(size_t content_len, bool long_padding, const PaddingRandom& rnd,
                        const PaddingSeed& seed) noexcept {
  int64_t p;
  if (content_len < seed.long_threshold && long_padding) {
    p = static_cast<int64_t>(seed.long_random ? rnd(seed.long_random) : 0) + seed.long_base -
        static_cast<int64_t>(content_len);
  } else {
    p = seed.short_random ? rnd(seed.short_random) : 0;
  }
  int64_t cap = static_cast<int64_t>(kVisionBufSize) - static_cast<int64_t>(kVisionMaxOverhead) -
                static_cast<int64_t>(content_len);
  if (p > cap) p = cap;
  if (p < 0) p = 0;
  if (p > 0xffff) p = 0xffff;
  return static_cast<uint32_t>(p);
}

Result<size_t> encode_block(VisionCommand cmd, std::span<const uint8_t> content, size_t padding_len,
                            const UserId* user_id, std::span<uint8_t> out) {
  if (content.size() > 0xffff || padding_len > 0xffff) return Errc::invalid_argument;
  size_t n = block_size(content.size(), padding_len, user_id != nullptr);
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  if (user_id) {
    std::memcpy(p, user_id->data(), kUserIdSize);
    p += kUserIdSize;
  }
  *p++ = static_cast<uint8_t>(cmd);
  *p++ = static_cast<uint8_t>(content.size() >> 8);
  *p++ = static_cast<uint8_t>(content.size());
  *p++ = static_cast<uint8_t>(padding_len >> 8);
  *p++ = static_cast<uint8_t>(padding_len);
  if (!content.empty() && content.data() != p) std::memmove(p, content.data(), content.size());
  p += content.size();
  std::memset(p, 0, padding_len);
  return n;
}

Result<size_t> Unpadder::unpad(std::span<const uint8_t> in, uint8_t* out) {
  size_t i = 0;
  size_t o = 0;
  if (initial()) {
    if (in.size() < kVisionMaxOverhead || std::memcmp(in.data(), id_.data(), kUserIdSize) != 0) {
      if (!in.empty() && out != in.data()) std::memmove(out, in.data(), in.size());
      return in.size();
    }
    i = kUserIdSize;
    rem_cmd_ = kVisionBlockHeader;
  }
  while (i < in.size()) {
    if (rem_cmd_ > 0) {
      uint8_t d = in[i++];
      switch (rem_cmd_) {
        case 5:
          cur_cmd_ = d;
          break;
        case 4:
          rem_content_ = static_cast<int32_t>(d) << 8;
          break;
        case 3:
          rem_content_ |= d;
          break;
        case 2:
          rem_padding_ = static_cast<int32_t>(d) << 8;
          break;
        case 1:
          rem_padding_ |= d;
          if (cur_cmd_ > 2) return Errc::protocol_violation;
          break;
      }
      --rem_cmd_;
    } else if (rem_content_ > 0) {
      size_t take = std::min(static_cast<size_t>(rem_content_), in.size() - i);
      std::memmove(out + o, in.data() + i, take);
      i += take;
      o += take;
      rem_content_ -= static_cast<int32_t>(take);
    } else {
      size_t take =
          std::min(static_cast<size_t>(rem_padding_ > 0 ? rem_padding_ : 0), in.size() - i);
      i += take;
      rem_padding_ -= static_cast<int32_t>(take);
    }
    if (rem_cmd_ <= 0 && rem_content_ <= 0 && rem_padding_ <= 0) {  // block done
      if (cur_cmd_ == 0) {
        rem_cmd_ = kVisionBlockHeader;
      } else {
        rem_cmd_ = rem_content_ = rem_padding_ = -1;
        // Bytes after an End/Direct block are raw (Xray: "shouldn't happen").
        size_t rest = in.size() - i;
        if (rest) std::memmove(out + o, in.data() + i, rest);
        o += rest;
        break;
      }
    }
  }
  return o;
}

}  // namespace sluice::vless

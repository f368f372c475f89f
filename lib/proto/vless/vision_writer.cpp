// proto/vless/vision_writer.cpp: the Vision writer (vless.md section 7.5;
// Xray proxy/proxy.go VisionWriter.WriteMultiBuffer, ReshapeMultiBuffer).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/vision_writer.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::vless {
namespace {

constexpr size_t kReshapeAt = kVisionBufSize - kVisionMaxOverhead;  // 8171

bool starts_app_data(std::span<const uint8_t> b) noexcept {
  return b.size() >= 3 && b[0] == 0x17 && b[1] == 0x03 && b[2] == 0x03;
}

// for_each_chunk cuts the batch into buffers of at most 8192 bytes.
template <typename F>
void for_each_chunk(std::span<const std::span<const uint8_t>> mb, F&& f) {
  for (auto b : mb) {
    for (size_t off = 0; off < b.size(); off += kVisionBufSize) {
      f(b.subspan(off, std::min(kVisionBufSize, b.size() - off)));
    }
  }
}

// for_each_piece is for_each_chunk followed by ReshapeMultiBuffer.
template <typename F>
void for_each_piece(std::span<const std::span<const uint8_t>> mb, F&& f) {
  for_each_chunk(mb, [&](std::span<const uint8_t> c) {
    if (c.size() < kReshapeAt) {
      f(c);
      return;
    }
    size_t idx = 0;
    bool found = false;
    for (size_t i = c.size() - 3 + 1; i-- > 0;) {
      if (starts_app_data(c.subspan(i))) {
        idx = i;
        found = true;
        break;
      }
    }
    if (!found || idx < kVisionMaxOverhead || idx > kReshapeAt) idx = kVisionBufSize / 2;
    f(c.first(idx));
    f(c.subspan(idx));
  });
}

}  // namespace

size_t VisionWriter::max_padding() const noexcept {
  size_t long_max = seed_.long_random + seed_.long_base;
  return std::min<size_t>(std::max<size_t>(long_max, seed_.short_random), kReshapeAt);
}

size_t VisionWriter::max_output_size(std::span<const std::span<const uint8_t>> mb) const noexcept {
  size_t n = kUserIdSize + kVisionBlockHeader + max_padding();  // also covers write_empty
  for_each_piece(
      mb, [&](std::span<const uint8_t> p) { n += kVisionBlockHeader + p.size() + max_padding(); });
  return n;
}

Result<WriteStep> VisionWriter::write_empty(std::span<uint8_t> out) {
  WriteStep step;
  if (!is_padding_) return step;
  uint32_t p = padding_length(0, true, rnd_, seed_);
  auto n =
      encode_block(VisionCommand::padding_continue, {}, p, uuid_pending_ ? &id_ : nullptr, out);
  if (!n) return n.error();
  uuid_pending_ = false;
  step.len = *n;
  return step;
}

Result<WriteStep> VisionWriter::write(std::span<const std::span<const uint8_t>> mb,
                                      std::span<uint8_t> out) {
  if (is_padding_ && out.size() < max_output_size(mb)) return Errc::buffer_too_small;

  if (state_.packets_to_filter > 0) {
    bool concluded = false;
    for_each_chunk(mb, [&](std::span<const uint8_t> c) {
      if (!concluded) concluded = filter_tls_one(state_, c);
    });
  }

  WriteStep step;
  if (!is_padding_) {
    step.passthrough = true;
    return step;
  }

  bool complete = is_complete_record(mb);
  size_t count = 0;
  for_each_piece(mb, [&](std::span<const uint8_t>) { ++count; });

  bool long_padding = state_.is_tls;
  bool direct_allowed = state_.enable_xtls && allow_direct_;
  bool raw_rest = false;  // rule b: the rest of the batch goes out unpadded
  size_t i = 0;
  size_t o = 0;
  Errc err = Errc::ok;
  auto emit = [&](VisionCommand cmd, std::span<const uint8_t> p, bool lp) {
    uint32_t plen = padding_length(p.size(), lp, rnd_, seed_);
    auto n = encode_block(cmd, p, plen, uuid_pending_ ? &id_ : nullptr, out.subspan(o));
    if (!n) {
      err = n.error();
      return;
    }
    uuid_pending_ = false;
    o += *n;
  };
  auto end_cmd = [&] {
    return direct_allowed ? VisionCommand::padding_direct : VisionCommand::padding_end;
  };

  for_each_piece(mb, [&](std::span<const uint8_t> p) {
    bool last = i++ == count - 1;
    if (err != Errc::ok) return;
    if (raw_rest) {
      std::memcpy(out.data() + o, p.data(), p.size());
      o += p.size();
      return;
    }
    if (state_.is_tls && p.size() >= 6 && starts_app_data(p) && complete) {  // rule a
      if (direct_allowed) step.switch_to_direct = true;
      emit(last ? end_cmd() : VisionCommand::padding_continue, p, true);
      is_padding_ = false;
      long_padding = false;
      return;
    }
    if (!state_.is_tls12_or_above && state_.packets_to_filter <= 1) {  // rule b
      // Xray: "for compatibility with earlier vision receiver, we finish
      // padding 1 packet early".
      is_padding_ = false;
      emit(VisionCommand::padding_end, p, long_padding);
      raw_rest = true;
      return;
    }
    VisionCommand cmd = VisionCommand::padding_continue;  // rule c
    if (last && !is_padding_) cmd = end_cmd();
    emit(cmd, p, long_padding);
  });
  if (err != Errc::ok) return err;
  if (step.switch_to_direct) direct_ = true;
  step.len = o;
  return step;
}

}  // namespace sluice::vless

// proto/vless/vision_reader.cpp: the Vision reader (vless.md section 7.6;
// Xray proxy/proxy.go VisionReader.ReadMultiBuffer).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/vision_reader.hpp"

#include <cstring>

namespace sluice::vless {

Result<ReadStep> VisionReader::on_buffer(std::span<const uint8_t> in, uint8_t* out) {
  ReadStep step;
  if (in.empty()) return step;
  if (direct_) {
    if (out != in.data()) std::memmove(out, in.data(), in.size());
    step.len = in.size();
    return step;
  }
  if (within_padding_ || state_.packets_to_filter > 0) {
    auto n = unpadder_.unpad(in, out);
    if (!n) return n.error();
    step.len = *n;
    int cmd = unpadder_.current_command();
    // Xray tests only RemainingContent/Padding here; in_block() also counts a
    // block header split across buffers, where Xray would read the stale
    // values of the previous block and end padding (or go direct) mid-header.
    if (unpadder_.in_block() || cmd == 0) {
      within_padding_ = true;
    } else if (cmd == 1) {
      within_padding_ = false;
    } else if (cmd == 2) {
      within_padding_ = false;
      direct_ = true;
      step.switch_to_direct = true;
    }
  } else {
    if (out != in.data()) std::memmove(out, in.data(), in.size());
    step.len = in.size();
  }
  // Xray filters the unpadded buffer only if it is non-empty.
  if (state_.packets_to_filter > 0 && step.len > 0) (void)filter_tls_one(state_, {out, step.len});
  return step;
}

}  // namespace sluice::vless

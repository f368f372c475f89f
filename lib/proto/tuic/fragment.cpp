// proto/tuic/fragment.cpp: splitting a datagram into Packet fragments.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tuic/fragment.hpp"

#include "proto/tuic/tuic.hpp"

namespace sluice::tuic {

Result<FragmentPlan> plan_fragments(size_t len, size_t address_size, size_t max_packet) noexcept {
  if (len > kMaxPacketSize) return Errc::frame_too_large;
  if (max_packet > kPacketFixedSize + address_size + kMaxPacketSize)
    max_packet = kPacketFixedSize + address_size + kMaxPacketSize;
  const size_t first_header = kPacketFixedSize + address_size;
  const size_t later_header = kPacketFixedSize + 1;  // ADDR None
  if (max_packet <= first_header) return Errc::frame_too_large;
  FragmentPlan p;
  p.first = max_packet - first_header;
  p.later = max_packet - later_header;
  if (len <= p.first) {
    p.total = 1;
    return p;
  }
  // Later fragments: ceil((len - first) / later); no empty trailing one.
  const size_t rest = len - p.first;
  const size_t n = 1 + (rest + p.later - 1) / p.later;
  if (n > 255) return Errc::frame_too_large;
  p.total = static_cast<uint8_t>(n);
  return p;
}

}  // namespace sluice::tuic

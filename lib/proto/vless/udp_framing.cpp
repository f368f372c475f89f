// proto/vless/udp_framing.cpp: VLESS command 0x02 datagrams on a stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/udp_framing.hpp"

namespace sluice::vless {

Status UdpFraming::frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
                         Chain* out) noexcept {
  (void)address;  // one target per stream: the request header named it
  return frame_udp(pool, std::move(payload), out);
}

Result<bool> UdpFraming::take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept {
  while (in.size() >= kUdpLengthSize) {
    uint8_t lb[kUdpLengthSize];
    in.copy_out(lb, kUdpLengthSize);
    const size_t len = (size_t{lb[0]} << 8) | lb[1];
    if (in.size() < kUdpLengthSize + len) return false;
    if (len == 0) {
      in.advance(kUdpLengthSize);  // nothing to deliver (Xray never sends these)
      continue;
    }
    // Inside one Slice: a view. Across Slices: gathered once into one new
    // front Slice (at most 64 KiB: the payload alone), which is then viewed
    // the same way.
    in.advance(kUdpLengthSize);
    if (in.front().size() < len) {
      auto p = in.linearize(len, pool);
      if (!p) return p.error();
    }
    d->address = target_;
    d->payload = in.front().sub(0, len);
    in.advance(len);
    return true;
  }
  return false;
}

}  // namespace sluice::vless

// proto/trojan/udp_framing.cpp: Trojan's UDP framing behind DatagramFraming.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/trojan/udp_framing.hpp"

#include "proto/trojan/trojan.hpp"

namespace sluice::trojan {

Status UdpFraming::frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
                         Chain* out) noexcept {
  return frame_udp_packet(address, std::move(payload), pool, out);
}

Result<bool> UdpFraming::take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept {
  ReceivedUdpPacket p;
  auto r = take_udp_packet(in, pool, &p);
  if (!r) return r.error();
  if (!*r) return false;
  d->address = std::move(p.target);
  d->payload = std::move(p.payload);
  return true;
}

}  // namespace sluice::trojan

// vless_udp_frames.hpp: moving command-0x02 datagrams (LEN(2) ‖ payload,
// vless.md section 6.1) between Slices and a VLESS byte stream, shared by
// the client flow and the server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// frame_udp writes the length into the payload's headroom when it owns some
// (the usual case: no copy, one Slice); otherwise the length travels in its
// own small pool slice in front. deframe_udp takes whole datagrams off the
// front of what was received: a datagram inside one received Slice (one TLS
// record) is handed on as a view of it; one that spans Slices is gathered
// once (Chain::linearize) and handed on as a view of the gathered Slice.
#pragma once

#include <cstdint>

#include "proto/vless/udp.hpp"
#include "sluice/buffer.hpp"

namespace sluice::vless {

inline Status frame_udp(BufferPool& pool, Slice&& payload, Chain* out) noexcept {
  const size_t len = payload.size();
  if (len > kMaxUdpPayload) return Errc::frame_too_large;
  auto p = out->push_back_framed(std::move(payload), kUdpLengthSize, pool);
  if (!p) return p.error();
  (*p)[0] = static_cast<uint8_t>(len >> 8);
  (*p)[1] = static_cast<uint8_t>(len);
  return {};
}

// deframe_udp calls |deliver(Slice&&)| for each whole non-empty datagram at
// the front of |in| and removes it; it stops early when deliver returns
// false. |dropped| counts datagrams that could not be gathered (no memory).
template <typename F>
void deframe_udp(Chain& in, BufferPool& pool, uint64_t* dropped, F&& deliver) {
  while (in.size() >= kUdpLengthSize) {
    uint8_t lb[kUdpLengthSize];
    in.copy_out(lb, kUdpLengthSize);
    const size_t len = (size_t{lb[0]} << 8) | lb[1];
    if (in.size() < kUdpLengthSize + len) return;
    in.advance(kUdpLengthSize);
    if (len == 0) continue;  // nothing to deliver (Xray never sends these)
    // Inside one Slice: a view. Across Slices: linearize gathers them into
    // one new front Slice, which is then viewed the same way.
    if (in.front().size() < len && !in.linearize(len, pool)) {
      in.advance(len);
      ++*dropped;
      continue;
    }
    Slice d = in.front().sub(0, len);
    in.advance(len);
    if (!deliver(std::move(d))) return;
  }
}

}  // namespace sluice::vless

// proto/vless/udp_framing.hpp: UdpFraming, VLESS command 0x02 datagrams
// (LEN(2) ‖ payload, vless.md section 6.1) between Slices and a VLESS byte
// stream: the DatagramFraming of a 0x02 stream, for the client's flow and
// the server's relay alike.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A 0x02 stream carries datagrams to the one target its request header
// names, in both directions, so UdpFraming is made with that target: frame()
// ignores the address it is given and take() reports the target as every
// datagram's address. frame() encodes any payload up to 65535 bytes, empty
// ones included (size policy, such as Xray's 8190-byte limit, is the
// caller's); take() skips empty frames, which carry nothing to deliver
// (Xray never sends them).
//
// No copy on the way out: the length goes into the payload's headroom when
// it owns some (the usual case: one Slice), else into a small pool Slice in
// front. On the way in a datagram inside one received Slice (one TLS
// record) is handed on as a view of it; one that spans Slices is gathered
// once (Chain::linearize).
//
// frame_udp / deframe_udp are the same steps as free functions, for code
// that works with payloads and counters directly.
//
// Threads: one stream's object, touched by its loop thread only.
#pragma once

#include <cstdint>

#include "proto/datagram_framing.hpp"
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

class UdpFraming final : public DatagramFraming {
 public:
  // |target| is what the stream's request header named.
  explicit UdpFraming(const TargetAddress& target) noexcept : target_(target) {}

  const TargetAddress& target() const noexcept { return target_; }

  // frame: |address| is ignored (the stream's target is fixed).
  // frame_too_large past 65535 bytes; no_memory.
  Status frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
               Chain* out) noexcept override;
  // take: the next non-empty datagram, addressed with target(). no_memory
  // when one spanning Slices cannot be gathered (its length is consumed:
  // the stream must then be closed, as for a malformed frame).
  Result<bool> take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept override;

 private:
  TargetAddress target_;
};

}  // namespace sluice::vless

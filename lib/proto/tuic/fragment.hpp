// proto/tuic/fragment.hpp: how a TUIC sender splits one UDP datagram into
// Packet fragments (docs/protocols/tuic.md, "Client").
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// |max_packet| is the most bytes one whole Packet command (header and
// payload) may take: the connection's current largest DATAGRAM payload in
// native mode, kMaxPacketSize in quic mode (one uni stream per fragment).
// The first fragment carries the real ADDR (header 10 + len(ADDR)), later
// ones ADDR None (header 11), so later fragments carry more payload
// (tuic-quinn's split; sing-box uses the first fragment's size for all,
// which is also accepted by every receiver). A datagram that fits the first
// fragment is sent whole (FRAG_TOTAL 1). FRAG_TOTAL is a u8: a datagram
// needing more than 255 fragments, or larger than kMaxPacketSize, cannot be
// sent (frame_too_large).
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/error.hpp"

namespace sluice::tuic {

struct FragmentPlan {
  size_t first = 0;   // payload bytes in fragment 0
  size_t later = 0;   // payload bytes in each later fragment (the last may hold fewer)
  uint8_t total = 1;  // FRAG_TOTAL
  // size_of returns the payload bytes of fragment |id| of a |len|-byte datagram.
  size_t size_of(size_t len, uint8_t id) const noexcept {
    if (id == 0) return len < first ? len : first;
    const size_t off = first + (id - 1) * later;
    const size_t left = len > off ? len - off : 0;
    return left < later ? left : later;
  }
};

// plan_fragments: the split of a |len|-byte datagram whose first fragment
// carries an ADDR of |address_size| bytes. frame_too_large when it cannot
// be sent (see above, or |max_packet| leaves no room for payload).
Result<FragmentPlan> plan_fragments(size_t len, size_t address_size, size_t max_packet) noexcept;

}  // namespace sluice::tuic

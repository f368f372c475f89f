// datagram.hpp: the DATAGRAM frame size arithmetic of RFC 9221.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// ngtcp2 0.12.1 has no "largest datagram that fits now" getter, and
// ngtcp2_conn_writev_datagram never accepts a datagram that cannot fit a
// packet (it keeps returning 0) and rejects one above the peer's limit with
// NGTCP2_ERR_INVALID_ARGUMENT, so the connection computes the limit itself
// before queueing (hysteria2 spec §9.3, tuic5 spec §9).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::quic {

// varint_len is the QUIC variable-length integer size of |v| (RFC 9000 §16).
constexpr size_t varint_len(uint64_t v) noexcept {
  return v < 64 ? 1 : v < 16384 ? 2 : v < (1u << 30) ? 4 : 8;
}

// max_datagram_payload returns the largest payload a DATAGRAM frame may carry
// (0 if none) given the peer's max_datagram_frame_size transport parameter
// (0 = datagrams not supported, RFC 9221 §3), the path's maximum UDP payload
// and the length of the Destination Connection ID of 1-RTT packets.
//
//   frame  = type (1) + length varint + payload          <= peer_max_frame
//   packet = 1 + dcid_len + pn (<= 4) + frame + tag (16)  <= path_max_udp
constexpr size_t max_datagram_payload(uint64_t peer_max_frame, size_t path_max_udp,
                                      size_t dcid_len) noexcept {
  if (peer_max_frame == 0) return 0;
  const size_t packet_overhead = 1 + dcid_len + 4 + 16;
  if (path_max_udp <= packet_overhead + 3) return 0;
  // With a 2-byte length the frame overhead is 3; payloads < 64 need 1 byte
  // less, but the 3-byte bound is exact for every size that matters.
  size_t by_path = path_max_udp - packet_overhead - 3;
  size_t by_tp = 0;
  if (peer_max_frame > 1) {
    const uint64_t room = peer_max_frame - 1;  // minus the type byte
    // Largest n with varint_len(n) + n <= room.
    uint64_t n = room > 8 ? room - 8 : 0;
    while (n + 1 + varint_len(n + 1) <= room) ++n;
    while (n > 0 && n + varint_len(n) > room) --n;
    by_tp = static_cast<size_t>(n);
  }
  return by_path < by_tp ? by_path : by_tp;
}

}  // namespace sluice::quic

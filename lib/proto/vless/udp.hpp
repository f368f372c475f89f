// proto/vless/udp.hpp: VLESS command 0x02 datagram framing (vless.md
// section 6.1).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   LENGTH (2, big-endian) | PAYLOAD (LENGTH bytes)     -- both directions
//
// The destination is fixed by the request header. The first frame may follow
// the header in the same write. Xray's writer (proxy/vless/encoding/addons.go,
// MultiLengthPacketWriter) silently drops datagrams that are empty or whose
// length + 2 exceeds 8192; its reader accepts up to 65535. sluice encodes up
// to 65535 and leaves the Xray limit to the caller (fits_xray_udp), so a relay
// can count what it drops.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

inline constexpr size_t kUdpLengthSize = 2;
inline constexpr size_t kMaxUdpPayload = 65535;
// kXrayMaxUdpPayload: the largest datagram Xray's writer sends (8192 - 2).
inline constexpr size_t kXrayMaxUdpPayload = 8190;

// fits_xray_udp: a datagram Xray itself would send (non-empty, <= 8190).
constexpr bool fits_xray_udp(size_t len) noexcept { return len > 0 && len <= kXrayMaxUdpPayload; }

// encode_udp_length writes the 2-byte length in front of a |payload_len|
// datagram. frame_too_large above 65535; buffer_too_small if |out| < 2.
Result<size_t> encode_udp_length(size_t payload_len, std::span<uint8_t> out);

// parse_udp_frame takes one frame from the front of |in| (incremental); the
// value is the payload, pointing into |in|. An empty payload is a valid frame
// (the relay drops it).
ParseResult<std::span<const uint8_t>> parse_udp_frame(std::span<const uint8_t> in);

}  // namespace sluice::vless

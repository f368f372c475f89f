// proto/vless/udp.cpp: VLESS command 0x02 datagram framing (vless.md
// section 6.1).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/udp.hpp"

namespace sluice::vless {

Result<size_t> encode_udp_length(size_t payload_len, std::span<uint8_t> out) {
  if (payload_len > kMaxUdpPayload) return Errc::frame_too_large;
  if (out.size() < kUdpLengthSize) return Errc::buffer_too_small;
  out[0] = static_cast<uint8_t>(payload_len >> 8);
  out[1] = static_cast<uint8_t>(payload_len);
  return kUdpLengthSize;
}

ParseResult<std::span<const uint8_t>> parse_udp_frame(std::span<const uint8_t> in) {
  using R = ParseResult<std::span<const uint8_t>>;
  if (in.size() < kUdpLengthSize) return R::more();
  size_t len = (static_cast<size_t>(in[0]) << 8) | in[1];
  if (in.size() < kUdpLengthSize + len) return R::more();
  return R::ok(in.subspan(kUdpLengthSize, len), kUdpLengthSize + len);
}

}  // namespace sluice::vless

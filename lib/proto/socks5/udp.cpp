// proto/socks5/udp.cpp: SOCKS5 UDP request header (RFC 1928 section 7).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/socks5/udp.hpp"

namespace sluice::socks5 {

Result<size_t> encode_udp_header(const TargetAddress& target, std::span<uint8_t> out) {
  if (out.size() < udp_header_size(target)) return Errc::buffer_too_small;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  auto n = target.encode_socks(out.subspan(3));
  if (!n) return n.error();
  return 3 + *n;
}

Result<UdpDatagram> decode_udp(std::span<const uint8_t> datagram) {
  if (datagram.size() < 3) return Errc::truncated;
  if (datagram[0] != 0 || datagram[1] != 0) return Errc::malformed;
  if (datagram[2] != 0) return Errc::not_supported;
  auto addr = TargetAddress::decode_socks(datagram.subspan(3));
  if (addr.failed()) return addr.error;
  if (addr.need_more()) return Errc::truncated;
  UdpDatagram d;
  d.target = addr.value;
  d.payload = datagram.subspan(3 + addr.consumed);
  return d;
}

}  // namespace sluice::socks5

// proto/vless/packetaddr.cpp: sing-box packetaddr (vless.md section 6.3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/packetaddr.hpp"

#include <array>
#include <cstring>

namespace sluice::vless {

bool is_packetaddr_request(const TargetAddress& target) noexcept {
  return target.kind() == TargetAddress::domain && target.domain_name() == kPacketAddrDomain;
}

size_t packetaddr_size(const TargetAddress& addr) noexcept {
  switch (addr.kind()) {
    case TargetAddress::ipv4:
      return 1 + 4 + 2;
    case TargetAddress::ipv6:
      return 1 + 16 + 2;
    case TargetAddress::domain:
      break;
  }
  return 0;
}

Result<size_t> encode_packetaddr(const TargetAddress& addr, std::span<uint8_t> out) {
  if (addr.kind() == TargetAddress::domain) return Errc::not_supported;
  size_t n = packetaddr_size(addr);
  if (out.size() < n) return Errc::buffer_too_small;
  auto ip = addr.ip_bytes();
  out[0] = addr.kind() == TargetAddress::ipv4 ? kPacketAddrIpv4 : kPacketAddrIpv6;
  std::memcpy(out.data() + 1, ip.data(), ip.size());
  out[1 + ip.size()] = static_cast<uint8_t>(addr.port() >> 8);
  out[2 + ip.size()] = static_cast<uint8_t>(addr.port());
  return n;
}

Result<PacketAddrDatagram> decode_packetaddr(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return Errc::truncated;
  size_t ip_len;
  switch (datagram[0]) {
    case kPacketAddrIpv4:
      ip_len = 4;
      break;
    case kPacketAddrIpv6:
      ip_len = 16;
      break;
    default:
      return Errc::unsupported_address_type;
  }
  if (datagram.size() < 1 + ip_len + 2) return Errc::truncated;
  uint16_t port = static_cast<uint16_t>((datagram[1 + ip_len] << 8) | datagram[2 + ip_len]);
  PacketAddrDatagram d;
  if (ip_len == 4) {
    std::array<uint8_t, 4> a;
    std::memcpy(a.data(), datagram.data() + 1, 4);
    d.addr = TargetAddress::from_ipv4(a, port);
  } else {
    std::array<uint8_t, 16> a;
    std::memcpy(a.data(), datagram.data() + 1, 16);
    d.addr = TargetAddress::from_ipv6(a, port);
  }
  d.payload = datagram.subspan(1 + ip_len + 2);
  return d;
}

}  // namespace sluice::vless

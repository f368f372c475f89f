// proto/vless/packetaddr.hpp: sing-box's "packetaddr" packet encoding
// (vless.md section 6.3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// With packet_encoding "packetaddr", a sing-box client sends a command 0x02
// request to the magic domain sp.packet-addr.v2fly.arpa (port as given by the
// client, unused), and every length-framed datagram (udp.hpp) starts with the
// datagram's own address:
//   ATYP (1: 0x01 IPv4, 0x02 IPv6) | ADDR (4 / 16) | PORT (2, big-endian)
// Address first, port last, and no domain type. Checked against
// SagerNet/sing-vmess packetaddr/packetaddr.go (SeqPacketMagicAddress,
// M.NewSerializer with AddressFamilyByte 0x01 IPv4 / 0x02 IPv6 and no
// PortThenAddress) and packetaddr/conn.go (WritePacket refuses FQDNs:
// ErrFqdnUnsupported). Xray does not implement it.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

inline constexpr std::string_view kPacketAddrDomain = "sp.packet-addr.v2fly.arpa";
inline constexpr uint8_t kPacketAddrIpv4 = 0x01;
inline constexpr uint8_t kPacketAddrIpv6 = 0x02;
// kMaxPacketAddrSize: ATYP + IPv6 + port.
inline constexpr size_t kMaxPacketAddrSize = 1 + 16 + 2;

// is_packetaddr_request: the request target is the magic domain (any port).
bool is_packetaddr_request(const TargetAddress& target) noexcept;

// PacketAddrDatagram is one decoded datagram; |payload| points into the input.
struct PacketAddrDatagram {
  TargetAddress addr;
  std::span<const uint8_t> payload;
};

// packetaddr_size: the header length for |addr| (0 for a domain).
size_t packetaddr_size(const TargetAddress& addr) noexcept;

// encode_packetaddr writes ATYP | ADDR | PORT. not_supported for a domain
// (resolve first); buffer_too_small if |out| is short.
Result<size_t> encode_packetaddr(const TargetAddress& addr, std::span<uint8_t> out);

// decode_packetaddr splits one datagram (the payload of one 0x02 frame).
// Errors: truncated, unsupported_address_type (anything but 0x01 / 0x02).
Result<PacketAddrDatagram> decode_packetaddr(std::span<const uint8_t> datagram);

}  // namespace sluice::vless

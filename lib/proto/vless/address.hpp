// proto/vless/address.hpp: the port-first address encoding shared by the
// VLESS request header and Mux.Cool/XUDP frames (vless.md sections 3, 6.2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   PORT (2, big-endian) | ATYP (1) | ADDR
//   ATYP 0x01 IPv4: 4 bytes; 0x02 domain: length byte (1..255) + bytes;
//   0x03 IPv6: 16 bytes.
//
// The ATYP numbers differ from SOCKS5 (1/3/4): Xray's AddressParser for VLESS
// and Mux.Cool maps 1=IPv4, 2=domain, 3=IPv6, with PortThenAddress()
// (common/protocol/address.go, common/mux/frame.go, common/xudp/xudp.go;
// checked against XTLS/Xray-core). Values are converted to and from
// sluice::TargetAddress, so the rest of sluice never sees these numbers.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

// VLESS / Mux.Cool address types (vless.md section 3).
inline constexpr uint8_t kAtypIpv4 = 0x01;
inline constexpr uint8_t kAtypDomain = 0x02;
inline constexpr uint8_t kAtypIpv6 = 0x03;

// kMaxAddrPortSize: port + ATYP + length byte + 255-byte domain.
inline constexpr size_t kMaxAddrPortSize = 2 + 1 + 1 + TargetAddress::kMaxDomain;

// addr_port_size is the encoded length of |target|.
size_t addr_port_size(const TargetAddress& target) noexcept;

// encode_addr_port writes PORT | ATYP | ADDR into |out|. buffer_too_small if
// it does not fit. Returns the bytes written.
Result<size_t> encode_addr_port(const TargetAddress& target, std::span<uint8_t> out);

// decode_addr_port parses PORT | ATYP | ADDR from the front of |in|
// (incremental). Errors: unsupported_address_type (ATYP not 1/2/3),
// malformed (empty domain, or a control byte / space / DEL in it).
ParseResult<TargetAddress> decode_addr_port(std::span<const uint8_t> in);

}  // namespace sluice::vless

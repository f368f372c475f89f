// proto/socks5/udp.hpp: the SOCKS5 UDP request header (RFC 1928 section 7).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   RSV (2, must be 0) | FRAG (1) | ATYP | DST.ADDR | DST.PORT | DATA
//
// Each datagram is self-contained, so decoding is not incremental: a short
// datagram is truncated. Fragmentation (FRAG != 0) is optional in the RFC and
// implemented by nobody we interoperate with; such datagrams are rejected
// with Errc::not_supported so the relay can drop them and count them apart
// from garbage.
#pragma once

#include <cstdint>
#include <span>

#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::socks5 {

// UdpDatagram is a decoded datagram; |payload| points into the input.
struct UdpDatagram {
  TargetAddress target;
  std::span<const uint8_t> payload;
};

// udp_header_size is the header length in front of a payload for |target|.
inline size_t udp_header_size(const TargetAddress& target) noexcept {
  return 3 + target.socks_size();
}

// encode_udp_header writes RSV | FRAG=0 | address into |out| (typically a
// Slice's headroom). Returns the bytes written or buffer_too_small.
Result<size_t> encode_udp_header(const TargetAddress& target, std::span<uint8_t> out);

// decode_udp parses one datagram. Errors: truncated, malformed (RSV != 0,
// empty domain), not_supported (FRAG != 0), unsupported_address_type.
Result<UdpDatagram> decode_udp(std::span<const uint8_t> datagram);

}  // namespace sluice::socks5

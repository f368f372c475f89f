// proto/hysteria1/udp_message.hpp: Hysteria v1's UDPMessage (the payload of
// one QUIC DATAGRAM frame, both directions) and its fragmentation, sans I/O
// (apernet/hysteria v1.x core/cs/protocol.go, frag.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   u32 sessionID | u16 hostLen | host | u16 port |
//   u16 msgID | u8 fragID | u8 fragCount | u16 dataLen | data
//
// Client -> server the host/port is the destination, server -> client the
// reply's source IP as text (IPv6 without brackets) and port. fragCount 1
// means not fragmented (msgID 0); a fragmented packet has a non-zero msgID
// and every fragment repeats host and port. The official receiver keeps ONE
// packet in progress per connection, so a sender must send all fragments of
// a packet back to back and never interleave packets, even of different
// sessions. Reassembly reuses Hysteria v2's Defragmenter (same msgID /
// fragID / fragCount rules) and its fragment_count / fragment_span cutting.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/hysteria2/udp_message.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria1 {

// kMaxUdpPayload: the largest packet sluice sends or reassembles.
inline constexpr size_t kMaxUdpPayload = hysteria2::kMaxUdpPayload;
// kMaxUdpHost: the longest host a UDPMessage may carry (sluice's limit).
inline constexpr size_t kMaxUdpHost = 1024;

struct UdpHeader {
  uint32_t session_id = 0;
  uint16_t msg_id = 0;
  uint8_t frag_id = 0;
  uint8_t frag_count = 1;
};

// UdpMessage is one parsed datagram; |host| and |data| point into it.
struct UdpMessage {
  UdpHeader header;
  std::string_view host;
  uint16_t port = 0;
  std::span<const uint8_t> data;
};

// udp_header_size: the bytes in front of the data for a host of |host_len|.
inline constexpr size_t udp_header_size(size_t host_len) noexcept { return 14 + host_len; }

// encode_udp_header writes the header of a message carrying |data_len|
// bytes. invalid_argument for an empty host or one over kMaxUdpHost, a
// data length over 65535, frag_count 0 or frag_id >= frag_count;
// buffer_too_small.
Result<size_t> encode_udp_header(const UdpHeader& h, std::string_view host, uint16_t port,
                                 size_t data_len, std::span<uint8_t> out) noexcept;

// parse_udp_message parses one whole datagram. Errors: truncated (shorter
// than its header or its dataLen), malformed (empty host or one over
// kMaxUdpHost, frag_count 0, fragID >= fragCount, a fragment with msgID 0
// or no data, bytes after the data).
Result<UdpMessage> parse_udp_message(std::span<const uint8_t> in) noexcept;

// defrag_header: the fragment fields in the shape the shared
// hysteria2::Defragmenter takes.
inline hysteria2::UdpHeader defrag_header(const UdpHeader& h) noexcept {
  return {h.session_id, h.msg_id, h.frag_id, h.frag_count};
}

// Fragmentation as the official sender cuts (shared with Hysteria v2):
// hysteria2::fragment_count(udp_header_size(host.size()), len, max) and
// hysteria2::fragment_span(...) for each fragment.
using hysteria2::fragment_count;
using hysteria2::fragment_span;
using hysteria2::FragmentSpan;

}  // namespace sluice::hysteria1

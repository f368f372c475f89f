// proto/hysteria2/udp_message.hpp: Hysteria v2's UDPMessage (the payload of
// one QUIC DATAGRAM frame), fragmentation and the one-packet defragmenter,
// sans I/O (PROTOCOL.md "UDP"; core/internal/protocol/proxy.go,
// core/internal/frag/frag.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   u32 sessionID | u16 packetID | u8 fragID | u8 fragCount |
//   varint addrLen | addr ("host:port") | data (rest of the datagram)
//
// Client -> server the address is the destination, server -> client the
// source of the reply. fragCount 1 means not fragmented. A packet too large
// for one DATAGRAM frame is cut into fragments that each repeat the whole
// header (same packetID, fragID 0..n-1); the receiver keeps ONE packet in
// progress per UDP session (Defragmenter): a fragment of another packet
// replaces it, a lost fragment loses the packet. Senders therefore send
// all fragments of a packet back to back.
//
// Rules enforced (the official parser's): addrLen 1..2048, at least one
// data byte, fragID < fragCount. A reassembled packet may be up to
// kMaxUdpPayload bytes (the official receiver has no limit; its sender
// drops anything over kMaxUdpSize because of its read buffer).
//
// Threading: pure functions; a Defragmenter is one session's object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proto/hysteria2/hysteria2.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria2 {

// kMaxUdpPayload: the largest UDP payload over IPv4 (65535 - 8 - 20): what
// sluice sends and reassembles.
inline constexpr size_t kMaxUdpPayload = 65507;

struct UdpHeader {
  uint32_t session_id = 0;
  uint16_t packet_id = 0;
  uint8_t frag_id = 0;
  uint8_t frag_count = 1;
};

// UdpMessage is one parsed datagram; |address| and |data| point into the
// parsed bytes.
struct UdpMessage {
  UdpHeader header;
  std::string_view address;
  std::span<const uint8_t> data;
};

// udp_header_size: the bytes in front of the data for an address of
// |addr_len| bytes.
inline size_t udp_header_size(size_t addr_len) noexcept {
  return 8 + varint_size(addr_len) + addr_len;
}

// encode_udp_header writes the header for |address| into |out|;
// invalid_argument for an empty or over-long address, buffer_too_small.
Result<size_t> encode_udp_header(const UdpHeader& h, std::string_view address,
                                 std::span<uint8_t> out) noexcept;

// parse_udp_message parses one whole datagram. Errors: truncated (shorter
// than its header, or no data byte), malformed (address length 0 or over
// kMaxAddress, fragID >= fragCount).
Result<UdpMessage> parse_udp_message(std::span<const uint8_t> in) noexcept;

// fragment_count: how many fragments a packet of |data_len| bytes needs
// when a header takes |header| bytes and a datagram may carry |max_payload|
// bytes: 1 when it fits whole, 0 when it cannot be sent (no room for a data
// byte beside the header, or more than 255 fragments).
size_t fragment_count(size_t header, size_t data_len, size_t max_payload) noexcept;

// fragment_span: the [offset, offset + length) of |data_len| that fragment
// |i| carries when each datagram holds |header| header bytes and at most
// |max_payload| bytes: every fragment but the last carries max_payload -
// header bytes, as the official sender cuts.
struct FragmentSpan {
  size_t offset;
  size_t length;
};
FragmentSpan fragment_span(size_t header, size_t data_len, size_t max_payload, size_t i) noexcept;

// Defragmenter holds the one packet in progress of a UDP session.
class Defragmenter {
 public:
  // Result of feed(): a whole packet (|data| is the unfragmented message's
  // own data, or the reassembled bytes, valid until the next feed), or
  // nothing yet / dropped.
  struct Packet {
    bool complete = false;
    std::span<const uint8_t> data;
  };

  // feed takes one message. An unfragmented message is returned at once
  // (its data, not copied). A fragment is copied into the packet in
  // progress; a fragment of another packet (packetID or fragCount differ)
  // discards it and starts anew. Duplicates are ignored.
  Packet feed(const UdpMessage& m) noexcept { return feed(m.header, m.data); }
  // feed with the fragment fields and data given apart (Hysteria v1's
  // UDPMessage has the same msgID/fragID/fragCount, in another layout;
  // header.session_id is not looked at).
  Packet feed(const UdpHeader& h, std::span<const uint8_t> data) noexcept;
  // reset forgets the packet in progress.
  void reset() noexcept;
  // drops: packets discarded unfinished (replaced by another).
  uint64_t drops() const noexcept { return drops_; }

 private:
  void drop() noexcept;

  // Every fragment but the last has the sender's chunk length, so fragment
  // i lives at i * chunk_ in buf_; the last one may arrive before the chunk
  // length is known and waits in tail_. Both grow to the largest packet
  // seen and are then reused (no allocation per packet in steady state).
  uint16_t packet_id_ = 0;
  uint8_t count_ = 0;  // fragments of the packet in progress; 0: none
  uint8_t got_ = 0;
  size_t chunk_ = 0;  // length of a non-last fragment (0: none seen yet)
  bool have_[256] = {};
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> tail_;
  uint64_t drops_ = 0;
};

}  // namespace sluice::hysteria2

// proto/trojan/udp_framing.hpp: trojan::UdpFraming, Trojan's UDP ASSOCIATE
// packets (ATYP | ADDR | PORT | LEN | CRLF | payload) as a DatagramFraming.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every frame names its address (the destination client -> server, the
// source server -> client), so one stream carries datagrams to and from any
// number of peers. Stateless apart from what the Chain holds; see
// frame_udp_packet / take_udp_packet (trojan.hpp) for the copy rules.
//
// Threads: one connection's object, touched by its loop thread only.
#pragma once

#include "proto/datagram_framing.hpp"

namespace sluice::trojan {

class UdpFraming final : public DatagramFraming {
 public:
  // frame: frame_too_large past kMaxUdpPayload, no_memory.
  Status frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
               Chain* out) noexcept override;
  // take: malformed / unsupported_address_type for a bad frame.
  Result<bool> take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept override;
};

}  // namespace sluice::trojan

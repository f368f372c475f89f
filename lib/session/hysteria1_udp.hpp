// session/hysteria1_udp.hpp: Hysteria v1 pieces shared by the client
// Session and the server inbound: UDPMessages over QUIC DATAGRAM frames and
// XPlus on the UDP socket's PacketTransform hook.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// send_udp: a message that fits one DATAGRAM is sent whole; a larger one is
// cut as the official sender cuts (fragment_span) under a fresh random
// msgID in 1..65535 and all its fragments are queued back to back: the
// official receiver keeps ONE packet in progress per connection, so
// fragments of different packets never interleave (one loop thread sends).
// DATAGRAM payloads are capped at what an official peer accepts (1197
// bytes). A whole message's header goes into the payload's headroom when
// the chunk is ours alone (no copy), else header and payload are gathered
// into one pool chunk.
//
// Threads: the loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "proto/hysteria1/udp_message.hpp"
#include "proto/hysteria1/xplus.hpp"
#include "quic/connection.hpp"
#include "quic/udp_socket.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria1 {

// send_udp sends |payload| for session |sid| with |host|:|port| on |c|.
// Errors: frame_too_large (over kMaxUdpPayload or too many fragments),
// invalid_argument (empty or over-long host), not_supported (the peer takes
// no datagrams), limit_exceeded (the queue is full), no_memory; every error
// means the datagram was dropped.
Status send_udp(quic::Connection& c, BufferPool& pool, uint32_t sid, std::string_view host,
                uint16_t port, Slice&& payload) noexcept;

// XPlusTransform is XPlus on a UDP socket (below QUIC).
class XPlusTransform final : public quic::PacketTransform {
 public:
  explicit XPlusTransform(std::string_view password) noexcept : x_(password) {}
  size_t overhead() const noexcept override { return XPlus::kSaltLen; }
  void encode(const uint8_t* in, size_t len, uint8_t* out) noexcept override {
    x_.encode(in, len, out);
  }
  size_t decode(uint8_t* data, size_t len) noexcept override { return x_.decode(data, len); }

 private:
  XPlus x_;
};

}  // namespace sluice::hysteria1

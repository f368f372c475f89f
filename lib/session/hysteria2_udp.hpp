// session/hysteria2_udp.hpp: sending Hysteria v2 UDPMessages as QUIC
// DATAGRAM frames, fragmented to the connection's current limit; shared by
// the client Session and the server inbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A message that fits one DATAGRAM is sent whole; its header goes into the
// payload's headroom when the payload's chunk is ours alone (no copy),
// else the header and payload are gathered into one pool chunk. A larger
// one is cut as the official sender cuts (hysteria2::fragment_span) under a
// fresh random packet ID in 1..65535, and all its fragments are queued back
// to back (the receiver keeps one packet in progress per session). Empty
// payloads, payloads over kMaxUdpPayload and packets needing more than 255
// fragments are dropped. (The official sender also drops messages over
// kMaxUdpSize, 4096 bytes, a limit of its read buffer; official receivers
// reassemble any size, so sluice sends up to kMaxUdpPayload.)
//
// Threads: the loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/hysteria2/udp_message.hpp"
#include "quic/connection.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria2 {

// kDatagramFrameLimit caps our DATAGRAM payloads at what an official peer
// accepts (a 1200-byte frame: 1197 bytes of payload after type and length).
inline constexpr size_t kDatagramPayloadLimit = 1197;

// send_udp sends |payload| for session |sid| and |address| ("host:port") on
// |c|. Errors: frame_too_large (over kMaxUdpPayload or too many fragments),
// invalid_argument (empty payload or address), not_supported (the peer
// takes no datagrams), limit_exceeded (the connection's queue is full),
// no_memory; every error means the datagram was dropped.
Status send_udp(quic::Connection& c, BufferPool& pool, uint32_t sid, std::string_view address,
                Slice&& payload) noexcept;

}  // namespace sluice::hysteria2

// proto/datagram_framing.hpp: DatagramFraming, how one protocol carries UDP
// datagrams inside a byte stream (Trojan's ATYP|ADDR|PORT|LEN|CRLF frames,
// VLESS command 0x02 length prefixes, XUDP's Mux.Cool frames, ...).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Sans I/O: no socket, no clock. One instance per stream, because some
// framings keep state (XUDP's session id and "new"/"keep" status). The same
// interface serves both ends: a client's datagram-over-stream flow frames
// what the application sends and takes what the server sends; the server's
// DatagramRelay takes what the client sends and frames the replies.
//
// Addresses: client -> server frames name the destination, server -> client
// frames name the source. A framing with one fixed target per stream (VLESS
// command 0x02) takes no address on frame() and reports the stream's target
// on take().
//
// Threads: one connection's object, touched by its loop thread only.
#pragma once

#include "proto/target_address.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice {

// FramedDatagram is one datagram taken off a stream: its address (see
// above) and its payload, a view into the received bytes where it lay in one
// Slice, else one gathered Slice.
struct FramedDatagram {
  TargetAddress address;
  Slice payload;
};

class DatagramFraming {
 public:
  virtual ~DatagramFraming() = default;

  // frame appends one datagram for |address| to |out|, writing the header
  // into |payload|'s headroom where it has room (no copy), else in a small
  // pool Slice in front. frame_too_large past the framing's payload limit;
  // no_memory when the pool refuses.
  virtual Status frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
                       Chain* out) noexcept = 0;

  // take removes the first whole datagram from the front of |in| into |*d|:
  // true when one was taken, false when |in| holds no whole datagram yet
  // (nothing consumed), or an error for a malformed frame (the stream must
  // be closed: the framing has lost its place).
  virtual Result<bool> take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept = 0;
};

}  // namespace sluice

// sluice/stream.hpp: streams and datagram flows opened through a Session.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// A Stream is a Transport whose far end is a target (host, port) reached
// through a Session: a direct TCP connection, a SOCKS5 CONNECT, a QUIC stream
// carrying a Hysteria request, and so on. Opening is asynchronous and can be
// cancelled; the OpenHandler is called exactly once unless cancelled first.
//
// A DatagramFlow carries UDP datagrams to and from any target through a
// Session (direct UDP, SOCKS5 UDP ASSOCIATE, QUIC datagrams, ...).
//
// Threads: everything on the Engine's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/buffer.hpp"
#include "sluice/error.hpp"
#include "sluice/transport.hpp"

namespace sluice {

using Stream = Transport;

// Endpoint names a target: a domain name or an IP literal (no brackets) and a port.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

// OpenHandler receives the result of Session::open_stream.
class OpenHandler {
 public:
  virtual ~OpenHandler() = default;
  // on_open delivers the connected Stream, or the error. The failure reason
  // (a borrowed string, valid during the call) says why in words.
  virtual void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) = 0;
};

// DatagramHandler receives datagrams of a DatagramFlow.
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // on_datagram: one datagram from |from| (borrowed for the call).
  virtual void on_datagram(const Endpoint& from, Slice&& payload) = 0;
  // on_error: the flow failed; only close() may follow.
  virtual void on_error(Errc e) = 0;
};

// DatagramFlowStats count a flow's datagrams.
struct DatagramFlowStats {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t dropped = 0;  // too large, queue full or unresolvable target
};

class DatagramFlow {
 public:
  virtual ~DatagramFlow() = default;
  // send queues one datagram to |to|. Datagrams are unreliable: a full queue
  // drops and counts (stats().dropped) instead of failing the flow.
  virtual Status send(const Endpoint& to, Slice&& payload) noexcept = 0;
  // close: exactly one callback, as Transport::close.
  virtual void close(CloseCallback cb, void* user) noexcept = 0;
  virtual DatagramFlowStats stats() const noexcept = 0;
};

}  // namespace sluice

// session/tuic_packets.hpp: the pieces of TUIC v5 that client and server
// share on a QUIC connection: sending a UDP datagram as Packet commands in
// either relay mode, fire-and-forget unidirectional streams, and reading a
// whole command off a peer's unidirectional stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Relay modes (docs/protocols/tuic.md): `native` sends each fragment as one
// QUIC DATAGRAM, fragmented to the connection's current largest DATAGRAM
// payload (Connection::max_datagram_payload: the peer's
// max_datagram_frame_size and the path MTU); `quic` sends each fragment on
// a unidirectional stream of its own (FIN after it), and fragments only
// above kMaxPacketSize, which a UDP datagram never reaches.
//
// UniOutbox keeps each stream it opened until the peer acknowledged every
// byte and the FIN (on_drained), then closes it: closing earlier would
// reset the stream and lose what was not yet acknowledged. Streams still
// held when the connection ends fail and are closed with it.
//
// UniReader collects one command from a peer's unidirectional stream (all
// of TUIC's uni-stream commands are "header [payload] FIN"): as soon as the
// header, and for a Packet its SIZE payload bytes, are in, the owner hears
// on_uni_command once, with the payload as one Slice; a stream that ends
// early or carries a bad header is reported as an error. Bounded:
// kMaxHeaderSize + kMaxPacketSize bytes at most are held.
//
// Threads: the Engine's loop thread.
#pragma once

#include <cstdint>
#include <memory>

#include "proto/target_address.hpp"
#include "proto/tuic/tuic.hpp"
#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/buffer.hpp"
#include "sluice/transport.hpp"

namespace sluice::tuic {

enum class RelayMode : uint8_t { native, quic };

const char* relay_mode_name(RelayMode m) noexcept;

// UniOutbox: see above. Owned by a connection's handler; destroy or
// close_all() before the Connection goes away.
class UniOutbox {
 public:
  UniOutbox() = default;
  ~UniOutbox() { close_all(); }
  UniOutbox(const UniOutbox&) = delete;
  UniOutbox& operator=(const UniOutbox&) = delete;

  // send opens a unidirectional stream on |c|, writes |data| and FIN.
  // limit_exceeded while the peer's stream limit is reached.
  Status send(quic::Connection& c, Chain&& data) noexcept;
  // close_all closes (resets) every stream still held.
  void close_all() noexcept;
  size_t in_flight() const noexcept { return count_; }

 private:
  struct Item;
  void done(Item* it) noexcept;
  Item* head_ = nullptr;  // doubly linked list of held streams
  size_t count_ = 0;
};

// PacketSender numbers and sends one side's Packets.
class PacketSender {
 public:
  // send sends |payload| to (client) or from (server) |addr| on
  // association |assoc_id| in |mode|. Errors: frame_too_large (above
  // kMaxPacketSize, or more than 255 fragments at the current DATAGRAM
  // size), not_supported (native mode and the peer takes no DATAGRAMs),
  // limit_exceeded (DATAGRAM queue full, or no stream available in quic
  // mode), closed, no_memory. The datagram is then dropped (UDP semantics).
  Status send(quic::Connection& c, UniOutbox& box, RelayMode mode, uint16_t assoc_id,
              const TargetAddress& addr, const Slice& payload) noexcept;
  uint64_t sent() const noexcept { return sent_; }
  uint64_t fragmented() const noexcept { return fragmented_; }

 private:
  uint16_t next_id_ = 0;
  uint64_t sent_ = 0;
  uint64_t fragmented_ = 0;  // datagrams sent in more than one fragment
};

class UniReader;

class UniReaderOwner {
 public:
  virtual ~UniReaderOwner() = default;
  // on_uni_command: |r| read a whole command (for a Packet, |payload| holds
  // its SIZE bytes). The owner may destroy |r| (close_and_delete) here.
  virtual void on_uni_command(UniReader* r, const ParsedCommand& c, Slice&& payload) = 0;
  // on_uni_error: the stream ended early, failed, or carried a bad
  // header (|e|: truncated, the parser's error, or the stream's).
  virtual void on_uni_error(UniReader* r, Errc e) = 0;
};

class UniReader final : private TransportHandler {
 public:
  UniReader(std::unique_ptr<quic::QuicStream> s, UniReaderOwner* owner, BufferPool& pool) noexcept;
  ~UniReader() override;
  // start begins reading; stop() holds the bytes (flow control stops the peer).
  void start() noexcept;
  void stop() noexcept;
  // close closes the stream and deletes this reader once it is closed.
  void close_and_delete() noexcept;

  UniReader* prev = nullptr;  // the owner's list
  UniReader* next = nullptr;

 private:
  void on_data(Slice&& d) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void try_parse() noexcept;
  void finish_error(Errc e) noexcept;

  std::unique_ptr<quic::QuicStream> s_;
  UniReaderOwner* owner_;
  BufferPool& pool_;
  Chain buf_;
  bool done_ = false;
};

// endpoint_options: the QUIC settings TUIC needs on either side:
// DATAGRAMs on, many unidirectional streams (quic relay mode opens one per
// packet, tuic#221), |cc|, and |idle_timeout_ms|.
quic::EndpointOptions endpoint_options(quic::CongestionControl cc, uint64_t idle_timeout_ms);

}  // namespace sluice::tuic

// stream_datagram_flow.hpp: StreamDatagramFlow, the one DatagramFlow that
// carries UDP datagrams inside byte streams to a proxy server (Trojan UDP
// ASSOCIATE, VLESS command 0x02, VLESS XUDP), parameterised by how a
// carrying stream is opened and framed (DatagramCarrier) and by a few
// policies (StreamDatagramFlowOptions).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Streams ("legs"): either one stream carries every datagram of the flow
// (Trojan, XUDP), or each destination gets a stream of its own (VLESS 0x02,
// whose request names one target), at most max_streams. A leg is opened by
// the first datagram sent through it, or, with |eager|, the one stream is
// opened when the flow is made (before any destination is known: the
// carrier then writes its prefix, Trojan's request, in front of the first
// frames once the first datagram names it).
//
// Each datagram is framed by the leg's DatagramFraming (one per stream,
// made by the carrier from the leg's first destination), the header written
// into the payload's headroom when it has room (no copy). Replies are taken
// off the stream by the same framing and delivered with the address it
// reports, or, for a stream per destination, with the Endpoint the
// application sent to.
//
// Bounds (UDP semantics: beyond them a datagram is dropped and counted):
// connect_queue bytes of frames per leg while its stream is being opened,
// write_queue bytes in a connected stream's write queue (counting the new
// frame), max_payload bytes per datagram; with |send_empty| false empty
// datagrams are dropped too. With |strict_send| send() also returns the
// reason for a datagram it cannot frame (invalid_argument for port 0, the
// address error, frame_too_large); otherwise it drops it silently.
//
// Loss of a stream (the open failed, the server ended it, an error, a
// frame the framing rejects): with |fail_on_loss| the flow fails — the
// handler hears on_error once (from the loop, never inside a call into the
// flow), and send() then drops and returns that error; otherwise the leg is
// forgotten and the next datagram to it opens a new one.
//
// close(): pending opens are cancelled, streams closed; exactly one
// callback, once every stream has finished closing (inside close() when
// there was none); nothing is delivered after close(). Deleting the flow
// without close() cancels opens and closes streams without waiting.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proto/datagram_framing.hpp"
#include "sluice/engine.hpp"
#include "sluice/stream.hpp"

namespace sluice {

// CarrierHandler hears how one DatagramCarrier::open ended.
class CarrierHandler {
 public:
  virtual ~CarrierHandler() = default;
  // on_carrier: the stream (ready for frames: any request already written,
  // any reply decoder already wrapped around it), or the error and a reason
  // naming the server (borrowed for the call).
  virtual void on_carrier(Result<std::unique_ptr<Transport>> t, const char* reason) = 0;
};

// DatagramCarrier: what a protocol gives the flow.
class DatagramCarrier {
 public:
  // Open is one open in progress; destroying it cancels it (nothing is
  // called back after), also from inside on_carrier.
  class Open {
   public:
    virtual ~Open() = default;
  };

  virtual ~DatagramCarrier() = default;
  // open starts opening a carrying stream whose first datagram goes to
  // |first| (nullptr for an eager open, before any datagram). |h| hears
  // exactly once unless the Open is destroyed first; it may hear before
  // open() returns. nullptr (and |h| told) when it could not even start.
  virtual std::unique_ptr<Open> open(const TargetAddress* first, CarrierHandler* h) noexcept = 0;
  // framing makes the framing of a stream whose first datagram goes to
  // |first|; nullptr when out of memory.
  virtual std::unique_ptr<DatagramFraming> framing(const TargetAddress& first) noexcept = 0;
  // prefix: bytes written once in front of the first frames of an eagerly
  // opened stream, once |first| is known (empty: none).
  virtual Result<Slice> prefix(const TargetAddress& first, BufferPool& pool) noexcept {
    (void)first;
    (void)pool;
    return Slice{};
  }
};

struct StreamDatagramFlowOptions {
  bool stream_per_target = false;  // one stream per destination (VLESS 0x02)
  bool eager = false;              // open the one stream when the flow is made
  bool fail_on_loss = false;       // a lost stream fails the flow (see above)
  bool strict_send = false;        // send() returns why it could not frame
  bool send_empty = true;          // empty datagrams are sent
  size_t max_payload = 65535;
  size_t max_streams = 64;
  size_t connect_queue = 256 * 1024;
  size_t write_queue = 1024 * 1024;
  std::string name;  // for the log: "trojan udp via host:port", ...
};

class StreamDatagramFlow final : public DatagramFlow {
 public:
  // create makes the flow (with |eager|, starts opening its stream).
  static Result<std::unique_ptr<StreamDatagramFlow>> create(
      Engine& e, std::unique_ptr<DatagramCarrier> carrier, const StreamDatagramFlowOptions& o,
      DatagramHandler* h) noexcept;
  ~StreamDatagramFlow() override;

  Status send(const Endpoint& to, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  DatagramFlowStats stats() const noexcept override { return stats_; }

  // streams: legs currently open or being opened (for tests and stats).
  size_t streams() const noexcept { return legs_.size(); }

  struct Leg;

 private:
  StreamDatagramFlow(Engine& e, std::unique_ptr<DatagramCarrier> carrier,
                     const StreamDatagramFlowOptions& o, DatagramHandler* h) noexcept;
  friend struct Leg;
  void opened(Leg* l, Result<std::unique_ptr<Transport>> t, const char* reason) noexcept;

  Leg* find_leg(const Endpoint& to) noexcept;
  Leg* new_leg(const Endpoint& to, const TargetAddress* first) noexcept;
  bool set_first(Leg* l, const TargetAddress& first) noexcept;
  void open_leg(Leg* l) noexcept;
  Status flush(Leg* l) noexcept;
  void received(Leg* l, Slice&& data) noexcept;
  // lost: the leg's stream failed or ended (or never opened).
  void lost(Leg* l, Errc e, const char* why) noexcept;
  // drop_leg closes the leg's stream (if any) and forgets the leg.
  void drop_leg(Leg* l) noexcept;
  void fail(Errc e) noexcept;
  void stream_closed() noexcept;
  void maybe_finish_close() noexcept;

  Engine& engine_;
  std::unique_ptr<DatagramCarrier> carrier_;
  StreamDatagramFlowOptions opts_;
  DatagramHandler* handler_;
  std::vector<std::unique_ptr<Leg>> legs_;
  // tracker_ outlives the flow for streams still closing when it is deleted.
  struct Tracker {
    StreamDatagramFlow* flow;
  };
  std::shared_ptr<Tracker> tracker_;
  size_t closing_streams_ = 0;
  int in_call_ = 0;  // inside send() or create(): errors are reported later
  bool failed_ = false;
  bool closing_ = false;
  Errc error_ = Errc::ok;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  Endpoint from_;
  DatagramFlowStats stats_;
};

}  // namespace sluice

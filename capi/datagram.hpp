// datagram.hpp: CDatagram, the object behind a sluice_datagram handle.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A CDatagram owns the DatagramFlow a Session opened (it is the flow's
// DatagramHandler) and forwards its datagrams to the host's versioned
// callbacks. It is an EngineObject, so engine stop closes it and the host
// hears on_close as after sluice_datagram_close.
//
// States: open -> (failed) -> closing -> freed. A flow error is reported
// from a zero-delay timer (hop_), never from inside a sluice_* call, since a
// flow may fail inside send(). Closing waits for the flow's close callback
// (or, with none, one loop turn), then calls on_close and deletes: on_close
// never runs inside sluice_datagram_close.
//
// Sends copy the host's bytes into one pool chunk (the only copy on the
// way out); the target Endpoint is a member reused for every send, so a
// send allocates nothing beyond that chunk.
//
// Threads: the Engine's loop thread.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "capi/handle.hpp"
#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/session.hpp"
#include "sluice/stream.hpp"

namespace sluice::capi {

class CSession;
struct OutboundCounters;

class CDatagram final : public sluice_datagram, public EngineObject, private DatagramHandler {
 public:
  using Opaque = sluice_datagram;

  // open asks |s| for a flow; on success *out is the new CDatagram.
  static int open(CSession& s, const sluice_datagram_callbacks& cbs, void* user,
                  CDatagram** out) noexcept;

  int send(std::string_view host, uint16_t port, const uint8_t* data, size_t len) noexcept;
  void close() noexcept;
  void engine_close() noexcept override { close(); }
  const char* failure_reason() const noexcept { return reason_.c_str(); }
  void stats(sluice_datagram_stats* out) const noexcept;

 private:
  enum class State { open, failed, closing };

  CDatagram(CSession& s, const sluice_datagram_callbacks& cbs, void* user);
  ~CDatagram() override = default;

  // DatagramHandler
  void on_datagram(const Endpoint& from, Slice&& payload) override;
  void on_error(Errc e) override;

  void fail(Errc e, std::string reason) noexcept;
  static void on_hop(void* self) noexcept;
  static void on_closed(void* self) noexcept;

  sluice_datagram_callbacks cbs_;  // lifted to the latest version
  void* user_;
  std::unique_ptr<DatagramFlow> flow_;
  State state_ = State::open;
  Errc error_ = Errc::ok;
  std::string reason_;
  bool error_pending_ = false;  // on_error waits for hop_
  net::Timer hop_;              // zero-delay: reports on_error one loop turn later
  net::Closer closer_;          // waits for the flow's close
  Endpoint to_;                 // the send target, reused
  std::shared_ptr<OutboundCounters> counters_;
  std::string outbound_;
  uint64_t started_ns_ = 0;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  uint64_t received_ = 0;
};

}  // namespace sluice::capi

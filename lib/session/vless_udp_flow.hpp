// vless_udp_flow.hpp: VlessUdpFlow, the DatagramFlow of a vless outbound
// (command 0x02, vless.md section 6.1).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A 0x02 connection carries datagrams to the one destination its header
// names, so the flow keeps one connection ("leg") per destination, opened
// by the first datagram sent there (at most kMaxLegs). Each datagram goes
// out as LEN(2) ‖ payload, the length written into the payload's headroom
// when it has some (no copy); replies are parsed from the leg's stream and
// delivered with the leg's destination as their source.
//
// Bounds (UDP semantics: beyond them a datagram is dropped and counted):
// kMaxQueued bytes per leg while it connects, kMaxBuffered bytes in a
// connected leg's write queue, payloads up to 65535 bytes. A leg that fails
// or ends is forgotten; the next datagram to its destination opens a new one.
//
// Ownership: independent of the VlessSession that made it (it shares only
// the immutable VlessTarget). close(): exactly one callback, after every
// leg has closed. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <vector>

#include "session/vless_session.hpp"
#include "sluice/stream.hpp"

namespace sluice {

class VlessUdpFlow final : public DatagramFlow {
 public:
  static constexpr size_t kMaxLegs = 64;
  static constexpr size_t kMaxQueued = 256 * 1024;
  static constexpr size_t kMaxBuffered = 1024 * 1024;

  VlessUdpFlow(Engine& e, std::shared_ptr<const VlessTarget> target, DatagramHandler* h) noexcept;
  ~VlessUdpFlow() override;

  Status send(const Endpoint& to, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  DatagramFlowStats stats() const noexcept override { return stats_; }

  struct Leg;

 private:
  friend struct Leg;
  Status frame(Slice&& payload, Chain* out) noexcept;
  void leg_done(Leg* l) noexcept;    // failed or ended: close and forget it
  void leg_closed(Leg* l) noexcept;  // its transport finished closing

  Engine& engine_;
  std::shared_ptr<const VlessTarget> target_;
  DatagramHandler* handler_;
  std::vector<std::unique_ptr<Leg>> legs_;
  size_t closing_legs_ = 0;
  bool closing_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  DatagramFlowStats stats_;
};

}  // namespace sluice

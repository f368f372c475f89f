// vless_xudp_flow.hpp: VlessXudpFlow, the DatagramFlow of a vless outbound
// with packet_encoding "xudp" (vless.md section 6.2; sing-box's default).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One VLESS connection with command 0x03 (Mux) carries every datagram of
// the flow, to any destination, as Mux.Cool frames on session 0: New (with
// the first destination) for the first datagram, Keep with the datagram's
// destination afterwards, each header written into the payload's headroom
// when it has room (no copy). Replies name their source (full cone). The
// connection opens on the first send; datagrams sent meanwhile are queued
// (bounded). If it fails or the server ends it, the next send opens a new
// one. Beyond the bounds datagrams are dropped and counted, as UDP would.
//
// Ownership and close as VlessUdpFlow. Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <vector>

#include "session/vless_session.hpp"
#include "sluice/stream.hpp"

namespace sluice {

class VlessXudpFlow final : public DatagramFlow {
 public:
  static constexpr size_t kMaxQueued = 256 * 1024;
  static constexpr size_t kMaxBuffered = 1024 * 1024;

  VlessXudpFlow(Engine& e, std::shared_ptr<const VlessTarget> target, DatagramHandler* h) noexcept;
  ~VlessXudpFlow() override;

  Status send(const Endpoint& to, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  DatagramFlowStats stats() const noexcept override { return stats_; }

  struct Conn;

 private:
  friend struct Conn;
  void conn_done(Conn* c) noexcept;
  void conn_closed(Conn* c) noexcept;

  Engine& engine_;
  std::shared_ptr<const VlessTarget> target_;
  DatagramHandler* handler_;
  // conns_: the current connection (the last one, unless done) and earlier
  // ones still closing.
  std::vector<std::unique_ptr<Conn>> conns_;
  size_t open_closes_ = 0;
  bool closing_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  DatagramFlowStats stats_;
};

}  // namespace sluice

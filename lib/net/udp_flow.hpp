// udp_flow.hpp: UdpFlow, a direct DatagramFlow over one unconnected UDP socket.
//
// Bound to [::]:0 (dual-stack), it sends to any target and delivers every
// datagram it receives with its source. Targets by name are resolved once and
// cached for the flow's life (a small table; SOCKS5 UDP clients talk to few
// peers). Sends use uv_udp_try_send; when the socket is full the datagram is
// dropped and counted, as UDP would.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/engine.hpp"
#include "sluice/stream.hpp"

namespace sluice::net {

class UdpFlow final : public DatagramFlow {
 public:
  static Result<std::unique_ptr<DatagramFlow>> create(Engine& e, DatagramHandler* h);
  ~UdpFlow() override;

  Status send(const Endpoint& to, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  DatagramFlowStats stats() const noexcept override { return stats_; }
  uint16_t local_port() const noexcept;

 private:
  struct Resolve;
  struct CacheEntry {
    std::string host;
    sockaddr_storage addr;
  };
  UdpFlow(Engine& e, DatagramHandler* h) : engine_(e), handler_(h) {}
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags);
  void send_to(const sockaddr_storage& ss, uint16_t port, const Slice& payload) noexcept;

  Engine& engine_;
  DatagramHandler* handler_;
  uv_udp_t udp_{};
  Slice read_buf_;
  std::vector<CacheEntry> cache_;    // resolved names, bounded
  std::vector<Resolve*> resolving_;  // lookups in flight
  bool closing_ = false;
  int open_ = 0;  // the socket plus lookups still in flight
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  DatagramFlowStats stats_;
};

}  // namespace sluice::net

// host_hooks.hpp: what an embedding host hooks into an Engine's networking.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Two things a VPN host needs from every Engine, reachable from the code
// that creates sockets with nothing but the Engine:
//
// - The socket hook: one host callback told the fd of every socket sluice
//   creates for outbound traffic (TCP dials, direct UDP flows, QUIC client
//   endpoints) before it connects or binds, which may refuse it. This is
//   where Android's VpnService.protect() or an iOS interface binding goes.
//   The code creating the socket calls socket_created() once, right after
//   the socket exists; a refusal fails that socket with Errc::socket_refused.
//   The hook lives in a per_engine<HostHooks>, made only when a host sets
//   one; socket_created() only looks it up (find_per_engine), so an Engine
//   without a hook gains no Engine object and pays one table lookup per
//   socket.
// - The network-change registry: objects holding long-lived connections
//   (QUIC client endpoints) subscribe, and the host's "the network changed"
//   reaches each of them. It is a process-wide table keyed by Engine that
//   holds only live subscriptions (subscribers leave before they go), so it
//   adds no Engine object either.
//
// Threads: the Engine's loop thread (or before it starts); the tables are
// guarded by mutexes because several Engines may run on several threads.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"

namespace sluice::net {

// SocketKind says what an outbound socket is for (values match sluice.h's
// SLUICE_SOCKET_*).
enum class SocketKind : int { tcp = 1, udp = 2, quic = 3 };

// NetworkChange flags (values match sluice.h's SLUICE_NETWORK_*).
inline constexpr unsigned kNetworkLinkChanged = 1u;  // interface, address or route changed
inline constexpr unsigned kNetworkWoke = 2u;         // the device resumed from sleep
inline constexpr unsigned kNetworkAll = kNetworkLinkChanged | kNetworkWoke;

// SocketHookFn returns 0 to let the socket proceed; anything else refuses it
// (the same signature as sluice.h's sluice_socket_cb).
using SocketHookFn = int (*)(int fd, int kind, int family, void* user);

// NetworkChangeListener is told about a network change the host reported.
class NetworkChangeListener {
 public:
  virtual void on_network_changed(unsigned flags) noexcept = 0;

 protected:
  ~NetworkChangeListener() = default;
};

struct HostHookStats {
  uint64_t sockets_seen = 0;     // sockets passed to the hook
  uint64_t sockets_refused = 0;  // ... that it refused
};

// HostHooks is an Engine's socket hook.
class HostHooks {
 public:
  // of returns |e|'s HostHooks, creating them; find returns them or null.
  static std::shared_ptr<HostHooks> of(Engine& e);
  static std::shared_ptr<HostHooks> find(Engine& e) noexcept;

  void set_socket_hook(SocketHookFn fn, void* user) noexcept {
    hook_ = fn;
    hook_user_ = user;
  }
  // check_socket runs the hook on |h|'s fd; socket_refused if it refuses
  // (or the fd cannot be had), ok otherwise (also without a hook).
  Status check_socket(const uv_handle_t* h, SocketKind kind, int family) noexcept;
  const HostHookStats& stats() const noexcept { return stats_; }

 private:
  SocketHookFn hook_ = nullptr;
  void* hook_user_ = nullptr;
  HostHookStats stats_;
};

// socket_created is the one call at an outbound socket's creation: the
// Engine's socket hook (if any) sees |h|'s fd. Returns socket_refused when
// the host refuses the socket; the caller then closes it and fails.
Status socket_created(Engine& e, const uv_handle_t* h, SocketKind kind, int family) noexcept;

// subscribe_network_changes adds |l| to |e|'s listeners (once);
// unsubscribe_network_changes removes it (a no-op if absent), also while
// notify_network_changed runs. A listener must unsubscribe before it goes.
void subscribe_network_changes(Engine& e, NetworkChangeListener* l);
void unsubscribe_network_changes(Engine& e, NetworkChangeListener* l) noexcept;
// notify_network_changed tells each listener of |e| subscribed when it was
// called and still subscribed when its turn comes; returns how many.
size_t notify_network_changed(Engine& e, unsigned flags) noexcept;

}  // namespace sluice::net

// host_hooks.cpp: the per-Engine socket hook and network-change registry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "net/host_hooks.hpp"

#include <algorithm>

#include "net/per_engine.hpp"

namespace sluice::net {

std::shared_ptr<HostHooks> HostHooks::of(Engine& e) { return per_engine<HostHooks>(e); }

Status HostHooks::check_socket(const uv_handle_t* h, SocketKind kind, int family) noexcept {
  if (!hook_) return {};
  stats_.sockets_seen++;
  uv_os_fd_t fd = -1;
  if (uv_fileno(h, &fd) != 0 || hook_(fd, static_cast<int>(kind), family, hook_user_) != 0) {
    stats_.sockets_refused++;
    return Errc::socket_refused;
  }
  return {};
}

void HostHooks::subscribe(NetworkChangeListener* l) {
  if (std::find(listeners_.begin(), listeners_.end(), l) == listeners_.end())
    listeners_.push_back(l);
}

void HostHooks::unsubscribe(NetworkChangeListener* l) noexcept {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), l), listeners_.end());
}

size_t HostHooks::network_changed(unsigned flags) noexcept {
  stats_.network_changes++;
  // A listener may unsubscribe itself or others (closing a connection can
  // end its endpoint); walk a copy and skip those gone meanwhile.
  std::vector<NetworkChangeListener*> snapshot;
  try {
    snapshot = listeners_;
  } catch (...) {
    return 0;
  }
  size_t told = 0;
  for (NetworkChangeListener* l : snapshot) {
    if (std::find(listeners_.begin(), listeners_.end(), l) == listeners_.end()) continue;
    l->on_network_changed(flags);
    ++told;
  }
  return told;
}

Status socket_created(Engine& e, const uv_handle_t* h, SocketKind kind, int family) noexcept {
  try {
    return HostHooks::of(e)->check_socket(h, kind, family);
  } catch (...) {
    return Errc::no_memory;
  }
}

}  // namespace sluice::net

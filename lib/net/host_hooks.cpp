// host_hooks.cpp: the per-Engine socket hook and network-change registry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "net/host_hooks.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "net/per_engine.hpp"

namespace sluice::net {

namespace {
std::mutex g_listeners_mu;
// Engine -> its subscribed listeners; an entry goes when its last listener
// does. Never freed: process lifetime.
std::unordered_map<Engine*, std::vector<NetworkChangeListener*>>* g_listeners = nullptr;

bool subscribed(Engine& e, NetworkChangeListener* l) noexcept {
  std::lock_guard<std::mutex> lock(g_listeners_mu);
  if (!g_listeners) return false;
  auto it = g_listeners->find(&e);
  return it != g_listeners->end() &&
         std::find(it->second.begin(), it->second.end(), l) != it->second.end();
}
}  // namespace

std::shared_ptr<HostHooks> HostHooks::of(Engine& e) { return per_engine<HostHooks>(e); }

std::shared_ptr<HostHooks> HostHooks::find(Engine& e) noexcept {
  return find_per_engine<HostHooks>(e);
}

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

Status socket_created(Engine& e, const uv_handle_t* h, SocketKind kind, int family) noexcept {
  std::shared_ptr<HostHooks> hooks = HostHooks::find(e);
  return hooks ? hooks->check_socket(h, kind, family) : Status{};
}

void subscribe_network_changes(Engine& e, NetworkChangeListener* l) {
  std::lock_guard<std::mutex> lock(g_listeners_mu);
  if (!g_listeners)
    g_listeners = new std::unordered_map<Engine*, std::vector<NetworkChangeListener*>>();
  std::vector<NetworkChangeListener*>& v = (*g_listeners)[&e];
  if (std::find(v.begin(), v.end(), l) == v.end()) v.push_back(l);
}

void unsubscribe_network_changes(Engine& e, NetworkChangeListener* l) noexcept {
  std::lock_guard<std::mutex> lock(g_listeners_mu);
  if (!g_listeners) return;
  auto it = g_listeners->find(&e);
  if (it == g_listeners->end()) return;
  it->second.erase(std::remove(it->second.begin(), it->second.end(), l), it->second.end());
  if (it->second.empty()) g_listeners->erase(it);
}

size_t notify_network_changed(Engine& e, unsigned flags) noexcept {
  // A listener may unsubscribe itself or others while it is told (closing
  // a connection can end its endpoint): walk a copy, and skip those gone.
  std::vector<NetworkChangeListener*> snapshot;
  try {
    std::lock_guard<std::mutex> lock(g_listeners_mu);
    if (!g_listeners) return 0;
    auto it = g_listeners->find(&e);
    if (it == g_listeners->end()) return 0;
    snapshot = it->second;
  } catch (...) {
    return 0;
  }
  size_t told = 0;
  for (NetworkChangeListener* l : snapshot) {
    if (!subscribed(e, l)) continue;
    l->on_network_changed(flags);
    ++told;
  }
  return told;
}

}  // namespace sluice::net

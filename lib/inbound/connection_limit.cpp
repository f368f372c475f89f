// inbound/connection_limit.cpp: see connection_limit.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/connection_limit.hpp"

#include <cstring>
#include <new>

namespace sluice {

ConnectionLimit::Slot::~Slot() { limit_->release(key_); }

ConnectionLimit* ConnectionLimit::create(const Options& o) noexcept {
  if (o.max_connections == 0 && o.max_connections_per_ip == 0) return nullptr;
  return new (std::nothrow) ConnectionLimit(o);
}

size_t ConnectionLimit::KeyHash::operator()(const std::array<uint8_t, 16>& k) const noexcept {
  // FNV-1a: the keys are peer addresses, which a peer chooses only within
  // what it can route from; collisions cost time, never correctness.
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : k) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h);
}

bool ConnectionLimit::key_of(const sockaddr_storage& peer, std::array<uint8_t, 16>* key) noexcept {
  key->fill(0);
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    (*key)[10] = 0xff;
    (*key)[11] = 0xff;
    std::memcpy(key->data() + 12, &a->sin_addr, 4);
    return true;
  }
  if (peer.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
    std::memcpy(key->data(), &a->sin6_addr, 16);
    return true;
  }
  return false;
}

ConnectionLimit::Slot* ConnectionLimit::admit(const sockaddr_storage& peer, Refusal* why) noexcept {
  *why = Refusal::none;
  if (opts_.max_connections != 0 && open_ >= opts_.max_connections) {
    *why = Refusal::total;
    return nullptr;
  }
  std::array<uint8_t, 16> key;
  const bool known = key_of(peer, &key);
  uint32_t* count = nullptr;
  if (known && opts_.max_connections_per_ip != 0) {
    try {
      count = &per_ip_[key];
    } catch (...) {  // bad_alloc
      *why = Refusal::no_memory;
      return nullptr;
    }
    if (*count >= opts_.max_connections_per_ip) {
      *why = Refusal::per_ip;
      return nullptr;
    }
  }
  if (!known) key.fill(0xff);  // never matches a real address's entry
  auto* s = new (std::nothrow) Slot(this, key);
  if (s == nullptr) {
    if (count != nullptr && *count == 0) per_ip_.erase(key);
    *why = Refusal::no_memory;
    return nullptr;
  }
  if (count != nullptr) ++*count;
  ++open_;
  ++refs_;
  return s;
}

uint32_t ConnectionLimit::open_from(const sockaddr_storage& peer) const noexcept {
  std::array<uint8_t, 16> key;
  if (!key_of(peer, &key)) return 0;
  auto it = per_ip_.find(key);
  return it == per_ip_.end() ? 0 : it->second;
}

void ConnectionLimit::release(const std::array<uint8_t, 16>& key) noexcept {
  --open_;
  if (opts_.max_connections_per_ip != 0) {
    auto it = per_ip_.find(key);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  }
  unref();
}

const char* ConnectionLimit::refusal_name(Refusal r) noexcept {
  switch (r) {
    case Refusal::none:
      return "admitted";
    case Refusal::total:
      return "max_connections reached";
    case Refusal::per_ip:
      return "max_connections_per_ip reached for this address";
    case Refusal::no_memory:
      return "out of memory";
  }
  return "refused";
}

}  // namespace sluice

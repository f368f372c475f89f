// token_store.cpp: NEW_TOKEN tokens by server address.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic/token_store.hpp"

#include <netinet/in.h>

#include "net/per_engine.hpp"

namespace sluice::quic {

std::string TokenStore::key(const sockaddr* a) {
  std::string k;
  if (a->sa_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(a);
    k.push_back('6');
    k.append(reinterpret_cast<const char*>(&a6->sin6_port), 2);
    k.append(reinterpret_cast<const char*>(&a6->sin6_addr), 16);
  } else {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(a);
    k.push_back('4');
    k.append(reinterpret_cast<const char*>(&a4->sin_port), 2);
    k.append(reinterpret_cast<const char*>(&a4->sin_addr), 4);
  }
  return k;
}

bool TokenStore::put(const sockaddr* server, std::string_view token) {
  if (capacity_ == 0 || token.empty() || token.size() > kMaxTokenLen) return false;
  std::string k = key(server);
  if (auto it = index_.find(k); it != index_.end()) {
    entries_.erase(it->second);
    index_.erase(it);
  }
  entries_.push_front({k, std::string(token)});
  index_.emplace(std::move(k), entries_.begin());
  while (entries_.size() > capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  return true;
}

std::string TokenStore::take(const sockaddr* server) {
  auto it = index_.find(key(server));
  if (it == index_.end()) return {};
  std::string t = std::move(it->second->token);
  entries_.erase(it->second);
  index_.erase(it);
  return t;
}

std::shared_ptr<TokenStore> token_store_for(Engine& e) { return per_engine<TokenStore>(e); }

}  // namespace sluice::quic

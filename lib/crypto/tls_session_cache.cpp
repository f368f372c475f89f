// tls_session_cache.cpp: the client ticket cache.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_session_cache.hpp"

#include <openssl/ssl.h>

namespace sluice::tls {

TlsSessionCache::~TlsSessionCache() { clear(); }

std::string TlsSessionCache::key(std::string_view server, uint16_t port, std::string_view sni,
                                 const std::vector<std::string>& alpn, std::string_view policy_id) {
  std::string k;
  k.append(server).append("|").append(std::to_string(port)).append("|").append(sni).append("|");
  for (const std::string& a : alpn) k.append(a).append(",");
  k.append("|").append(policy_id);
  return k;
}

size_t TlsSessionCache::tickets() const noexcept {
  size_t n = 0;
  for (const auto& [k, e] : map_) n += e.tickets.size();
  return n;
}

void TlsSessionCache::drop_old(Entry& e, uint64_t now_ms) noexcept {
  size_t keep = 0;
  for (Ticket& t : e.tickets) {
    if (now_ms - t.stored_ms > limits_.max_age_ms) {
      SSL_SESSION_free(t.session);
    } else {
      e.tickets[keep++] = t;
    }
  }
  e.tickets.resize(keep);
}

void TlsSessionCache::erase(std::unordered_map<std::string, Entry>::iterator it) noexcept {
  for (Ticket& t : it->second.tickets) SSL_SESSION_free(t.session);
  lru_.erase(it->second.lru);
  map_.erase(it);
}

void TlsSessionCache::put(const std::string& key, SSL_SESSION* s, uint64_t now_ms) {
  if (!s || !SSL_SESSION_is_resumable(s) || limits_.max_keys == 0) return;
  auto it = map_.find(key);
  if (it == map_.end()) {
    while (map_.size() >= limits_.max_keys) erase(map_.find(lru_.back()));
    lru_.push_front(key);
    it = map_.emplace(key, Entry{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  drop_old(e, now_ms);
  if (e.tickets.size() >= kPerKey) {
    SSL_SESSION_free(e.tickets.front().session);
    e.tickets.erase(e.tickets.begin());
  }
  SSL_SESSION_up_ref(s);
  e.tickets.push_back({s, now_ms});
}

SSL_SESSION* TlsSessionCache::take(const std::string& key, uint64_t now_ms) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  Entry& e = it->second;
  drop_old(e, now_ms);
  if (e.tickets.empty()) {
    erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, e.lru);
  Ticket t = e.tickets.back();
  if (SSL_SESSION_should_be_single_use(t.session)) {
    e.tickets.pop_back();
    if (e.tickets.empty()) erase(it);
    return t.session;  // the cache's reference moves to the caller
  }
  SSL_SESSION_up_ref(t.session);
  return t.session;
}

void TlsSessionCache::clear() noexcept {
  for (auto& [k, e] : map_)
    for (Ticket& t : e.tickets) SSL_SESSION_free(t.session);
  map_.clear();
  lru_.clear();
}

}  // namespace sluice::tls

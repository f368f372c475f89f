// tls_session_cache.hpp: TlsSessionCache, client session tickets for
// resumption, bounded in entries and age.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Keyed by (server, port, SNI, ALPN, trust policy id): a ticket from one
// server name or one trust policy is never offered to another. Each key keeps
// up to kPerKey tickets, newest first; TLS 1.3 tickets are single-use
// (RFC 8446 C.4), so get() takes one out, and a server sending two tickets
// per handshake (BoringSSL's default) keeps the cache stocked. Whole keys are
// evicted least-recently-used past max_keys; tickets older than max_age are
// dropped on access.
//
// The cache holds SSL_SESSION references and reads no clock: callers pass
// |now_ms| (the Engine's loop time). One per Engine, shared by its TLS
// client transports (lib/transport/tls_session_registry); loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

typedef struct ssl_session_st SSL_SESSION;

namespace sluice::tls {

struct TlsSessionCacheLimits {
  size_t max_keys = 512;
  uint64_t max_age_ms = 2 * 3600 * 1000;
};

class TlsSessionCache {
 public:
  static constexpr size_t kPerKey = 4;

  explicit TlsSessionCache(const TlsSessionCacheLimits& l = {}) : limits_(l) {}
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // key builds the cache key.
  static std::string key(std::string_view server, uint16_t port, std::string_view sni,
                         const std::vector<std::string>& alpn, std::string_view policy_id);

  // put stores |s| (takes one new reference) if it is resumable.
  void put(const std::string& key, SSL_SESSION* s, uint64_t now_ms);
  // take returns the newest fresh ticket for |key| (the caller owns the
  // reference) or nullptr. Single-use tickets leave the cache.
  SSL_SESSION* take(const std::string& key, uint64_t now_ms);

  size_t keys() const noexcept { return map_.size(); }
  size_t tickets() const noexcept;
  void clear() noexcept;

 private:
  struct Ticket {
    SSL_SESSION* session;  // one reference
    uint64_t stored_ms;
  };
  struct Entry {
    std::vector<Ticket> tickets;  // newest last
    std::list<std::string>::iterator lru;
  };
  void drop_old(Entry& e, uint64_t now_ms) noexcept;
  void erase(std::unordered_map<std::string, Entry>::iterator it) noexcept;

  TlsSessionCacheLimits limits_;
  std::unordered_map<std::string, Entry> map_;
  std::list<std::string> lru_;  // most recently used first
};

}  // namespace sluice::tls

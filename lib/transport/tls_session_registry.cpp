// tls_session_registry.cpp: one ticket cache per Engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/tls_session_registry.hpp"

#include <mutex>
#include <unordered_map>

namespace sluice {
namespace {

class CacheHolder;
std::mutex g_mu;
std::unordered_map<Engine*, CacheHolder*>* g_holders = nullptr;  // never freed: process lifetime

class CacheHolder final : public EngineObject {
 public:
  explicit CacheHolder(Engine& e)
      : EngineObject(e), cache(std::make_shared<tls::TlsSessionCache>()) {}
  void engine_close() noexcept override {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_holders->erase(&engine());
    }
    detach_from_engine();
    delete this;
  }
  std::shared_ptr<tls::TlsSessionCache> cache;
};

}  // namespace

std::shared_ptr<tls::TlsSessionCache> session_cache_for(Engine& e) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_holders) g_holders = new std::unordered_map<Engine*, CacheHolder*>();
  auto it = g_holders->find(&e);
  if (it != g_holders->end()) return it->second->cache;
  auto* h = new CacheHolder(e);
  g_holders->emplace(&e, h);
  return h->cache;
}

}  // namespace sluice

// per_engine.cpp: the table behind per_engine<T>.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "net/per_engine.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

namespace sluice::detail {
namespace {

class Holder;
std::mutex g_mu;
std::unordered_map<Engine*, Holder*>* g_holders = nullptr;  // never freed: process lifetime

// Holder keeps one Engine's objects until the Engine stops.
class Holder final : public EngineObject {
 public:
  explicit Holder(Engine& e) : EngineObject(e) {}
  void engine_close() noexcept override {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_holders->erase(&engine());
    }
    detach_from_engine();
    delete this;
  }
  std::map<std::type_index, std::shared_ptr<void>> objects;
};

}  // namespace

std::shared_ptr<void> per_engine(Engine& e, std::type_index kind, std::shared_ptr<void> (*make)()) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_holders) g_holders = new std::unordered_map<Engine*, Holder*>();
  auto it = g_holders->find(&e);
  Holder* h = it != g_holders->end() ? it->second : nullptr;
  if (h == nullptr) {
    h = new Holder(e);
    g_holders->emplace(&e, h);
  }
  std::shared_ptr<void>& slot = h->objects[kind];
  if (!slot) slot = make();
  return slot;
}

std::shared_ptr<void> find_per_engine(Engine& e, std::type_index kind) noexcept {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_holders) return nullptr;
  auto it = g_holders->find(&e);
  if (it == g_holders->end()) return nullptr;
  auto obj = it->second->objects.find(kind);
  return obj == it->second->objects.end() ? nullptr : obj->second;
}

}  // namespace sluice::detail

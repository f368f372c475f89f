// per_engine.hpp: one shared object of a kind per Engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Some state belongs to an Engine as a whole but has no slot in its public
// type: the TLS ticket cache that every TLS client of the Engine shares, the
// QUIC NEW_TOKEN store that every QUIC client Endpoint shares. per_engine<T>
// returns the Engine's T, creating it (default-constructed) on first use.
// The objects hang off an EngineObject found by Engine address; the
// Engine's stop closes it, which forgets them (holders of a shared_ptr keep
// theirs until they let go).
//
// Threads: per_engine may be called from the Engine's loop thread or before
// the Engine starts; the lookup table is guarded by a mutex because several
// Engines may live on several threads. The objects themselves are for the
// Engine's loop thread unless their type says otherwise.
#pragma once

#include <memory>
#include <typeindex>

#include "sluice/engine.hpp"

namespace sluice {

namespace detail {
std::shared_ptr<void> per_engine(Engine& e, std::type_index kind, std::shared_ptr<void> (*make)());
std::shared_ptr<void> find_per_engine(Engine& e, std::type_index kind) noexcept;
}  // namespace detail

template <typename T>
std::shared_ptr<T> per_engine(Engine& e) {
  return std::static_pointer_cast<T>(
      detail::per_engine(e, std::type_index(typeid(T)),
                         []() -> std::shared_ptr<void> { return std::make_shared<T>(); }));
}

}  // namespace sluice

namespace sluice {

// find_per_engine returns the Engine's T if per_engine<T> made one (and the
// Engine has not stopped since), else null; it never creates anything, so
// a lookup on a hot path adds no Engine object.
template <typename T>
std::shared_ptr<T> find_per_engine(Engine& e) noexcept {
  return std::static_pointer_cast<T>(detail::find_per_engine(e, std::type_index(typeid(T))));
}

}  // namespace sluice

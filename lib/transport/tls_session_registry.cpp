// tls_session_registry.cpp: one ticket cache per Engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/tls_session_registry.hpp"

#include "net/per_engine.hpp"

namespace sluice {

std::shared_ptr<tls::TlsSessionCache> session_cache_for(Engine& e) {
  return per_engine<tls::TlsSessionCache>(e);
}

}  // namespace sluice

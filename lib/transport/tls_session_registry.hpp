// tls_session_registry.hpp: the TLS ticket cache of each Engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every TLS client transport of an Engine draws tickets from, and stores
// tickets in, one tls::TlsSessionCache (keyed by server, port, SNI, ALPN and
// trust policy; see lib/crypto/tls_session_cache.hpp), kept by per_engine
// (lib/net/per_engine.hpp): the Engine's stop forgets it (holders of the
// shared_ptr keep theirs until they let go).
//
// Threads: session_cache_for may be called from the Engine's loop thread or
// before the Engine starts.
#pragma once

#include <memory>

#include "crypto/tls_session_cache.hpp"
#include "sluice/engine.hpp"

namespace sluice {

// session_cache_for returns |e|'s ticket cache, creating it on first use.
std::shared_ptr<tls::TlsSessionCache> session_cache_for(Engine& e);

}  // namespace sluice

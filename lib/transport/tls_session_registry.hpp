// tls_session_registry.hpp: the TLS ticket cache of each Engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every TLS client transport of an Engine draws tickets from, and stores
// tickets in, one tls::TlsSessionCache (keyed by server, port, SNI, ALPN and
// trust policy; see lib/crypto/tls_session_cache.hpp). The Engine's public
// type has no slot for it, so the cache hangs off an EngineObject found by
// Engine address; the Engine's stop closes that object, which forgets the
// cache (holders of the shared_ptr keep theirs until they let go).
//
// Threads: session_cache_for may be called from the Engine's loop thread or
// before the Engine starts; the lookup table is guarded by a mutex because
// several Engines may live on several threads.
#pragma once

#include <memory>

#include "crypto/tls_session_cache.hpp"
#include "sluice/engine.hpp"

namespace sluice {

// session_cache_for returns |e|'s ticket cache, creating it on first use.
std::shared_ptr<tls::TlsSessionCache> session_cache_for(Engine& e);

}  // namespace sluice

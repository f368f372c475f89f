// fallback.hpp: the ServerDriver's fallback choice (per negotiated ALPN)
// and the write of the bytes received so far to a freshly opened stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/buffer.hpp"
#include "sluice/config.hpp"
#include "sluice/session.hpp"
#include "sluice/stream.hpp"
#include "sluice/transport.hpp"

namespace sluice {

// select_fallback picks where a stranger's connection goes: the entry of
// |for_alpn| for the negotiated |alpn| when |for_alpn| is set (|alpn| null:
// no TLS, so no per-ALPN choice), else |fallback|; nullptr when the server
// of the one chosen is empty (close instead).
const TrojanFallback* select_fallback(
    const TrojanFallback& fallback,
    const std::vector<std::pair<std::string, TrojanFallback>>& for_alpn,
    const std::string* alpn) noexcept;

// write_pending writes |*in|, the bytes received from the client and not yet
// consumed (if any), to the freshly opened |s|, ahead of anything newer. On
// failure |s| is closed (and deleted) and false is returned.
bool write_pending(std::unique_ptr<Stream>& s, Chain* in);

}  // namespace sluice

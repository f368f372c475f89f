// fallback.hpp: what the Trojan and VLESS servers share for a connection
// that is not theirs (the fallback server) and for a connection that closes
// while an open, a fallback dial or a UDP flow is outstanding.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/dialer.hpp"
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

// fallback_stream turns the fallback server's dialed connection |d| into
// the stream the client is relayed to, with |*in| written to it first (see
// write_pending). nullptr if the dial failed (logged as "<proto> <tag>:
// fallback dial failed: <reason>") or the write did.
std::unique_ptr<Stream> fallback_stream(Result<std::unique_ptr<net::TcpTransport>>& d,
                                        const char* reason, Chain* in, const char* proto,
                                        const std::string& tag);

// cancel_pending cancels an open still pending on |*session| for |h|, a
// fallback dial in flight and closes |*flow|; each is reset. For close_now.
void cancel_pending(Session** session, OpenHandler* h, net::Dial** dial,
                    std::unique_ptr<DatagramFlow>* flow) noexcept;

}  // namespace sluice

// inbound/tuic_config.hpp: from the config's tuic outbound / inbound
// options to a TuicSession / TuicInbound (the QUIC TLS options included).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// TLS for QUIC is always TLS 1.3 with an ALPN. An empty tls.alpn becomes
// ["h3"] on both sides (docs/protocols/tuic.md, "ALPN"). Certificates and
// keys are read from their files here (QuicTlsOptions takes PEM text).
// Options that cannot apply to QUIC (uTLS, disable_sni, the TLS 1.2
// knobs of the client) are refused with a reason rather than ignored.
#pragma once

#include <memory>
#include <string>

#include "inbound/router.hpp"
#include "inbound/tuic_inbound.hpp"
#include "session/tuic_session.hpp"
#include "sluice/config.hpp"

namespace sluice {

// make_tuic_session builds the `tuic` outbound |o| (type tuic); |why| on failure.
Result<std::unique_ptr<Session>> make_tuic_session(Engine& e, const OutboundOptions& o,
                                                   std::string* why);
// make_tuic_inbound builds the `tuic` inbound |in| (type tuic) on |router|.
Result<std::unique_ptr<TuicInbound>> make_tuic_inbound(Engine& e, const InboundOptions& in,
                                                       Router* router, std::string* why);

}  // namespace sluice

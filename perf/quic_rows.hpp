// quic_rows.hpp: tunnel_bench rows over raw QUIC streams (lib/quic).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// "quic-gso" and "quic-nogso": a bench-only tunnel, the smallest protocol a
// QUIC proxy can be. The client side is a SOCKS5 inbound whose outbound opens
// one bidirectional QUIC stream per flow on one shared connection, writes the
// target as a SOCKS address (ATYP | ADDR | PORT, lib/proto/target_address)
// and relays; the server side reads the address, dials direct and relays
// (lib/session/relay). No authentication and no reply: what is measured is
// lib/quic's transport (crypto, packetisation, GSO or sendmmsg, flow control,
// the Transport adapter), not a protocol. Hysteria and TUIC rows, when they
// exist, add their framing and authentication on top of the same path.
//
// TLS material: the server reads cert.pem/key.pem from the directory in
// SLUICE_BENCH_MATERIAL (tunnel_bench's prepare_tls_material); the client
// pins the certificate's SHA-256.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

// quic_rows: the QUIC rows, for tunnel_bench's all_rows().
std::span<const RowDef> quic_rows();

}  // namespace sluice::perf

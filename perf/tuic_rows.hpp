// tuic_rows.hpp: tunnel_bench rows for TUIC v5 (lib/session/tuic_session,
// lib/inbound/tuic_inbound), beside the raw QUIC rows (quic_rows.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// "tuic": a SOCKS5 inbound -> the tuic outbound (one QUIC connection,
// Authenticate, a Connect stream per flow) -> the tuic inbound -> direct.
// Same QUIC core, GSO and cwnd rule as "quic-gso", so the difference
// between the two rows is what TUIC adds: the Connect header, the
// authentication and the stream wrapper. "tuic-bbr" runs both sides on
// ngtcp2's BBR (congestion_control "bbr").
//
// TLS material: the bench certificate (bench_material.hpp), pinned by the
// client; ALPN "h3", as TUIC deployments use.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> tuic_rows();

}  // namespace sluice::perf

// hysteria2_rows.hpp: tunnel_bench rows for Hysteria v2 (lib/session
// hysteria2_session, lib/inbound hysteria2_inbound), beside the raw QUIC
// rows (quic_rows.hpp) that measure the same transport without the
// protocol.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// "hy2": a hysteria2 inbound (direct behind it) and a SOCKS5 inbound in
// front of a hysteria2 outbound, BBR both ways (no up_mbps: Brutal would
// cap the row at its configured rate). "hy2-salamander": the same with
// Salamander on both sockets. Built from JSON configs like `sluice run`;
// the client pins the bench certificate.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

// hysteria2_rows: the Hysteria v2 rows, for tunnel_bench's all_rows().
std::span<const RowDef> hysteria2_rows();

}  // namespace sluice::perf

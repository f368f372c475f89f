// reality_rows.hpp: the tunnel_bench rows of VLESS over REALITY (with and
// without Vision), whose server dials a handshake target on 127.0.0.1 (a
// BoringSSL TLS 1.3 server in the same process) for every connection, so
// the setup time includes that round trip.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> reality_rows();

}  // namespace sluice::perf

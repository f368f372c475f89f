// trojan_rows.hpp: tunnel_bench rows for Trojan over TLS: full handshakes,
// resumed handshakes (the Engine's ticket cache) and ECH. The certificate
// and ECH keys come from bench_material.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> trojan_rows();

}  // namespace sluice::perf

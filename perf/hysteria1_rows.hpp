// hysteria1_rows.hpp: tunnel_bench rows for Hysteria v1 (plain and XPlus).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> hysteria1_rows();

}  // namespace sluice::perf

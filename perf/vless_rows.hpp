// vless_rows.hpp: tunnel_bench rows for VLESS over TLS, with no flow and
// with xtls-rprx-vision, each with plain payload and with inner TLS 1.3.
// With plain payload the Vision row measures Vision's padding and
// filtering cost on ordinary traffic (it must never switch); with inner
// TLS 1.3 ("-inner" rows) Vision switches to direct copy after the inner
// handshake, so the inner TLS is no longer encrypted a second time. The
// server side reports its Vision counters and fails the row when they
// contradict the row (no switch with inner TLS, a switch without).
// Certificate from bench_material.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <span>

#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> vless_rows();

}  // namespace sluice::perf

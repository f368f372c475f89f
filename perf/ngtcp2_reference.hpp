// ngtcp2_reference.hpp: the reference point for the QUIC rows: an HTTP/3
// download between Debian's ngtcp2 example programs (gtlsclient from
// gtlsserver, ngtcp2 on GnuTLS), timed in the same tunnel_bench run.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// It is not a tunnel: one QUIC connection carries a file from the server's
// document root to the client, which discards it. The QUIC rows carry the
// bench's bulk traffic through a SOCKS5 front and a QUIC stream to a direct
// dial, so "QUIC row / reference" is how sluice's whole QUIC path compares
// with a plain QUIC transfer by an independent implementation.
#pragma once

#include <cstddef>
#include <string>

namespace sluice::perf {

struct ReferenceResult {
  double bytes_per_s = 0;
  double cpu_s_per_gb = 0;  // both programs' CPU over the transfer
};

// measure_ngtcp2_reference serves |bytes| of zeros with gtlsserver (the
// bench certificate from bench_material) and downloads them with
// gtlsclient. false with |error| when a program is missing or fails.
bool measure_ngtcp2_reference(size_t bytes, ReferenceResult* out, std::string* error);

}  // namespace sluice::perf

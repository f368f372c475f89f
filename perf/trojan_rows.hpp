// trojan_rows.hpp: tunnel_bench rows for Trojan over TLS: full handshakes,
// resumed handshakes (the Engine's ticket cache) and ECH.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Both sides of a row run in separate child processes, so the certificate
// and ECH keys they share are made once by the bench process
// (prepare_tls_material) in a private temporary folder whose path reaches
// the children through the SLUICE_BENCH_MATERIAL environment variable.
#pragma once

#include <span>
#include <string>

#include "tunnel_rows.hpp"

namespace sluice::perf {

// prepare_tls_material writes cert.pem, key.pem, ech-configs.pem and
// ech-keys.pem to a new folder and exports its path; false with |error| set
// when BoringSSL or the file system refuses.
bool prepare_tls_material(std::string* error);
// remove_tls_material deletes the folder prepare_tls_material made.
void remove_tls_material();

std::span<const RowDef> trojan_rows();

}  // namespace sluice::perf

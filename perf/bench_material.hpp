// bench_material.hpp: what the tunnel_bench rows of TLS-based protocols
// share: one certificate and ECH keypair per run, and building a side from
// a JSON config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Both sides of a row run in separate child processes, so the certificate
// and ECH keys they share are made once by the bench process
// (prepare_tls_material) in a private temporary folder whose path reaches
// the children through the SLUICE_BENCH_MATERIAL environment variable:
// cert.pem, key.pem (server name kBenchServerName), ech-configs.pem and
// ech-keys.pem (public name public.bench.test).
#pragma once

#include <string>

#include "tunnel_rows.hpp"

namespace sluice::perf {

inline constexpr const char* kBenchServerName = "bench.test";

// prepare_tls_material writes the folder and exports its path; false with
// |error| set when BoringSSL or the file system refuses.
bool prepare_tls_material(std::string* error);
// remove_tls_material deletes the folder prepare_tls_material made.
void remove_tls_material();

// material_dir is the folder's path, or invalid_argument (with |reason|)
// in a process that did not inherit it.
Result<std::string> material_dir(std::string* reason);
// material_file reads |name| (cert.pem, key.pem, ...) from that folder.
Result<std::string> material_file(const char* name, std::string* reason);
// certificate_pin is the SHA-256 (hex) of the bench certificate, for a
// client's certificate_sha256.
Result<std::string> certificate_pin(std::string* reason);

// instance_side parses |json|, builds an Instance on |e| kept in |keep|
// and returns the port of its inbound tagged "in".
Result<uint16_t> instance_side(Engine& e, const std::string& json, Keep& keep, std::string* reason);

}  // namespace sluice::perf

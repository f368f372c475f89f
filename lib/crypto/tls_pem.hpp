// tls_pem.hpp: PEM blocks and the files TLS options point at.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Certificates, keys and sing-box's ECH blobs travel as PEM (RFC 7468):
// "-----BEGIN <label>-----", base64 lines, "-----END <label>-----". The ECH
// formats are strict (config.md 1.1: exactly one block, nothing after it), so
// this parser is too: it is not a general PEM reader (no headers, no
// Proc-Type). Certificates and keys go through BoringSSL's own PEM code.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/error.hpp"

namespace sluice::tls {

// PemBlock is one decoded block.
struct PemBlock {
  std::string label;           // "ECH CONFIGS", "CERTIFICATE", ...
  std::vector<uint8_t> bytes;  // the decoded body
};

// parse_pem_blocks decodes every block in |text|; text between blocks is
// ignored (as openssl does). malformed for a BEGIN without a matching END or
// a body that is not base64; an empty result when there is no block.
Result<std::vector<PemBlock>> parse_pem_blocks(std::string_view text);

// parse_single_pem decodes |text| as exactly one block labelled |label|,
// with only whitespace around it (sing-box's rule for ECH CONFIGS and ECH
// KEYS). malformed otherwise; |why| (may be null) says what was wrong.
Result<std::vector<uint8_t>> parse_single_pem(std::string_view text, std::string_view label,
                                              std::string* why);

// encode_pem formats |bytes| as one block with 64-column lines and a final
// newline.
std::string encode_pem(std::string_view label, const uint8_t* bytes, size_t len);

// decode_base64 reads standard base64 (padding optional, whitespace
// skipped); malformed otherwise.
Result<std::vector<uint8_t>> decode_base64(std::string_view text);
// encode_base64 writes standard padded base64.
std::string encode_base64(const uint8_t* bytes, size_t len);

// read_file returns a file's contents; config_io with the OS reason in
// |why| (may be null) when it cannot be read. Files above 4 MiB and anything
// but a regular file (FIFO, directory, device) are refused (core/file.hpp).
Result<std::string> read_file(const std::string& path, std::string* why);

// pem_or_path returns |inline_pem| when set, else the contents of |path|
// (both empty: an empty string).
Result<std::string> pem_or_path(const std::string& inline_pem, const std::string& path,
                                std::string* why);

}  // namespace sluice::tls

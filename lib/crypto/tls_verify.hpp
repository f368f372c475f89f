// tls_verify.hpp: VerifyPolicy, how a TLS client judges the server's
// certificate chain.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// In order:
//  1. pins: if any pin is configured, the leaf must match one of them, and
//     a match replaces chain and name checks (sing-box's
//     certificate_public_key_sha256 = SHA-256 of the leaf's SPKI DER, base64;
//     hysteria2's pinSHA256 / Xray's pcs = SHA-256 of the whole leaf DER, hex).
//  2. insecure: anything passes.
//  3. otherwise the chain must lead to a trust anchor of the store (the
//     system bundle /etc/ssl/certs/ca-certificates.crt, or the configured CA
//     PEM) and the leaf must name the expected host (DNS name, or IP address
//     when the name is a literal).
// Failures carry the verifier's reason ("certificate has expired",
// "hostname mismatch", "pin mismatch", ...).
//
// Threading: a policy is immutable once built and may be shared; the
// system store is loaded once per process (X509_STORE is safe for
// concurrent verification).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/error.hpp"

typedef struct x509_store_st X509_STORE;

namespace sluice::tls {

// kSystemCaBundle is Debian's ca-certificates bundle.
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

class VerifyPolicy {
 public:
  using Sha256 = std::array<uint8_t, 32>;

  // create builds a policy. |ca_pem| empty = the system store.
  // |spki_pins_b64| and |cert_pins_hex| are the two pin forms (malformed
  // entries are config_invalid, detail in |why|).
  static Result<std::shared_ptr<VerifyPolicy>> create(bool insecure, const std::string& ca_pem,
                                                      const std::vector<std::string>& spki_pins_b64,
                                                      const std::vector<std::string>& cert_pins_hex,
                                                      std::string* why);
  ~VerifyPolicy();
  VerifyPolicy(const VerifyPolicy&) = delete;
  VerifyPolicy& operator=(const VerifyPolicy&) = delete;

  // verify checks a chain given as DER certificates, leaf first, for |host|.
  // Returns ok, cert_verify_failed or pin_mismatch with |reason| set.
  Errc verify(const std::vector<std::span<const uint8_t>>& chain_der, std::string_view host,
              std::string* reason) const;

  // id is a short digest of everything that decides trust; sessions resumed
  // under one policy are never offered under another (ticket cache key).
  const std::string& id() const noexcept { return id_; }
  bool insecure() const noexcept { return insecure_; }
  bool has_pins() const noexcept { return !spki_pins_.empty() || !cert_pins_.empty(); }

 private:
  VerifyPolicy() = default;
  bool insecure_ = false;
  X509_STORE* store_ = nullptr;  // one reference held
  std::vector<Sha256> spki_pins_;
  std::vector<Sha256> cert_pins_;
  std::string id_;
};

// sha256_hex formats a digest as lower-case hex (for logs and tests).
std::string sha256_hex(const VerifyPolicy::Sha256& d);
// leaf_pins computes both pin forms of a DER certificate (for tests and
// `sluice generate tls-keypair`): SHA-256 of the whole DER (hex) and of its
// SPKI (base64). malformed if the DER does not parse.
Result<std::pair<std::string, std::string>> leaf_pins(std::span<const uint8_t> der);
// leaf_pins_pem is leaf_pins for the first certificate of a PEM text.
Result<std::pair<std::string, std::string>> leaf_pins_pem(const std::string& pem);

}  // namespace sluice::tls

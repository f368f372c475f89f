// tls_keypair.hpp: X.509 certificates made in code (ECDSA P-256), for
// `sluice generate tls-keypair` and for tests.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A certificate is self-signed unless an issuer is given, in which case the
// issuer's key signs it (a test CA and its leaf). The name goes into the
// subject CN and the subjectAltName (as an IP address when it is one, so
// verifiers that ignore the CN, like Go's, accept it).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/error.hpp"

namespace sluice::tls {

struct CertificateRequest {
  std::string name = "localhost";  // CN and subjectAltName
  bool is_ca = false;              // basicConstraints CA:TRUE, keyCertSign
  int64_t not_before_s = -3600;    // validity start, seconds from now
  int64_t not_after_s = 365LL * 24 * 3600;
  // issuer_*: PEM of the signing CA; empty = self-signed.
  std::string issuer_cert_pem;
  std::string issuer_key_pem;
};

struct KeyPairPem {
  std::string certificate;  // PEM "CERTIFICATE"
  std::string private_key;  // PEM "PRIVATE KEY" (PKCS#8)
};

// generate_certificate makes a fresh P-256 key and a certificate for it.
// crypto_failure if BoringSSL refuses; invalid_argument for a bad issuer.
Result<KeyPairPem> generate_certificate(const CertificateRequest& req);

}  // namespace sluice::tls

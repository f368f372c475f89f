// proto/reality/certificate.hpp: the REALITY server's temporary Ed25519
// certificate, whose signature field carries HMAC-SHA512(authKey, public
// key) instead of a self-signature, and the client's check of it.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The server makes one key pair and one certificate when it starts (serial
// 0, empty subject and issuer, validity 0001-01-01, no extensions, as the Go
// servers do) and, per connection, writes the HMAC over the last 64 bytes of
// the DER, which are the signatureValue BIT STRING's content. The client
// recognises a REALITY server by an Ed25519 leaf whose signatureValue equals
// that HMAC under its own auth key; anything else is the real site or a man
// in the middle.
//
// Immutable after create(): a TemporaryCertificate may be shared by every
// connection of a server (and across threads, read-only).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "crypto/signature.hpp"
#include "proto/reality/auth.hpp"
#include "sluice/cipher.hpp"

namespace sluice::reality {

inline constexpr size_t kCertSignatureLen = 64;  // Ed25519 signature = HMAC-SHA512 output

class TemporaryCertificate {
 public:
  // create builds the certificate and the signing key for |seed| (32 bytes
  // of Ed25519 seed). invalid_argument for another length, crypto_failure if
  // the key does not load.
  static Result<TemporaryCertificate> create(std::span<const uint8_t> seed);
  // generate is create() with a random seed.
  static Result<TemporaryCertificate> generate();

  // der is the certificate with an all-zero signature (borrowed).
  std::span<const uint8_t> der() const noexcept { return der_; }
  std::span<const uint8_t, kEd25519PublicKeyLen> public_key() const noexcept { return public_; }
  // key signs CertificateVerify (scheme ed25519).
  const std::shared_ptr<const crypto::SigningKey>& key() const noexcept { return key_; }

  // signed_for returns the DER with the HMAC of |auth_key| as its signature.
  std::vector<uint8_t> signed_for(const AuthKey& auth_key) const;

 private:
  TemporaryCertificate() = default;
  std::vector<uint8_t> der_;
  std::array<uint8_t, kEd25519PublicKeyLen> public_{};
  std::shared_ptr<const crypto::SigningKey> key_;
};

// certificate_hmac writes HMAC-SHA512(auth_key, public_key) to |out|.
void certificate_hmac(const AuthKey& auth_key, std::span<const uint8_t> public_key,
                      std::span<uint8_t, kCertSignatureLen> out) noexcept;

// CertificateFields are the parts of an X.509 certificate the client check
// needs, borrowed from the DER.
struct CertificateFields {
  bool ed25519 = false;                 // the subject key is Ed25519 (OID 1.3.101.112)
  std::span<const uint8_t> public_key;  // the subject public key bits
  std::span<const uint8_t> signature;   // the signatureValue bits
};

// parse_certificate_fields walks the DER of |cert| (Certificate, tbs,
// SubjectPublicKeyInfo, signatureValue). malformed if it is not a
// well-formed X.509 structure at those places.
Result<CertificateFields> parse_certificate_fields(std::span<const uint8_t> cert);

// is_reality_certificate reports whether |cert| is an Ed25519 certificate
// whose signatureValue is certificate_hmac(auth_key, its public key).
bool is_reality_certificate(std::span<const uint8_t> cert, const AuthKey& auth_key);

}  // namespace sluice::reality

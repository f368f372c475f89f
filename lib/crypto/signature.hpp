// signature.hpp: verification of TLS 1.3 handshake signatures
// (CertificateVerify, RFC 8446 §4.4.3) against an X.509 leaf certificate,
// over BoringSSL's libcrypto, for sluice's own TLS engine (lib/proto/tls13).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Schemes: ecdsa_secp256r1_sha256 (0x0403), ecdsa_secp384r1_sha384 (0x0503),
// rsa_pss_rsae_sha256/384/512 (0x0804-0x0806, salt = hash length) and
// ed25519 (0x0807). The scheme must match the certificate's key: an ECDSA
// scheme needs an EC key on that very curve, an RSA-PSS-RSAE scheme an
// rsaEncryption key of at least 1024 bits (RFC 8448's trace uses 1024).
//
// Threading: pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sluice/error.hpp"

namespace sluice::crypto {

// signature_scheme_supported reports whether verify_certificate_signature
// implements |scheme|.
bool signature_scheme_supported(uint16_t scheme) noexcept;

// verify_certificate_signature checks |signature| over |message| with the
// public key of the DER certificate |cert_der| under TLS 1.3 signature
// |scheme|. Errors: malformed (the certificate does not parse),
// not_supported (an unknown scheme, or a key type / curve that does not
// match the scheme), crypto_failure (the signature does not verify).
[[nodiscard]] Status verify_certificate_signature(uint16_t scheme,
                                                  std::span<const uint8_t> cert_der,
                                                  std::span<const uint8_t> message,
                                                  std::span<const uint8_t> signature) noexcept;

// SigningKey is a private key (Ed25519, ECDSA P-256/P-384 or RSA) that signs
// TLS 1.3 CertificateVerify content. Move-only; frees its key on destruction.
class SigningKey {
 public:
  // from_pem loads a PEM private key (PKCS#8 "PRIVATE KEY", or the
  // traditional EC / RSA forms). malformed if it does not parse,
  // not_supported for another key type or curve.
  static Result<SigningKey> from_pem(std::string_view pem) noexcept;

  SigningKey(SigningKey&& o) noexcept;
  SigningKey& operator=(SigningKey&& o) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  // supports reports whether |scheme| fits this key (ECDSA on its curve,
  // RSA-PSS-RSAE for RSA, ed25519 for Ed25519).
  bool supports(uint16_t scheme) const noexcept;

  // sign appends the signature of |message| under |scheme| to |out|.
  // not_supported if the scheme does not fit the key; crypto_failure if
  // BoringSSL fails.
  [[nodiscard]] Status sign(uint16_t scheme, std::span<const uint8_t> message,
                            std::vector<uint8_t>& out) const;

 private:
  explicit SigningKey(void* key) noexcept : key_(key) {}
  void* key_ = nullptr;  // EVP_PKEY*
};

}  // namespace sluice::crypto

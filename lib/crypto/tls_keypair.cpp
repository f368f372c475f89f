// tls_keypair.cpp: self-signed and CA-issued P-256 certificates.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_keypair.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace sluice::tls {
namespace {

std::string bio_string(BIO* b) {
  const uint8_t* p = nullptr;
  size_t n = 0;
  if (!BIO_mem_contents(b, &p, &n)) return {};
  return std::string(reinterpret_cast<const char*>(p), n);
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

}  // namespace

Result<KeyPairPem> generate_certificate(const CertificateRequest& req) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || !EC_KEY_generate_key(ec.get())) return Errc::crypto_failure;
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!key || !EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) return Errc::crypto_failure;

  bssl::UniquePtr<X509> issuer;
  bssl::UniquePtr<EVP_PKEY> issuer_key;
  if (!req.issuer_cert_pem.empty()) {
    bssl::UniquePtr<BIO> cb(
        BIO_new_mem_buf(req.issuer_cert_pem.data(), static_cast<int>(req.issuer_cert_pem.size())));
    bssl::UniquePtr<BIO> kb(
        BIO_new_mem_buf(req.issuer_key_pem.data(), static_cast<int>(req.issuer_key_pem.size())));
    issuer.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!issuer || !issuer_key) return Errc::invalid_argument;
  }

  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) return Errc::crypto_failure;
  uint8_t serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive (RFC 5280 4.1.2.2)
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
    return Errc::crypto_failure;
  time_t now = std::time(nullptr);
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, req.not_before_s, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, req.not_after_s, &now))
    return Errc::crypto_failure;
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const uint8_t*>(req.name.c_str()), -1, -1, 0))
    return Errc::crypto_failure;
  if (!X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer.get()) : name) ||
      !X509_set_pubkey(cert.get(), key.get()))
    return Errc::crypto_failure;

  X509* signer_cert = issuer ? issuer.get() : cert.get();
  const std::string san = (is_ip(req.name) ? "IP:" : "DNS:") + req.name;
  bool ok = add_ext(cert.get(), signer_cert, NID_subject_key_identifier, "hash");
  if (issuer) ok = ok && add_ext(cert.get(), signer_cert, NID_authority_key_identifier, "keyid");
  if (req.is_ca) {
    ok = ok && add_ext(cert.get(), signer_cert, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext(cert.get(), signer_cert, NID_key_usage,
                 "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    ok = ok && add_ext(cert.get(), signer_cert, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(cert.get(), signer_cert, NID_key_usage, "critical,digitalSignature") &&
         add_ext(cert.get(), signer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  ok = ok && add_ext(cert.get(), signer_cert, NID_subject_alt_name, san.c_str());
  if (!ok) return Errc::crypto_failure;
  if (!X509_sign(cert.get(), issuer ? issuer_key.get() : key.get(), EVP_sha256()))
    return Errc::crypto_failure;

  bssl::UniquePtr<BIO> cbio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> kbio(BIO_new(BIO_s_mem()));
  if (!cbio || !kbio || !PEM_write_bio_X509(cbio.get(), cert.get()) ||
      !PEM_write_bio_PrivateKey(kbio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return Errc::crypto_failure;
  KeyPairPem out;
  out.certificate = bio_string(cbio.get());
  out.private_key = bio_string(kbio.get());
  return out;
}

}  // namespace sluice::tls

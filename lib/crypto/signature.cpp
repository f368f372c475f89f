// signature.cpp: see signature.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/signature.hpp"

#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>

namespace sluice::crypto {

namespace {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

enum class Kind { ecdsa, rsa_pss, ed25519 };

struct Scheme {
  uint16_t id;
  Kind kind;
  const EVP_MD* (*md)();
  int curve_nid;  // ECDSA only
};

const EVP_MD* no_md() { return nullptr; }

constexpr Scheme kSchemes[] = {
    {0x0403, Kind::ecdsa, EVP_sha256, NID_X9_62_prime256v1},
    {0x0503, Kind::ecdsa, EVP_sha384, NID_secp384r1},
    {0x0804, Kind::rsa_pss, EVP_sha256, 0},
    {0x0805, Kind::rsa_pss, EVP_sha384, 0},
    {0x0806, Kind::rsa_pss, EVP_sha512, 0},
    {0x0807, Kind::ed25519, no_md, 0},
};

const Scheme* find(uint16_t id) noexcept {
  for (const auto& s : kSchemes)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace

bool signature_scheme_supported(uint16_t scheme) noexcept { return find(scheme) != nullptr; }

Status verify_certificate_signature(uint16_t scheme, std::span<const uint8_t> cert_der,
                                    std::span<const uint8_t> message,
                                    std::span<const uint8_t> signature) noexcept {
  const Scheme* s = find(scheme);
  if (s == nullptr) return Errc::not_supported;
  const uint8_t* p = cert_der.data();
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(cert_der.size())));
  if (!cert || p != cert_der.data() + cert_der.size()) {
    ERR_clear_error();
    return Errc::malformed;
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(X509_get_pubkey(cert.get()));
  if (!key) {
    ERR_clear_error();
    return Errc::not_supported;
  }
  const int type = EVP_PKEY_id(key.get());
  switch (s->kind) {
    case Kind::ecdsa: {
      if (type != EVP_PKEY_EC) return Errc::not_supported;
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key.get());
      if (ec == nullptr || EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) != s->curve_nid)
        return Errc::not_supported;
      break;
    }
    case Kind::rsa_pss:
      if (type != EVP_PKEY_RSA || EVP_PKEY_bits(key.get()) < 1024) return Errc::not_supported;
      break;
    case Kind::ed25519:
      if (type != EVP_PKEY_ED25519) return Errc::not_supported;
      break;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return Errc::no_memory;
  EVP_PKEY_CTX* pctx = nullptr;
  if (!EVP_DigestVerifyInit(ctx.get(), &pctx, s->md(), nullptr, key.get())) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  if (s->kind == Kind::rsa_pss && (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
                                   !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1))) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  const int ok = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                  message.size());
  ERR_clear_error();
  return ok == 1 ? Status{} : Status{Errc::crypto_failure};
}

}  // namespace sluice::crypto

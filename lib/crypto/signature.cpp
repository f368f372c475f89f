// signature.cpp: see signature.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/signature.hpp"

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
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

// key_fits checks |key| has the type (and curve) |s| needs.
bool key_fits(const Scheme& s, EVP_PKEY* key) noexcept {
  const int type = EVP_PKEY_id(key);
  switch (s.kind) {
    case Kind::ecdsa: {
      if (type != EVP_PKEY_EC) return false;
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      return ec != nullptr && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == s.curve_nid;
    }
    case Kind::rsa_pss:
      return type == EVP_PKEY_RSA && EVP_PKEY_bits(key) >= 1024;
    case Kind::ed25519:
      return type == EVP_PKEY_ED25519;
  }
  return false;
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
  if (!key_fits(*s, key.get())) return Errc::not_supported;
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

Result<SigningKey> SigningKey::from_pem(std::string_view pem) noexcept {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Errc::no_memory;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (key == nullptr) return Errc::malformed;
  bool usable = false;
  for (const auto& s : kSchemes) usable = usable || key_fits(s, key);
  if (!usable) {
    EVP_PKEY_free(key);
    return Errc::not_supported;
  }
  return SigningKey(key);
}

SigningKey::SigningKey(SigningKey&& o) noexcept : key_(o.key_) { o.key_ = nullptr; }

SigningKey& SigningKey::operator=(SigningKey&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
    key_ = o.key_;
    o.key_ = nullptr;
  }
  return *this;
}

SigningKey::~SigningKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

bool SigningKey::supports(uint16_t scheme) const noexcept {
  const Scheme* s = find(scheme);
  return s != nullptr && key_ != nullptr && key_fits(*s, static_cast<EVP_PKEY*>(key_));
}

Status SigningKey::sign(uint16_t scheme, std::span<const uint8_t> message,
                        std::vector<uint8_t>& out) const {
  if (!supports(scheme)) return Errc::not_supported;
  const Scheme* s = find(scheme);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return Errc::no_memory;
  EVP_PKEY_CTX* pctx = nullptr;
  auto* key = static_cast<EVP_PKEY*>(key_);
  bool ok = EVP_DigestSignInit(ctx.get(), &pctx, s->md(), nullptr, key) == 1;
  if (ok && s->kind == Kind::rsa_pss)
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1) == 1;
  size_t len = 0;
  ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  const size_t at = out.size();
  out.resize(at + len);
  if (EVP_DigestSign(ctx.get(), out.data() + at, &len, message.data(), message.size()) != 1) {
    ERR_clear_error();
    out.resize(at);
    return Errc::crypto_failure;
  }
  out.resize(at + len);
  return {};
}

}  // namespace sluice::crypto

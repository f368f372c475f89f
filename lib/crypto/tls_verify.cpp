// tls_verify.cpp: pins, trust stores and chain + name verification.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_verify.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mutex>

#include "crypto/tls_pem.hpp"

namespace sluice::tls {
namespace {

// system_store loads the bundle once; every policy holds a reference.
X509_STORE* system_store(std::string* why) {
  static std::mutex mu;
  static X509_STORE* store = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (store == nullptr) {
    X509_STORE* s = X509_STORE_new();
    if (!s) return nullptr;
    if (!X509_STORE_load_locations(s, kSystemCaBundle, nullptr)) {
      ERR_clear_error();
      X509_STORE_free(s);
      if (why)
        *why = std::string("cannot load the system CA bundle ") + kSystemCaBundle +
               " (apt-get install ca-certificates)";
      return nullptr;
    }
    store = s;
  }
  X509_STORE_up_ref(store);
  return store;
}

X509_STORE* store_from_pem(const std::string& pem, std::string* why) {
  bssl::UniquePtr<X509_STORE> s(X509_STORE_new());
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!s || !bio) return nullptr;
  int n = 0;
  for (;;) {
    bssl::UniquePtr<X509> c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!c) break;
    if (!X509_STORE_add_cert(s.get(), c.get())) break;
    ++n;
  }
  ERR_clear_error();
  if (n == 0) {
    if (why) *why = "certificate: no PEM CERTIFICATE block";
    return nullptr;
  }
  return s.release();
}

bool sha256_of_spki(X509* x, VerifyPolicy::Sha256* out) {
  uint8_t* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
  if (len <= 0) return false;
  SHA256(der, static_cast<size_t>(len), out->data());
  OPENSSL_free(der);
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex_pin(const std::string& s, VerifyPolicy::Sha256* out) {
  std::string hex;
  for (char c : s)
    if (c != ':') hex.push_back(c);
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

bool is_ip_literal(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

VerifyPolicy::~VerifyPolicy() {
  if (store_) X509_STORE_free(store_);
}

Result<std::shared_ptr<VerifyPolicy>> VerifyPolicy::create(
    bool insecure, const std::string& ca_pem, const std::vector<std::string>& spki_pins_b64,
    const std::vector<std::string>& cert_pins_hex, std::string* why) {
  std::shared_ptr<VerifyPolicy> p(new (std::nothrow) VerifyPolicy());
  if (!p) return Errc::no_memory;
  p->insecure_ = insecure;
  for (const std::string& b64 : spki_pins_b64) {
    auto d = decode_base64(b64);
    if (!d || d->size() != 32) {
      if (why) *why = "certificate_public_key_sha256: \"" + b64 + "\" is not a base64 SHA-256";
      return Errc::config_invalid;
    }
    Sha256 h;
    std::copy(d->begin(), d->end(), h.begin());
    p->spki_pins_.push_back(h);
  }
  for (const std::string& hex : cert_pins_hex) {
    Sha256 h;
    if (!parse_hex_pin(hex, &h)) {
      if (why) *why = "certificate_sha256: \"" + hex + "\" is not 64 hex digits";
      return Errc::config_invalid;
    }
    p->cert_pins_.push_back(h);
  }
  // A pinned or insecure policy never consults a store; skip loading the
  // system bundle (hundreds of certificates) for it.
  if (!insecure && !p->has_pins()) {
    p->store_ = ca_pem.empty() ? system_store(why) : store_from_pem(ca_pem, why);
    if (!p->store_) return Errc::config_invalid;
  }
  // id: a digest over the trust inputs.
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const uint8_t flag = insecure ? 1 : 0;
  SHA256_Update(&ctx, &flag, 1);
  SHA256_Update(&ctx, ca_pem.data(), ca_pem.size());
  for (const Sha256& h : p->spki_pins_) SHA256_Update(&ctx, h.data(), h.size());
  SHA256_Update(&ctx, "|", 1);
  for (const Sha256& h : p->cert_pins_) SHA256_Update(&ctx, h.data(), h.size());
  Sha256 id;
  SHA256_Final(id.data(), &ctx);
  p->id_ = sha256_hex(id).substr(0, 16);
  return p;
}

Errc VerifyPolicy::verify(const std::vector<std::span<const uint8_t>>& chain_der,
                          std::string_view host, std::string* reason) const {
  if (chain_der.empty()) {
    *reason = "the server sent no certificate";
    return Errc::cert_verify_failed;
  }
  if (has_pins()) {
    Sha256 whole;
    SHA256(chain_der[0].data(), chain_der[0].size(), whole.data());
    for (const Sha256& h : cert_pins_)
      if (CRYPTO_memcmp(h.data(), whole.data(), 32) == 0) return Errc::ok;
    const uint8_t* p = chain_der[0].data();
    bssl::UniquePtr<X509> leaf(d2i_X509(nullptr, &p, static_cast<long>(chain_der[0].size())));
    Sha256 spki;
    if (leaf && sha256_of_spki(leaf.get(), &spki)) {
      for (const Sha256& h : spki_pins_)
        if (CRYPTO_memcmp(h.data(), spki.data(), 32) == 0) return Errc::ok;
    }
    ERR_clear_error();
    *reason = "pin mismatch: leaf certificate sha256 " + sha256_hex(whole);
    return Errc::pin_mismatch;
  }
  if (insecure_) return Errc::ok;

  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  bssl::UniquePtr<X509> leaf;
  for (size_t i = 0; i < chain_der.size(); ++i) {
    const uint8_t* p = chain_der[i].data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(chain_der[i].size()));
    if (!x) {
      ERR_clear_error();
      *reason = "certificate does not parse";
      return Errc::cert_verify_failed;
    }
    if (i == 0) {
      leaf.reset(x);
    } else if (!sk_X509_push(chain.get(), x)) {
      X509_free(x);
      return Errc::no_memory;
    }
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || !X509_STORE_CTX_init(ctx.get(), store_, leaf.get(), chain.get())) {
    ERR_clear_error();
    *reason = "verifier setup failed";
    return Errc::cert_verify_failed;
  }
  X509_STORE_CTX_set_default(ctx.get(), "ssl_server");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  const std::string h(host);
  if (!h.empty()) {
    const bool ok = is_ip_literal(h) ? X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str())
                                     : X509_VERIFY_PARAM_set1_host(param, h.data(), h.size());
    if (!ok) {
      ERR_clear_error();
      *reason = "bad server name \"" + h + "\"";
      return Errc::cert_verify_failed;
    }
  }
  if (X509_verify_cert(ctx.get()) == 1) return Errc::ok;
  ERR_clear_error();
  const int err = X509_STORE_CTX_get_error(ctx.get());
  switch (err) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      *reason = "hostname mismatch: certificate is not valid for \"" + h + "\"";
      break;
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      *reason = "IP address mismatch: certificate is not valid for " + h;
      break;
    default:
      *reason = X509_verify_cert_error_string(err);
      break;
  }
  return Errc::cert_verify_failed;
}

std::string sha256_hex(const VerifyPolicy::Sha256& d) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

Result<std::pair<std::string, std::string>> leaf_pins(std::span<const uint8_t> der) {
  const uint8_t* p = der.data();
  bssl::UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  VerifyPolicy::Sha256 whole, spki;
  if (!x || !sha256_of_spki(x.get(), &spki)) {
    ERR_clear_error();
    return Errc::malformed;
  }
  SHA256(der.data(), der.size(), whole.data());
  return std::make_pair(sha256_hex(whole), encode_base64(spki.data(), spki.size()));
}

Result<std::pair<std::string, std::string>> leaf_pins_pem(const std::string& pem) {
  auto blocks = parse_pem_blocks(pem);
  if (!blocks) return blocks.error();
  for (const PemBlock& b : *blocks)
    if (b.label == "CERTIFICATE") return leaf_pins(b.bytes);
  return Errc::malformed;
}

}  // namespace sluice::tls

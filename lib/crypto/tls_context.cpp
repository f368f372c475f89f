// tls_context.cpp: building client and server SSL_CTXs from options.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hpke.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <cctype>
#include <cstring>

#include "crypto/tls_connection.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_pem.hpp"

namespace sluice::tls {
namespace {

// Chrome's TLS 1.2 suite order (TLS 1.3 suites are fixed by BoringSSL in
// Chrome's order: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305).
constexpr const char* kChromeCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:"
    "AES128-SHA:AES256-SHA";
constexpr const char* kChromeCurves = "X25519:P-256:P-384";
// Chrome's signature_algorithms order.
constexpr uint16_t kChromeSigalgs[] = {
    SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_RSA_PKCS1_SHA256,
    SSL_SIGN_ECDSA_SECP384R1_SHA384, SSL_SIGN_RSA_PSS_RSAE_SHA384, SSL_SIGN_RSA_PKCS1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA512,    SSL_SIGN_RSA_PKCS1_SHA512,
};

Errc fail(std::string* why, Errc e, std::string w) {
  if (why) *why = std::move(w);
  ERR_clear_error();
  return e;
}

bool is_ip_literal(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// cipher_list_from_iana maps IANA suite names (sing-box's cipher_suites) to
// BoringSSL's names through the suites BoringSSL knows.
Result<std::string> cipher_list_from_iana(SSL_CTX* ctx, const std::vector<std::string>& names,
                                          std::string* why) {
  std::string out;
  STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx);
  for (const std::string& n : names) {
    const SSL_CIPHER* found = nullptr;
    for (size_t i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
      if (n == SSL_CIPHER_standard_name(c) || n == SSL_CIPHER_get_name(c)) found = c;
    }
    if (found == nullptr) {
      // TLS 1.3 suites are not configurable (config.md 1); accept their names.
      if (n.rfind("TLS_AES_", 0) == 0 || n.rfind("TLS_CHACHA20_", 0) == 0) continue;
      return fail(why, Errc::config_invalid, "cipher_suites: unknown suite \"" + n + "\"");
    }
    if (!out.empty()) out.push_back(':');
    out += SSL_CIPHER_get_name(found);
  }
  return out;
}

Result<std::string> curve_list(const std::vector<std::string>& names, std::string* why) {
  std::string out;
  for (const std::string& n : names) {
    const char* c = n == "P256"     ? "P-256"
                    : n == "P384"   ? "P-384"
                    : n == "P521"   ? "P-521"
                    : n == "X25519" ? "X25519"
                                    : nullptr;
    if (n == "X25519MLKEM768") continue;  // not in BoringSSL API 17: offered groups stay classic
    if (c == nullptr)
      return fail(why, Errc::config_invalid, "curve_preferences: unknown \"" + n + "\"");
    if (!out.empty()) out.push_back(':');
    out += c;
  }
  return out;
}

Status set_versions(SSL_CTX* ctx, const std::string& min, const std::string& max, uint16_t dflt_min,
                    uint16_t dflt_max, std::string* why) {
  const uint16_t lo = min.empty() ? dflt_min : parse_tls_version(min);
  const uint16_t hi = max.empty() ? dflt_max : parse_tls_version(max);
  if ((lo && !SSL_CTX_set_min_proto_version(ctx, lo)) ||
      (hi && !SSL_CTX_set_max_proto_version(ctx, hi)))
    return fail(why, Errc::config_invalid, "min_version/max_version: not supported");
  return {};
}

bool name_matches(std::string_view pattern, std::string_view name) {
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  };
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const size_t dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 &&
           lower_eq(pattern.substr(1), name.substr(dot));
  }
  return lower_eq(pattern, name);
}

int cert_cb(SSL* ssl, void* arg) {
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != nullptr) static_cast<TlsServerContext*>(arg)->select_certificate(ssl, sni);
  return 1;
}

// alpn_select picks the server's most preferred protocol the client offers;
// with no overlap the handshake goes on without ALPN (a Trojan server must
// not fail a prober that happens to offer other protocols).
int alpn_select(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void* arg) {
  const auto* self = static_cast<const TlsServerContext*>(arg);
  const std::vector<uint8_t>& mine = self->alpn_wire();
  for (size_t i = 0; i < mine.size(); i += 1 + mine[i]) {
    for (unsigned j = 0; j < in_len; j += 1u + in[j]) {
      if (in[j] == mine[i] && j + 1u + in[j] <= in_len &&
          std::memcmp(in + j + 1, mine.data() + i + 1, mine[i]) == 0) {
        *out = in + j + 1;
        *out_len = in[j];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

uint16_t parse_tls_version(std::string_view v) noexcept {
  if (v == "1.0") return TLS1_VERSION;
  if (v == "1.1") return TLS1_1_VERSION;
  if (v == "1.2") return TLS1_2_VERSION;
  if (v == "1.3") return TLS1_3_VERSION;
  return 0;
}

Result<std::vector<uint8_t>> encode_alpn(const std::vector<std::string>& protos) {
  std::vector<uint8_t> out;
  for (const std::string& p : protos) {
    if (p.empty() || p.size() > 255) return Errc::invalid_argument;
    out.push_back(static_cast<uint8_t>(p.size()));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// --- client ---------------------------------------------------------------

TlsClientContext::~TlsClientContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::create(
    const TlsClientOptions& o, std::string_view server,
    const std::vector<std::string>& default_alpn, std::string* why) {
  std::shared_ptr<TlsClientContext> c(new (std::nothrow) TlsClientContext());
  if (!c) return Errc::no_memory;
  c->server_name_ = o.server_name.empty() ? std::string(server) : o.server_name;
  if (c->server_name_.empty() && !o.insecure)
    return fail(why, Errc::config_invalid, "server_name: needed (no server to take it from)");
  c->send_sni_ = !o.disable_sni && !c->server_name_.empty() && !is_ip_literal(c->server_name_);
  c->alpn_ = !o.alpn.empty() ? o.alpn : default_alpn;
  if (c->alpn_.empty() && o.utls.enabled) c->alpn_ = {"h2", "http/1.1"};  // Chrome's offer
  auto wire = encode_alpn(c->alpn_);
  if (!wire) return fail(why, Errc::config_invalid, "alpn: empty or longer than 255 bytes");
  c->alpn_wire_ = std::move(*wire);

  std::string ca;
  {
    auto r = pem_or_path(o.certificate, o.certificate_path, why);
    if (!r) return r.error();
    ca = std::move(*r);
  }
  auto policy = VerifyPolicy::create(o.insecure, ca, o.certificate_public_key_sha256,
                                     o.certificate_sha256, why);
  if (!policy) return policy.error();
  c->policy_ = std::move(*policy);

  if (o.ech.enabled) {
    c->ech_enabled_ = true;
    auto text = pem_or_path(o.ech.config, o.ech.config_path, why);
    if (!text) return text.error();
    if (!text->empty()) {
      std::string w;
      auto list = ech_config_list_from_text(*text, &w);
      if (!list) return fail(why, Errc::config_invalid, "ech.config: " + w);
      auto filtered = filter_ech_config_list(*list, &w);
      if (!filtered) return fail(why, Errc::config_invalid, "ech.config: " + w);
      c->ech_list_ = std::move(*filtered);
    } else if (o.ech.grease) {
      c->ech_grease_ = true;
    } else {
      return fail(why, Errc::config_invalid,
                  "ech: no config (ECH configs from DNS are not supported)");
    }
  }

  c->ctx_ = SSL_CTX_new(TLS_method());
  if (!c->ctx_) return Errc::no_memory;
  SSL_CTX* ctx = c->ctx_;
  const uint16_t min_default = c->ech_enabled_ ? TLS1_3_VERSION : TLS1_2_VERSION;
  SLUICE_TRY(set_versions(ctx, o.min_version, o.max_version, min_default, TLS1_3_VERSION, why));
  SSL_CTX_set_grease_enabled(ctx, 1);
  SSL_CTX_set_permute_extensions(ctx, 1);
  std::string ciphers = kChromeCiphers;
  if (!o.cipher_suites.empty()) {
    auto l = cipher_list_from_iana(ctx, o.cipher_suites, why);
    if (!l) return l.error();
    if (!l->empty()) ciphers = std::move(*l);
  }
  if (!SSL_CTX_set_strict_cipher_list(ctx, ciphers.c_str()))
    return fail(why, Errc::config_invalid, "cipher_suites: rejected by BoringSSL");
  std::string curves = kChromeCurves;
  if (!o.curve_preferences.empty()) {
    auto l = curve_list(o.curve_preferences, why);
    if (!l) return l.error();
    if (!l->empty()) curves = std::move(*l);
  }
  if (!SSL_CTX_set1_curves_list(ctx, curves.c_str()))
    return fail(why, Errc::config_invalid, "curve_preferences: rejected by BoringSSL");
  if (!SSL_CTX_set_verify_algorithm_prefs(ctx, kChromeSigalgs,
                                          sizeof kChromeSigalgs / sizeof kChromeSigalgs[0]))
    return fail(why, Errc::crypto_failure, "signature algorithms rejected");
  SSL_CTX_enable_ocsp_stapling(ctx);
  SSL_CTX_enable_signed_cert_timestamps(ctx);
  install_client_hooks(ctx);
  return c;
}

// --- server ---------------------------------------------------------------

void free_certified_key(CertifiedKey& k) noexcept {
  for (CRYPTO_BUFFER* b : k.chain) CRYPTO_BUFFER_free(b);
  k.chain.clear();
  if (k.key) EVP_PKEY_free(k.key);
  k.key = nullptr;
}

Result<CertifiedKey> load_certified_key(const TlsCertificateOptions& o, std::string* why) {
  auto cert_pem = pem_or_path(o.certificate, o.certificate_path, why);
  if (!cert_pem) return cert_pem.error();
  auto key_pem = pem_or_path(o.key, o.key_path, why);
  if (!key_pem) return key_pem.error();
  if (cert_pem->empty()) return fail(why, Errc::config_invalid, "certificate: missing");
  if (key_pem->empty()) return fail(why, Errc::config_invalid, "key: missing");
  auto blocks = parse_pem_blocks(*cert_pem);
  if (!blocks) return fail(why, Errc::config_invalid, "certificate: malformed PEM");
  CertifiedKey k;
  k.names = o.server_name;
  for (const PemBlock& b : *blocks) {
    if (b.label != "CERTIFICATE") continue;
    CRYPTO_BUFFER* buf = CRYPTO_BUFFER_new(b.bytes.data(), b.bytes.size(), nullptr);
    if (!buf) {
      free_certified_key(k);
      return Errc::no_memory;
    }
    k.chain.push_back(buf);
  }
  if (k.chain.empty()) return fail(why, Errc::config_invalid, "certificate: no CERTIFICATE block");
  bssl::UniquePtr<BIO> kb(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  k.key = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
  if (!k.key) {
    free_certified_key(k);
    return fail(why, Errc::config_invalid, "key: not a PEM private key");
  }
  const uint8_t* p = CRYPTO_BUFFER_data(k.chain[0]);
  bssl::UniquePtr<X509> leaf(
      d2i_X509(nullptr, &p, static_cast<long>(CRYPTO_BUFFER_len(k.chain[0]))));
  bssl::UniquePtr<EVP_PKEY> leaf_key(leaf ? X509_get_pubkey(leaf.get()) : nullptr);
  if (!leaf_key || EVP_PKEY_cmp(leaf_key.get(), k.key) != 1) {
    free_certified_key(k);
    return fail(why, Errc::config_invalid,
                leaf ? "key: does not match the certificate" : "certificate: does not parse");
  }
  return k;
}

TlsServerContext::~TlsServerContext() {
  for (CertifiedKey& k : sni_keys_) free_certified_key(k);
  if (ctx_) SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<TlsServerContext>> TlsServerContext::create(const TlsServerOptions& o,
                                                                   std::string* why) {
  std::shared_ptr<TlsServerContext> s(new (std::nothrow) TlsServerContext());
  if (!s) return Errc::no_memory;
  auto wire = encode_alpn(o.alpn);
  if (!wire) return fail(why, Errc::config_invalid, "alpn: empty or longer than 255 bytes");
  s->alpn_wire_ = std::move(*wire);
  s->ctx_ = SSL_CTX_new(TLS_method());
  if (!s->ctx_) return Errc::no_memory;
  SSL_CTX* ctx = s->ctx_;
  SLUICE_TRY(set_versions(ctx, o.min_version, o.max_version, 0, TLS1_3_VERSION, why));
  auto def = load_certified_key(o.certificate, why);
  if (!def) return def.error();
  const bool ok =
      SSL_CTX_set_chain_and_key(ctx, def->chain.data(), def->chain.size(), def->key, nullptr);
  free_certified_key(*def);
  if (!ok) return fail(why, Errc::config_invalid, "certificate: rejected by BoringSSL");
  for (size_t i = 0; i < o.sni_certificates.size(); ++i) {
    std::string w;
    auto k = load_certified_key(o.sni_certificates[i], &w);
    if (!k) return fail(why, k.error(), "sni_certificates[" + std::to_string(i) + "]: " + w);
    s->sni_keys_.push_back(std::move(*k));
  }
  if (!s->sni_keys_.empty()) SSL_CTX_set_cert_cb(ctx, cert_cb, s.get());
  if (!s->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, alpn_select, s.get());
  install_server_hooks(ctx);
  if (o.ech.enabled) {
    auto pem = pem_or_path(o.ech.key, o.ech.key_path, why);
    if (!pem) return pem.error();
    std::string w;
    Status st = s->set_ech_keys(*pem, &w);
    if (!st) return fail(why, st.error(), "ech.key: " + w);
  }
  return s;
}

bool TlsServerContext::select_certificate(SSL* ssl, std::string_view sni) const noexcept {
  for (const CertifiedKey& k : sni_keys_) {
    for (const std::string& n : k.names) {
      if (name_matches(n, sni))
        return SSL_set_chain_and_key(ssl, k.chain.data(), k.chain.size(), k.key, nullptr) == 1;
    }
  }
  return false;
}

Status TlsServerContext::set_ech_keys(std::string_view pem, std::string* why) {
  auto keys = parse_ech_keys(pem, why);
  if (!keys) return keys.error();
  bssl::UniquePtr<SSL_ECH_KEYS> set(SSL_ECH_KEYS_new());
  if (!set) return Errc::no_memory;
  for (const EchKey& k : *keys) {
    bssl::ScopedEVP_HPKE_KEY hk;
    if (!EVP_HPKE_KEY_init(hk.get(), EVP_hpke_x25519_hkdf_sha256(), k.private_key.data(),
                           k.private_key.size()) ||
        !SSL_ECH_KEYS_add(set.get(), /*is_retry_config=*/1, k.config.data(), k.config.size(),
                          hk.get()))
      return fail(why, Errc::malformed, "BoringSSL rejected an ECH key");
  }
  uint8_t* retry = nullptr;
  size_t retry_len = 0;
  if (!SSL_ECH_KEYS_marshal_retry_configs(set.get(), &retry, &retry_len))
    return fail(why, Errc::crypto_failure, "cannot build the retry configs");
  ech_retry_.assign(retry, retry + retry_len);
  OPENSSL_free(retry);
  if (!SSL_CTX_set1_ech_keys(ctx_, set.get()))
    return fail(why, Errc::crypto_failure, "BoringSSL rejected the ECH key set");
  return {};
}

}  // namespace sluice::tls

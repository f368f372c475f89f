// tls_context.hpp: TlsClientContext and TlsServerContext, the SSL_CTX
// factory behind every TLS connection sluice makes or accepts.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A context is built once per outbound or inbound from its "tls" options
// (include/sluice/config.hpp) and shared, through shared_ptr, by every
// connection it makes; BoringSSL's SSL objects hold their own SSL_CTX
// reference as well.
//
// Client contexts shape a Chrome-like ClientHello as far as BoringSSL API 17
// allows: GREASE (RFC 8701), extension order permutation, Chrome's TLS 1.2
// cipher order, groups X25519, P-256, P-384, Chrome's signature algorithms,
// OCSP stapling and SCT requests. Not reachable with this BoringSSL:
// certificate compression (no brotli), ALPS, X25519MLKEM768.
// Verification is BoringSSL's custom-verify hook calling VerifyPolicy
// (tls_verify.hpp), with the ECH public name when ECH was rejected.
//
// Server contexts hold the default chain and key, more chains chosen by SNI
// (the inner SNI when ECH is accepted), the ALPN preference list, and the
// ECH key set, which can be swapped while connections run (rotation).
//
// Threading: a context is immutable after create() except
// TlsServerContext::set_ech_keys, which BoringSSL allows at any time; the
// contexts themselves may be used from any thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/tls_verify.hpp"
#include "sluice/config.hpp"
#include "sluice/error.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct crypto_buffer_st CRYPTO_BUFFER;
typedef struct evp_pkey_st EVP_PKEY;

namespace sluice::tls {

// parse_tls_version maps "1.0".."1.3" to the wire value (0 for "").
uint16_t parse_tls_version(std::string_view v) noexcept;
// encode_alpn turns a protocol list into the ALPN wire form (length-prefixed);
// invalid_argument for an empty or over-long (> 255) name.
Result<std::vector<uint8_t>> encode_alpn(const std::vector<std::string>& protos);

class TlsClientContext {
 public:
  // create builds a client context. |server| is the outbound's server,
  // used as SNI and verification name when o.server_name is empty;
  // |default_alpn| applies when o.alpn is empty. On failure |why| names the
  // field and the reason.
  static Result<std::shared_ptr<TlsClientContext>> create(
      const TlsClientOptions& o, std::string_view server,
      const std::vector<std::string>& default_alpn, std::string* why);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  // server_name is the name the certificate must carry (and the SNI unless
  // send_sni() is false: disable_sni, or an IP literal).
  const std::string& server_name() const noexcept { return server_name_; }
  bool send_sni() const noexcept { return send_sni_; }
  const std::vector<std::string>& alpn() const noexcept { return alpn_; }
  const std::vector<uint8_t>& alpn_wire() const noexcept { return alpn_wire_; }
  const VerifyPolicy& policy() const noexcept { return *policy_; }
  // ech_config_list: the filtered ECHConfigList to offer (empty: no ECH).
  const std::vector<uint8_t>& ech_config_list() const noexcept { return ech_list_; }
  bool ech_enabled() const noexcept { return ech_enabled_; }
  bool ech_grease() const noexcept { return ech_grease_; }

 private:
  TlsClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::string server_name_;
  bool send_sni_ = true;
  std::vector<std::string> alpn_;
  std::vector<uint8_t> alpn_wire_;
  std::shared_ptr<VerifyPolicy> policy_;
  std::vector<uint8_t> ech_list_;
  bool ech_enabled_ = false;
  bool ech_grease_ = false;
};

// CertifiedKey is one loaded chain with its key.
struct CertifiedKey {
  std::vector<std::string> names;     // SNI patterns ("*.x" allowed); empty for the default
  std::vector<CRYPTO_BUFFER*> chain;  // one reference each, leaf first
  EVP_PKEY* key = nullptr;            // one reference
};

class TlsServerContext {
 public:
  // create loads the certificates, keys and ECH keys the options name.
  static Result<std::shared_ptr<TlsServerContext>> create(const TlsServerOptions& o,
                                                          std::string* why);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  const std::vector<uint8_t>& alpn_wire() const noexcept { return alpn_wire_; }

  // set_ech_keys replaces the ECH key set from an "ECH KEYS" PEM text
  // (every key is also a retry config). Connections already running keep
  // the old set. malformed / crypto_failure with |why|.
  Status set_ech_keys(std::string_view pem, std::string* why);
  // ech_retry_configs: the ECHConfigList clients should use (what DNS
  // would publish); empty without ECH.
  const std::vector<uint8_t>& ech_retry_configs() const noexcept { return ech_retry_; }

  // select_certificate is the SNI hook (internal): sets the chain of the
  // first entry matching |sni| on |ssl|; the context default otherwise.
  bool select_certificate(SSL* ssl, std::string_view sni) const noexcept;

 private:
  TlsServerContext() = default;
  SSL_CTX* ctx_ = nullptr;
  std::vector<uint8_t> alpn_wire_;
  std::vector<CertifiedKey> sni_keys_;
  std::vector<uint8_t> ech_retry_;
};

// load_certified_key reads a chain and key from inline PEM or files
// (internal, exposed for tests). |field| prefixes error details.
Result<CertifiedKey> load_certified_key(const TlsCertificateOptions& o, std::string* why);
void free_certified_key(CertifiedKey& k) noexcept;

}  // namespace sluice::tls

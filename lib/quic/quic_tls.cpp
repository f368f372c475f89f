// quic_tls.cpp: BoringSSL's QUIC method feeding ngtcp2 (RFC 9001 §4, §8).
#include "quic/quic_tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/hpke.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/file.hpp"
#include "crypto/tls_ech.hpp"
#include "crypto/tls_session_cache.hpp"
#include "quic/quic_crypto.hpp"
#include "sluice/log.hpp"

namespace sluice::quic {

namespace {

ngtcp2_crypto_level level_of(ssl_encryption_level_t l) noexcept {
  switch (l) {
    case ssl_encryption_initial:
      return NGTCP2_CRYPTO_LEVEL_INITIAL;
    case ssl_encryption_early_data:
      return NGTCP2_CRYPTO_LEVEL_EARLY;
    case ssl_encryption_handshake:
      return NGTCP2_CRYPTO_LEVEL_HANDSHAKE;
    case ssl_encryption_application:
      return NGTCP2_CRYPTO_LEVEL_APPLICATION;
  }
  return NGTCP2_CRYPTO_LEVEL_INITIAL;
}

ssl_encryption_level_t ssl_level_of(ngtcp2_crypto_level l) noexcept {
  switch (l) {
    case NGTCP2_CRYPTO_LEVEL_INITIAL:
      return ssl_encryption_initial;
    case NGTCP2_CRYPTO_LEVEL_EARLY:
      return ssl_encryption_early_data;
    case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
      return ssl_encryption_handshake;
    default:
      return ssl_encryption_application;
  }
}

TlsBinding* binding_of(SSL* ssl) noexcept {
  return static_cast<TlsBinding*>(SSL_get_app_data(ssl));
}

// set_local_params encodes ngtcp2's local transport parameters into the
// TLS extension (RFC 9000 §18, RFC 9001 §8.2).
bool set_local_params(TlsBinding& b) noexcept {
  uint8_t buf[512];
  ngtcp2_ssize n = ngtcp2_conn_encode_local_transport_params(b.conn, buf, sizeof buf);
  if (n < 0) return false;
  return SSL_set_quic_transport_params(b.ssl, buf, static_cast<size_t>(n)) == 1;
}

// set_remote_params decodes the peer's transport parameters into ngtcp2,
// once. A server told to assume a max_datagram_frame_size rewrites an absent
// one first (re-encoding is the only way in 0.12.1: the connection takes
// the parameters only in their wire form).
bool set_remote_params(TlsBinding& b) noexcept {
  if (b.remote_params_set) return true;
  const uint8_t* tp = nullptr;
  size_t tplen = 0;
  SSL_get_peer_quic_transport_params(b.ssl, &tp, &tplen);
  const bool server = ngtcp2_conn_is_server(b.conn) != 0;
  int rv;
  if (b.assume_peer_max_datagram_frame_size != 0) {
    const auto type = server ? NGTCP2_TRANSPORT_PARAMS_TYPE_CLIENT_HELLO
                             : NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS;
    ngtcp2_transport_params p;
    rv = ngtcp2_decode_transport_params_versioned(NGTCP2_TRANSPORT_PARAMS_VERSION, &p, type, tp,
                                                  tplen);
    if (rv == 0 && p.max_datagram_frame_size == 0) {
      p.max_datagram_frame_size = b.assume_peer_max_datagram_frame_size;
      uint8_t buf[1024];
      ngtcp2_ssize n = ngtcp2_encode_transport_params_versioned(
          buf, sizeof buf, type, NGTCP2_TRANSPORT_PARAMS_VERSION, &p);
      if (n < 0) return false;
      rv = ngtcp2_conn_decode_remote_transport_params(b.conn, buf, static_cast<size_t>(n));
    } else if (rv == 0) {
      rv = ngtcp2_conn_decode_remote_transport_params(b.conn, tp, tplen);
    }
  } else {
    rv = ngtcp2_conn_decode_remote_transport_params(b.conn, tp, tplen);
  }
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(b.conn, rv);
    return false;
  }
  b.remote_params_set = true;
  return true;
}

int set_secret(SSL* ssl, ssl_encryption_level_t level, const SSL_CIPHER* cipher,
               const uint8_t* secret, size_t len, KeyDirection dir) {
  TlsBinding* b = binding_of(ssl);
  const Suite* s = suite_from_tls_id(static_cast<uint16_t>(SSL_CIPHER_get_id(cipher)));
  if (b == nullptr || s == nullptr) return 0;
  const bool server = ngtcp2_conn_is_server(b->conn) != 0;
  const ngtcp2_crypto_level l = level_of(level);
  // 0-RTT keys only go one way: the client writes, the server reads.
  if (l == NGTCP2_CRYPTO_LEVEL_EARLY && (server != (dir == KeyDirection::rx))) return 1;
  // The server has processed the ClientHello when it gets 0-RTT or handshake keys.
  if (server && (l == NGTCP2_CRYPTO_LEVEL_HANDSHAKE || l == NGTCP2_CRYPTO_LEVEL_EARLY) &&
      !set_remote_params(*b))
    return 0;
  // The client has read EncryptedExtensions by the time it reads 1-RTT.
  if (!server && l == NGTCP2_CRYPTO_LEVEL_APPLICATION && dir == KeyDirection::rx &&
      !set_remote_params(*b))
    return 0;
  if (install_traffic_key(b->conn, l, dir, *s, {secret, len}) != 0) return 0;
  // The server's EncryptedExtensions go out right after its handshake
  // write key is set, carrying our parameters (as ngtcp2's own helpers do).
  if (server && l == NGTCP2_CRYPTO_LEVEL_HANDSHAKE && dir == KeyDirection::tx &&
      !set_local_params(*b))
    return 0;
  return 1;
}

int set_read_secret(SSL* ssl, ssl_encryption_level_t level, const SSL_CIPHER* cipher,
                    const uint8_t* secret, size_t len) {
  return set_secret(ssl, level, cipher, secret, len, KeyDirection::rx);
}

int set_write_secret(SSL* ssl, ssl_encryption_level_t level, const SSL_CIPHER* cipher,
                     const uint8_t* secret, size_t len) {
  return set_secret(ssl, level, cipher, secret, len, KeyDirection::tx);
}

int add_handshake_data(SSL* ssl, ssl_encryption_level_t level, const uint8_t* data, size_t len) {
  TlsBinding* b = binding_of(ssl);
  // ngtcp2 copies the bytes into its CRYPTO stream.
  int rv = ngtcp2_conn_submit_crypto_data(b->conn, level_of(level), data, len);
  if (rv != 0) {
    ngtcp2_conn_set_tls_error(b->conn, rv);
    return 0;
  }
  return 1;
}

int flush_flight(SSL*) { return 1; }  // the connection writes after every read anyway

int send_alert(SSL* ssl, ssl_encryption_level_t, uint8_t alert) {
  // ngtcp2 turns it into CONNECTION_CLOSE with CRYPTO_ERROR 0x100+alert
  // (RFC 9001 §4.8) when the connection is closed.
  ngtcp2_conn_set_tls_alert(binding_of(ssl)->conn, alert);
  return 1;
}

const SSL_QUIC_METHOD kQuicMethod = {set_read_secret, set_write_secret, add_handshake_data,
                                     flush_flight, send_alert};

// drive_handshake runs SSL_do_handshake and tells ngtcp2 when it completes.
int drive_handshake(ngtcp2_conn* conn, SSL* ssl) {
  for (;;) {
    int rv = SSL_do_handshake(ssl);
    if (rv <= 0) {
      int err = SSL_get_error(ssl, rv);
      switch (err) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
          return 0;
        case SSL_ERROR_EARLY_DATA_REJECTED: {
          // The server refused 0-RTT: ngtcp2 discards the 0-RTT streams
          // (the Connection first takes its streams back to re-send their
          // data as 1-RTT) and TLS restarts its handshake state.
          TlsBinding* b = binding_of(ssl);
          b->early_data_rejected = true;
          if (b->on_early_rejected) b->on_early_rejected(b->user);
          SSL_reset_early_data_reject(ssl);
          if (ngtcp2_conn_early_data_rejected(conn) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
          continue;
        }
        default: {
          TlsBinding* b = binding_of(ssl);
          b->tls_error = static_cast<int>(ERR_GET_REASON(ERR_peek_error()));
          char buf[160];
          ERR_error_string_n(ERR_peek_error(), buf, sizeof buf);
          SLUICE_LOG_DEBUG("quic: TLS handshake failed: %s", buf);
          ERR_clear_error();
          return NGTCP2_ERR_CRYPTO;
        }
      }
    }
    if (SSL_in_early_data(ssl)) return 0;  // client: 0-RTT accepted, handshake continues
    ngtcp2_conn_handshake_completed(conn);
    return 0;
  }
}

int client_initial_cb(ngtcp2_conn* conn, void*) {
  SSL* ssl = static_cast<SSL*>(ngtcp2_conn_get_tls_native_handle(conn));
  const ngtcp2_cid* dcid = ngtcp2_conn_get_dcid(conn);
  if (install_initial_keys(conn, {dcid->data, dcid->datalen}, false) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  if (!set_local_params(*binding_of(ssl))) return NGTCP2_ERR_CALLBACK_FAILURE;
  return drive_handshake(conn, ssl) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

int recv_client_initial_cb(ngtcp2_conn* conn, const ngtcp2_cid* dcid, void*) {
  return install_initial_keys(conn, {dcid->data, dcid->datalen}, true) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

int recv_retry_cb(ngtcp2_conn* conn, const ngtcp2_pkt_hd* hd, void*) {
  // RFC 9001 §5.2: after a Retry the Initial keys derive from the DCID the
  // client now uses, the Retry's Source Connection ID.
  return install_initial_keys(conn, {hd->scid.data, hd->scid.datalen}, false) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

int recv_crypto_data_cb(ngtcp2_conn* conn, ngtcp2_crypto_level level, uint64_t, const uint8_t* data,
                        size_t len, void*) {
  SSL* ssl = static_cast<SSL*>(ngtcp2_conn_get_tls_native_handle(conn));
  if (SSL_provide_quic_data(ssl, ssl_level_of(level), data, len) != 1) {
    ERR_clear_error();
    return NGTCP2_ERR_CRYPTO;
  }
  if (!ngtcp2_conn_get_handshake_completed(conn)) {
    int rv = drive_handshake(conn, ssl);
    if (rv != 0) return rv;
    if (!ngtcp2_conn_get_handshake_completed(conn)) return 0;
  }
  // Post-handshake messages: NewSessionTicket on the client.
  if (SSL_process_quic_post_handshake(ssl) != 1) {
    ERR_clear_error();
    return NGTCP2_ERR_CRYPTO;
  }
  return 0;
}

// --- certificate verification (shared with the TLS transport) ---------------

ssl_verify_result_t verify_cb(SSL* ssl, uint8_t* out_alert) {
  TlsBinding* b = binding_of(ssl);
  if (b == nullptr || b->ctx == nullptr || b->ctx->policy() == nullptr) return ssl_verify_invalid;
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  std::vector<std::span<const uint8_t>> chain;
  for (size_t i = 0; certs && i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    const CRYPTO_BUFFER* c = sk_CRYPTO_BUFFER_value(certs, i);
    chain.emplace_back(CRYPTO_BUFFER_data(c), CRYPTO_BUFFER_len(c));
  }
  // Under a rejected ECH the outer handshake authenticates the public name
  // (as lib/crypto/tls_connection does); the handshake then fails anyway.
  const char* name = nullptr;
  size_t name_len = 0;
  SSL_get0_ech_name_override(ssl, &name, &name_len);
  const std::string host =
      name_len > 0 ? std::string(name, name_len) : b->ctx->options().server_name;
  std::string why;
  const Errc e = b->ctx->policy()->verify(chain, host, &why);
  if (e == Errc::ok) return ssl_verify_ok;
  b->verify_error = e;
  b->verify_reason = e == Errc::pin_mismatch ? why : "certificate verify failed: " + why;
  *out_alert = why.find("expired") != std::string::npos ? SSL_AD_CERTIFICATE_EXPIRED
                                                        : SSL_AD_BAD_CERTIFICATE;
  return ssl_verify_invalid;
}

// --- tickets and the server's transport parameters ----------------------------

void free_early_params(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<EarlyTransportParams*>(ptr);
}

int early_params_index() {
  static const int idx =
      SSL_SESSION_get_ex_new_index(0, nullptr, nullptr, nullptr, free_early_params);
  return idx;
}

int new_session_cb(SSL* ssl, SSL_SESSION* s) {
  TlsBinding* b = binding_of(ssl);
  if (b == nullptr || b->cache == nullptr || b->conn == nullptr) return 0;
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(b->conn);
  if (rp != nullptr && SSL_SESSION_get_ex_data(s, early_params_index()) == nullptr) {
    auto* e = new (std::nothrow) EarlyTransportParams(remember_params(*rp));
    if (e && !SSL_SESSION_set_ex_data(s, early_params_index(), e)) delete e;
  }
  b->cache->put(b->cache_key, s, b->loop ? uv_now(b->loop) : 0);
  return 0;  // the cache took its own reference
}

bool is_ip_literal(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

EarlyTransportParams remember_params(const ngtcp2_transport_params& p) noexcept {
  EarlyTransportParams e;
  e.initial_max_streams_bidi = p.initial_max_streams_bidi;
  e.initial_max_streams_uni = p.initial_max_streams_uni;
  e.initial_max_stream_data_bidi_local = p.initial_max_stream_data_bidi_local;
  e.initial_max_stream_data_bidi_remote = p.initial_max_stream_data_bidi_remote;
  e.initial_max_stream_data_uni = p.initial_max_stream_data_uni;
  e.initial_max_data = p.initial_max_data;
  e.active_connection_id_limit = p.active_connection_id_limit;
  e.max_datagram_frame_size = p.max_datagram_frame_size;
  e.max_idle_timeout = p.max_idle_timeout;
  e.max_udp_payload_size = p.max_udp_payload_size;
  e.disable_active_migration = p.disable_active_migration != 0;
  return e;
}

void apply_early_params(ngtcp2_conn* conn, const EarlyTransportParams& e) noexcept {
  ngtcp2_transport_params p;
  ngtcp2_transport_params_default(&p);
  p.initial_max_streams_bidi = e.initial_max_streams_bidi;
  p.initial_max_streams_uni = e.initial_max_streams_uni;
  p.initial_max_stream_data_bidi_local = e.initial_max_stream_data_bidi_local;
  p.initial_max_stream_data_bidi_remote = e.initial_max_stream_data_bidi_remote;
  p.initial_max_stream_data_uni = e.initial_max_stream_data_uni;
  p.initial_max_data = e.initial_max_data;
  p.active_connection_id_limit = e.active_connection_id_limit;
  p.max_datagram_frame_size = e.max_datagram_frame_size;
  p.max_idle_timeout = e.max_idle_timeout;
  p.max_udp_payload_size = e.max_udp_payload_size;
  p.disable_active_migration = e.disable_active_migration ? 1 : 0;
  ngtcp2_conn_set_early_remote_transport_params(conn, &p);
}

const EarlyTransportParams* session_early_params(SSL_SESSION* s) noexcept {
  return static_cast<const EarlyTransportParams*>(SSL_SESSION_get_ex_data(s, early_params_index()));
}

int alpn_select_cb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                   unsigned inlen, void* arg) {
  auto* ctx = static_cast<QuicTlsContext*>(arg);
  // Our order wins (SSL_select_next_proto walks the first list given).
  uint8_t* sel = nullptr;
  uint8_t sel_len = 0;
  if (SSL_select_next_proto(&sel, &sel_len, ctx->alpn_wire_.data(),
                            static_cast<unsigned>(ctx->alpn_wire_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    // RFC 9001 §8.1: no common protocol is a no_application_protocol alert.
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = sel;
  *outlen = sel_len;
  return SSL_TLSEXT_ERR_OK;
}

Result<std::unique_ptr<QuicTlsContext>> QuicTlsContext::create(const QuicTlsOptions& o,
                                                               std::string* error) {
  auto fail = [&](const char* what) -> Errc {
    if (error) {
      char buf[200];
      ERR_error_string_n(ERR_peek_error(), buf, sizeof buf);
      *error = std::string(what) + ": " + buf;
    }
    ERR_clear_error();
    return Errc::crypto_failure;
  };
  std::unique_ptr<QuicTlsContext> c(new (std::nothrow) QuicTlsContext(o));
  if (!c) return Errc::no_memory;
  if (o.alpn.empty()) {
    if (error) *error = "QUIC needs at least one ALPN protocol";
    return Errc::invalid_argument;
  }
  for (const auto& p : o.alpn) {
    if (p.empty() || p.size() > 255) return Errc::invalid_argument;
    c->alpn_wire_.push_back(static_cast<uint8_t>(p.size()));
    c->alpn_wire_.insert(c->alpn_wire_.end(), p.begin(), p.end());
  }
  c->ctx_ = SSL_CTX_new(TLS_method());
  if (!c->ctx_) return fail("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_3_VERSION);  // RFC 9001 §4.2
  SSL_CTX_set_max_proto_version(c->ctx_, TLS1_3_VERSION);
  if (o.enable_early_data) SSL_CTX_set_early_data_enabled(c->ctx_, 1);
  if (o.server) {
    SSL_CTX_set_alpn_select_cb(c->ctx_, alpn_select_cb, c.get());
    BIO* bio = BIO_new_mem_buf(o.cert_pem.data(), static_cast<int>(o.cert_pem.size()));
    X509* leaf = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    bool ok = leaf && SSL_CTX_use_certificate(c->ctx_, leaf) == 1;
    X509_free(leaf);
    while (ok) {  // the rest of the chain, if any
      X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      if (!extra) break;
      if (SSL_CTX_add_extra_chain_cert(c->ctx_, extra) != 1) {
        X509_free(extra);
        ok = false;
      }
    }
    ERR_clear_error();  // the end-of-file of the loop above
    BIO_free(bio);
    if (!ok) return fail("certificate");
    bio = BIO_new_mem_buf(o.key_pem.data(), static_cast<int>(o.key_pem.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    ok = key && SSL_CTX_use_PrivateKey(c->ctx_, key) == 1;
    EVP_PKEY_free(key);
    if (!ok || SSL_CTX_check_private_key(c->ctx_) != 1) return fail("private key");
    if (!o.ech_keys_pem.empty()) {
      std::string why;
      auto keys = tls::parse_ech_keys(o.ech_keys_pem, &why);
      if (!keys) {
        if (error) *error = "ech keys: " + why;
        return keys.error();
      }
      bssl::UniquePtr<SSL_ECH_KEYS> set(SSL_ECH_KEYS_new());
      if (!set) return Errc::no_memory;
      for (const tls::EchKey& k : *keys) {
        bssl::ScopedEVP_HPKE_KEY hk;
        if (!EVP_HPKE_KEY_init(hk.get(), EVP_hpke_x25519_hkdf_sha256(), k.private_key.data(),
                               k.private_key.size()) ||
            !SSL_ECH_KEYS_add(set.get(), /*is_retry_config=*/1, k.config.data(), k.config.size(),
                              hk.get()))
          return fail("ech keys");
      }
      if (!SSL_CTX_set1_ech_keys(c->ctx_, set.get())) return fail("ech keys");
    }
  } else {
    // The TLS transport's verifier (custom verify hook -> VerifyPolicy).
    if (o.policy) {
      c->policy_ = o.policy;
    } else {
      std::string ca = o.ca_pem;
      if (ca.empty() && !o.ca_file.empty() && !read_file(o.ca_file, &ca)) {
        if (error) *error = "ca_file: cannot read " + o.ca_file;
        return Errc::config_invalid;
      }
      std::string why;
      auto p =
          tls::VerifyPolicy::create(!o.verify_peer, ca, o.spki_pins_b64, o.cert_pins_hex, &why);
      if (!p) {
        if (error) *error = why;
        return p.error();
      }
      c->policy_ = std::move(*p);
    }
    SSL_CTX_set_custom_verify(c->ctx_, SSL_VERIFY_PEER, verify_cb);
    // Tickets go to the Connection's cache (TlsBinding), not BoringSSL's.
    SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(c->ctx_, new_session_cb);
    if (!o.ech_config_list.empty()) {
      std::string why;
      auto filtered = tls::filter_ech_config_list(o.ech_config_list, &why);
      if (!filtered) {
        if (error) *error = "ech config: " + why;
        return Errc::config_invalid;
      }
      c->opts_.ech_config_list = std::move(*filtered);
    }
  }
  return c;
}

QuicTlsContext::~QuicTlsContext() { SSL_CTX_free(ctx_); }

std::string QuicTlsContext::session_key(std::string_view host, uint16_t port) const {
  return tls::TlsSessionCache::key(std::string("quic:").append(host), port, opts_.server_name,
                                   opts_.alpn, policy_ ? policy_->id() : std::string());
}

SSL* new_quic_ssl(const QuicTlsContext& ctx, TlsBinding& b) noexcept {
  SSL* ssl = SSL_new(ctx.native());
  if (!ssl) return nullptr;
  b.ssl = ssl;
  b.ctx = &ctx;
  SSL_set_app_data(ssl, &b);
  bool ok = SSL_set_quic_method(ssl, &kQuicMethod) == 1;
  SSL_set_quic_use_legacy_codepoint(ssl, 0);  // 57, RFC 9001 §8.2
  const QuicTlsOptions& o = ctx.options();
  if (ok && o.server) {
    SSL_set_accept_state(ssl);
    if (o.enable_early_data) {
      // BoringSSL refuses 0-RTT in QUIC without an early-data context; it
      // holds our limits (the Connection encodes them), so a ticket issued
      // under larger limits than today's gets no 0-RTT (RFC 9000 §7.4.1).
      static const uint8_t kCtx[] = "sluice-quic-0rtt-v1";
      const std::vector<uint8_t>& ec = b.early_data_context;
      ok = ec.empty() ? SSL_set_quic_early_data_context(ssl, kCtx, sizeof kCtx - 1) == 1
                      : SSL_set_quic_early_data_context(ssl, ec.data(), ec.size()) == 1;
    }
  } else if (ok) {
    SSL_set_connect_state(ssl);
    std::vector<uint8_t> wire;
    for (const auto& p : o.alpn) {
      wire.push_back(static_cast<uint8_t>(p.size()));
      wire.insert(wire.end(), p.begin(), p.end());
    }
    ok = SSL_set_alpn_protos(ssl, wire.data(), wire.size()) == 0;  // 0 is success here
    // The name check is VerifyPolicy's (verify_cb); no SNI for IP literals.
    if (ok && !o.server_name.empty() && !is_ip_literal(o.server_name))
      ok = SSL_set_tlsext_host_name(ssl, o.server_name.c_str()) == 1;
    if (ok && !o.ech_config_list.empty())
      ok = SSL_set1_ech_config_list(ssl, o.ech_config_list.data(), o.ech_config_list.size()) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    SSL_free(ssl);
    b.ssl = nullptr;
    return nullptr;
  }
  return ssl;
}

void set_tls_callbacks(ngtcp2_callbacks& cb) noexcept {
  cb.client_initial = client_initial_cb;
  cb.recv_client_initial = recv_client_initial_cb;
  cb.recv_crypto_data = recv_crypto_data_cb;
  cb.recv_retry = recv_retry_cb;
}

std::string negotiated_alpn(SSL* ssl) {
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

Status export_keying_material(SSL* ssl, std::span<uint8_t> out, std::string_view label,
                              std::span<const uint8_t> context) noexcept {
  if (SSL_export_keying_material(ssl, out.data(), out.size(), label.data(), label.size(),
                                 context.data(), context.size(), 1) != 1) {
    ERR_clear_error();
    return Errc::crypto_failure;
  }
  return {};
}

}  // namespace sluice::quic

// tls_connection.cpp: libssl over a Chain-backed BIO.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_connection.hpp"

#include <openssl/bio.h>
#include <openssl/cipher.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <climits>

namespace sluice::tls {
namespace {

int bio_read_cb(BIO* b, char* out, int len) {
  return static_cast<TlsConnection*>(BIO_get_data(b))->bio_read(out, len);
}
int bio_write_cb(BIO* b, const char* in, int len) {
  return static_cast<TlsConnection*>(BIO_get_data(b))->bio_write(in, len);
}
long bio_ctrl_cb(BIO*, int cmd, long, void*) {
  // libssl flushes after every flight; the bytes are already queued.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}
int bio_create_cb(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}
int bio_destroy_cb(BIO*) { return 1; }

const BIO_METHOD* chain_bio_method() {
  // Built once per process; BIO_METHOD is immutable after setup.
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(0, "sluice chain");
    BIO_meth_set_write(m, bio_write_cb);
    BIO_meth_set_read(m, bio_read_cb);
    BIO_meth_set_ctrl(m, bio_ctrl_cb);
    BIO_meth_set_create(m, bio_create_cb);
    BIO_meth_set_destroy(m, bio_destroy_cb);
    return m;
  }();
  return method;
}

int new_session_cb(SSL* ssl, SSL_SESSION* s) {
  if (TlsConnection* c = TlsConnection::from(ssl)) c->on_new_session(s);
  return 0;  // the cache took its own reference
}

void info_cb(const SSL* ssl, int where, int ret) {
  if (!(where & SSL_CB_ALERT)) return;
  if (TlsConnection* c = TlsConnection::from(ssl)) c->on_alert(where & SSL_CB_READ, ret & 0xff);
}

ssl_verify_result_t verify_cb(SSL* ssl, uint8_t* out_alert) {
  TlsConnection* c = TlsConnection::from(ssl);
  if (!c) return ssl_verify_invalid;
  return c->verify_peer(out_alert) ? ssl_verify_ok : ssl_verify_invalid;
}

// error_words turns BoringSSL's reason identifier into words:
// "CERTIFICATE_VERIFY_FAILED" -> "certificate verify failed".
std::string error_words(uint32_t packed) {
  const char* r = ERR_reason_error_string(packed);
  if (r == nullptr) return "error " + std::to_string(ERR_GET_REASON(packed));
  std::string s;
  for (const char* p = r; *p; ++p)
    s.push_back(*p == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  return s;
}

}  // namespace

void install_client_hooks(SSL_CTX* ctx) noexcept {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  SSL_CTX_set_info_callback(ctx, info_cb);
  SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, verify_cb);
}

void install_server_hooks(SSL_CTX* ctx) noexcept { SSL_CTX_set_info_callback(ctx, info_cb); }

TlsConnection* TlsConnection::from(const SSL* ssl) noexcept {
  return static_cast<TlsConnection*>(SSL_get_app_data(ssl));
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::client(
    std::shared_ptr<const TlsClientContext> ctx, BufferPool& pool, TlsClientParams params) {
  std::unique_ptr<TlsConnection> c(new (std::nothrow) TlsConnection(pool));
  if (!c) return Errc::no_memory;
  c->client_ctx_ = std::move(ctx);
  c->cache_ = params.cache;
  c->cache_key_ = std::move(params.cache_key);
  c->now_ms_ = params.now_ms;
  SLUICE_TRY(c->init_ssl(c->client_ctx_->native()));
  SSL* ssl = c->ssl_;
  const TlsClientContext& cx = *c->client_ctx_;
  SSL_set_connect_state(ssl);
  if (cx.send_sni() && !SSL_set_tlsext_host_name(ssl, cx.server_name().c_str()))
    return Errc::invalid_argument;
  if (!cx.alpn_wire().empty() &&
      SSL_set_alpn_protos(ssl, cx.alpn_wire().data(), cx.alpn_wire().size()) != 0)
    return Errc::no_memory;
  const std::vector<uint8_t>& ech =
      params.ech_config_list.empty() ? cx.ech_config_list() : params.ech_config_list;
  if (!ech.empty()) {
    if (!SSL_set1_ech_config_list(ssl, ech.data(), ech.size())) {
      ERR_clear_error();
      c->reason_ = "ECH config list rejected by BoringSSL";
      return Errc::config_invalid;
    }
  } else if (cx.ech_grease()) {
    SSL_set_enable_ech_grease(ssl, 1);
  }
  if (c->cache_ != nullptr) {
    if (SSL_SESSION* s = c->cache_->take(c->cache_key_, c->now_ms_)) {
      SSL_set_session(ssl, s);
      SSL_SESSION_free(s);
    }
  }
  return c;
}

Result<std::unique_ptr<TlsConnection>> TlsConnection::server(std::shared_ptr<TlsServerContext> ctx,
                                                             BufferPool& pool) {
  std::unique_ptr<TlsConnection> c(new (std::nothrow) TlsConnection(pool));
  if (!c) return Errc::no_memory;
  c->server_ctx_ = std::move(ctx);
  SLUICE_TRY(c->init_ssl(c->server_ctx_->native()));
  SSL_set_accept_state(c->ssl_);
  return c;
}

Status TlsConnection::init_ssl(SSL_CTX* ctx) noexcept {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return Errc::no_memory;
  SSL_set_app_data(ssl_, this);
  BIO* bio = BIO_new(chain_bio_method());
  if (!bio) return Errc::no_memory;
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, shared by both directions
  // Free the handshake configuration once it is done: less idle memory.
  SSL_set_shed_handshake_config(ssl_, 1);
  return {};
}

TlsConnection::~TlsConnection() {
  if (ssl_) {
    SSL_set_app_data(ssl_, nullptr);
    SSL_free(ssl_);
  }
}

Status TlsConnection::feed(Slice&& raw) noexcept { return raw_in_.push_back(std::move(raw)); }

int TlsConnection::bio_read(char* out, int len) noexcept {
  BIO* b = SSL_get_rbio(ssl_);
  BIO_clear_retry_flags(b);
  if (raw_in_.empty()) {
    if (raw_eof_) return 0;
    BIO_set_retry_read(b);
    return -1;
  }
  const size_t n = raw_in_.copy_out(out, static_cast<size_t>(len));
  raw_in_.advance(n);
  return static_cast<int>(n);
}

int TlsConnection::bio_write(const char* in, int len) noexcept {
  size_t left = static_cast<size_t>(len);
  while (left > 0) {
    if (out_tail_.empty() || out_tail_.tailroom() == 0 || !out_tail_.unique()) {
      if (!out_tail_.empty()) (void)output_.push_back(std::move(out_tail_));
      // Bulk writes come as 16 KiB records: gather several in one 64 KiB
      // chunk (fewer iovecs per socket write); handshake flights fit 16 KiB.
      auto s = pool_.get(left >= 8192 ? SizeClass::k64K : SizeClass::k16K);
      if (!s) {
        // BoringSSL sees a failed write; fail_from names the real cause.
        out_of_buffers_ = true;
        return -1;
      }
      out_tail_ = std::move(*s);
    }
    const size_t n = std::min(left, out_tail_.tailroom());
    std::memcpy(out_tail_.append(n), in, n);
    in += n;
    left -= n;
  }
  return len;
}

Chain TlsConnection::take_output() noexcept {
  if (!out_tail_.empty()) (void)output_.push_back(std::move(out_tail_));
  return std::move(output_);
}

void TlsConnection::on_new_session(SSL_SESSION* s) noexcept {
  if (cache_ != nullptr && !cache_key_.empty()) cache_->put(cache_key_, s, now_ms_);
}

void TlsConnection::on_alert(bool received, int value) noexcept {
  if (received) peer_alert_ = value;
}

int TlsConnection::verify_peer(uint8_t* out_alert) noexcept {
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl_);
  std::vector<std::span<const uint8_t>> chain;
  for (size_t i = 0; certs && i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    const CRYPTO_BUFFER* b = sk_CRYPTO_BUFFER_value(certs, i);
    chain.emplace_back(CRYPTO_BUFFER_data(b), CRYPTO_BUFFER_len(b));
  }
  // Under a rejected ECH the outer handshake authenticates the public name
  // (ech.md 3 step 5); the connection then fails with ECH_REJECTED anyway.
  const char* name = nullptr;
  size_t name_len = 0;
  SSL_get0_ech_name_override(ssl_, &name, &name_len);
  const std::string host = name_len > 0 ? std::string(name, name_len) : client_ctx_->server_name();
  std::string why;
  const Errc e = client_ctx_->policy().verify(chain, host, &why);
  if (e == Errc::ok) return 1;
  verify_error_ = e;
  verify_reason_ = e == Errc::pin_mismatch ? why : "certificate verify failed: " + why;
  *out_alert = why.find("expired") != std::string::npos ? SSL_AD_CERTIFICATE_EXPIRED
                                                        : SSL_AD_BAD_CERTIFICATE;
  return 0;
}

Errc TlsConnection::fail_from(int ret) noexcept {
  const int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    return Errc::eof;
  }
  failed_ = true;
  uint32_t packed = ERR_peek_error();
  if (verify_error_ != Errc::ok) {
    error_ = verify_error_;
    reason_ = verify_reason_;
  } else if (out_of_buffers_) {
    error_ = Errc::no_memory;
    reason_ = pool_.max_bytes() != 0
                  ? "buffer pool cap reached (pool_max_bytes " + std::to_string(pool_.max_bytes()) +
                        ") writing TLS output"
                  : "out of memory for TLS output";
  } else if (err == SSL_ERROR_SYSCALL || (err == SSL_ERROR_SSL && packed == 0)) {
    // The raw stream ended (the BIO returned 0) in the middle of a record
    // or the handshake.
    error_ = done_ ? Errc::eof : Errc::tls_handshake_failed;
    truncated_ = true;
    reason_ = done_ ? "connection closed inside a TLS record"
                    : "connection closed during the TLS handshake";
  } else if (ERR_GET_LIB(packed) == ERR_LIB_SSL && ERR_GET_REASON(packed) == SSL_R_ECH_REJECTED) {
    error_ = Errc::ech_rejected;
    const uint8_t* rc = nullptr;
    size_t rc_len = 0;
    SSL_get0_ech_retry_configs(ssl_, &rc, &rc_len);
    ech_retry_.assign(rc, rc + rc_len);
    reason_ = rc_len > 0 ? "ECH rejected by the server (it sent retry configs)"
                         : "ECH rejected by the server without retry configs (ECH disabled "
                           "there); not retrying with the real server name in clear";
  } else {
    std::string what = error_words(packed);
    if (peer_alert_ >= 0) {
      error_ = Errc::tls_alert;
      what = std::string("peer sent alert \"") + SSL_alert_desc_string_long(peer_alert_) + "\" (" +
             std::to_string(peer_alert_) + ")";
    } else if ((ERR_GET_LIB(packed) == ERR_LIB_SSL &&
                ERR_GET_REASON(packed) == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC) ||
               (ERR_GET_LIB(packed) == ERR_LIB_CIPHER &&
                ERR_GET_REASON(packed) == CIPHER_R_BAD_DECRYPT)) {
      // A record that does not authenticate (TLS 1.3 reports the AEAD's
      // BAD_DECRYPT).
      error_ = Errc::decrypt_failed;
    } else {
      error_ = done_ ? Errc::protocol_violation : Errc::tls_handshake_failed;
    }
    reason_ = (done_ ? "TLS: " : "TLS handshake failed: ") + what;
  }
  ERR_clear_error();
  return error_;
}

HandshakeProgress TlsConnection::handshake() noexcept {
  if (done_) return HandshakeProgress::done;
  if (failed_) return HandshakeProgress::failed;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    return HandshakeProgress::done;
  }
  if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) return HandshakeProgress::in_progress;
  if (fail_from(r) == Errc::eof) {
    failed_ = true;
    error_ = Errc::tls_handshake_failed;
    reason_ = "peer closed the TLS session during the handshake";
  }
  return HandshakeProgress::failed;
}

size_t TlsConnection::next_read_size() const noexcept {
  // A short record (a request, an interactive reply) gets a 2 KiB chunk
  // rather than 16 KiB; the declared record length bounds its plaintext.
  if (raw_in_.size() >= 5) {
    uint8_t h[5];
    raw_in_.copy_out(h, 5);
    const size_t len = (size_t{h[3]} << 8) | h[4];
    if (h[0] == 23 && len <= kClassPayload[0]) return kClassPayload[0];
  }
  return kClassPayload[1];
}

Result<Slice> TlsConnection::read() noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  const size_t pending = pending_plaintext();
  const size_t want = pending > 0 ? std::min(pending, kClassPayload[1]) : next_read_size();
  auto s = pool_.get(want);
  if (!s) return s.error();
  uint8_t* p = s->append(want);
  const int n = SSL_read(ssl_, p, static_cast<int>(want));
  if (n > 0) {
    s->truncate(static_cast<size_t>(n));
    return std::move(*s);
  }
  if (SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ) {
    if (raw_eof_ && raw_in_.empty()) {
      // The peer closed TCP without close_notify: common (trojan-gfw, Go
      // servers closing hard); reported as end-of-stream, flagged truncated.
      truncated_ = true;
      return Errc::eof;
    }
    return Slice();
  }
  const Errc e = fail_from(n);
  if (e == Errc::eof && truncated_) failed_ = false;  // raw EOF between records
  return e;
}

Result<size_t> TlsConnection::read_into(std::span<uint8_t> out) noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  size_t got = 0;
  while (got < out.size()) {
    const int want = static_cast<int>(std::min<size_t>(out.size() - got, INT_MAX));
    const int n = SSL_read(ssl_, out.data() + got, want);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ) {
      if (got == 0 && raw_eof_ && raw_in_.empty()) {
        truncated_ = true;
        return Errc::eof;
      }
      return got;
    }
    if (got > 0) {
      // Deliver what was opened; the error comes back on the next call.
      ERR_clear_error();
      return got;
    }
    const Errc e = fail_from(n);
    if (e == Errc::eof && truncated_) failed_ = false;
    return e;
  }
  return got;
}

bool TlsConnection::record_ready() const noexcept {
  // BoringSSL may hold the start of a record it tried to read (SSL_has_pending):
  // then only it knows how much is missing, so say yes.
  if (pending_plaintext() > 0 || raw_eof_ || SSL_has_pending(ssl_)) return true;
  if (raw_in_.size() < 5) return false;
  uint8_t h[5];
  raw_in_.copy_out(h, 5);
  return raw_in_.size() >= 5 + ((size_t{h[3]} << 8) | h[4]);
}

size_t TlsConnection::pending_plaintext() const noexcept {
  return static_cast<size_t>(std::max(0, SSL_pending(ssl_)));
}

Result<Slice> TlsConnection::read_pending_plaintext() noexcept {
  const size_t pending = pending_plaintext();
  if (pending == 0) return Slice();
  return read();
}

Status TlsConnection::write(std::span<const uint8_t> plain) noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  while (!plain.empty()) {
    const int chunk = static_cast<int>(std::min<size_t>(plain.size(), INT_MAX / 2));
    const int n = SSL_write(ssl_, plain.data(), chunk);
    if (n <= 0) return fail_from(n);
    plain = plain.subspan(static_cast<size_t>(n));
  }
  return {};
}

Status TlsConnection::send_close_notify() noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  const int r = SSL_shutdown(ssl_);
  if (r < 0) return fail_from(r);
  return {};
}

std::string TlsConnection::alpn() const {
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

std::string TlsConnection::server_name() const {
  const char* n = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return n ? n : "";
}

bool TlsConnection::ech_accepted() const noexcept { return SSL_ech_accepted(ssl_) == 1; }
bool TlsConnection::session_reused() const noexcept { return SSL_session_reused(ssl_) == 1; }
const char* TlsConnection::version() const noexcept { return SSL_get_version(ssl_); }
const char* TlsConnection::cipher() const noexcept {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return c ? SSL_CIPHER_get_name(c) : "";
}

}  // namespace sluice::tls

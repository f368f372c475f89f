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
#include <cstdio>

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

// Limits of the in-place path, as BoringSSL's own record layer has them
// (ssl/internal.h kMaxEmptyRecords, kMaxKeyUpdates): a peer cannot keep the
// loop busy with records that carry nothing.
constexpr uint8_t kMaxEmptyRecords = 32;
constexpr uint8_t kMaxKeyUpdates = 32;
// kMaxPostHandshakeMessage bounds a NewSessionTicket or KeyUpdate being
// reassembled across records (BoringSSL accepts tickets up to about 16 KiB).
constexpr size_t kMaxPostHandshakeMessage = 65536;

// Handshake message types after the handshake (RFC 8446 section 4).
constexpr uint8_t kNewSessionTicket = 4;
constexpr uint8_t kKeyUpdate = 24;

// Alert descriptions sent on the in-place path (RFC 8446 section 6).
constexpr uint8_t kAlertCloseNotify = 0;
constexpr uint8_t kAlertUnexpectedMessage = 10;
constexpr uint8_t kAlertBadRecordMac = 20;
constexpr uint8_t kAlertRecordOverflow = 22;
constexpr uint8_t kAlertIllegalParameter = 47;
constexpr uint8_t kAlertDecodeError = 50;
constexpr uint8_t kAlertProtocolVersion = 70;
constexpr uint8_t kAlertInternalError = 80;
constexpr uint8_t kAlertUserCanceled = 90;

// out_class picks the smallest pool class whose payload plus tailroom holds
// |want| bytes (a full record, 16 KiB + 22, still fits a 16 KiB block).
SizeClass out_class(size_t want) noexcept {
  if (want <= kClassPayload[0] + kTailroom) return SizeClass::k2K;
  if (want <= kClassPayload[1] + kTailroom) return SizeClass::k16K;
  return SizeClass::k64K;
}

// sealed_size: the wire bytes of |n| bytes of content cut into full records.
size_t sealed_size(size_t n) noexcept {
  const size_t records =
      std::max<size_t>(1, (n + tls::kMaxPlaintextLen - 1) / tls::kMaxPlaintextLen);
  return n + records * tls::kRecordOverhead;
}

std::string hex16(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04x", v & 0xffff);
  return b;
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

Status TlsConnection::feed(Slice&& raw) noexcept {
  return raw_in_.push_back_compact(std::move(raw));
}

int TlsConnection::bio_read(char* out, int len) noexcept {
  BIO* b = SSL_get_rbio(ssl_);
  BIO_clear_retry_flags(b);
  // On the in-place path BoringSSL reads only the post-handshake messages
  // re-sealed for it (forward_to_boringssl), never the peer's bytes.
  Chain& src = in_place_ ? to_bssl_ : raw_in_;
  if (src.empty()) {
    if (raw_eof_ && !in_place_) return 0;
    BIO_set_retry_read(b);
    return -1;
  }
  const size_t n = src.copy_out(out, static_cast<size_t>(len));
  src.advance(n);
  return static_cast<int>(n);
}

int TlsConnection::bio_write(const char* in, int len) noexcept {
  // After the switch BoringSSL's write sequence number is not the wire's:
  // what it would send (an alert about a bad forwarded message) is dropped,
  // and fail_record sends the alert itself.
  if (in_place_) return len;
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
  // (draft-ietf-tls-esni-22 section 6.1.6); the connection then fails with ECH_REJECTED anyway.
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
    enter_in_place();
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
  if (in_place_) return read_in_place();
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
  if (in_place_) return read_into_in_place(out);
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
  if (in_place_) {
    if (!plain_pending_.empty() || raw_eof_ || close_notify_received_ || failed_) return true;
    if (raw_in_.size() < tls::kRecordHeaderLen) return false;
    uint8_t h[tls::kRecordHeaderLen];
    raw_in_.copy_out(h, sizeof h);
    return raw_in_.size() >= sizeof h + ((size_t{h[3]} << 8) | h[4]);
  }
  // BoringSSL may hold the start of a record it tried to read (SSL_has_pending):
  // then only it knows how much is missing, so say yes.
  if (pending_plaintext() > 0 || raw_eof_ || SSL_has_pending(ssl_)) return true;
  if (raw_in_.size() < 5) return false;
  uint8_t h[5];
  raw_in_.copy_out(h, 5);
  return raw_in_.size() >= 5 + ((size_t{h[3]} << 8) | h[4]);
}

size_t TlsConnection::pending_plaintext() const noexcept {
  if (in_place_) return plain_pending_.size();
  return static_cast<size_t>(std::max(0, SSL_pending(ssl_)));
}

Result<Slice> TlsConnection::read_pending_plaintext() noexcept {
  if (in_place_) return plain_pending_.empty() ? Slice() : plain_pending_.pop_front();
  const size_t pending = pending_plaintext();
  if (pending == 0) return Slice();
  return read();
}

Status TlsConnection::write(std::span<const uint8_t> plain) noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  if (in_place_) {
    if (close_notify_sent_) return Errc::closed;
    if (plain.empty()) return {};
    ++rstats_.seal_batches;
    while (!plain.empty()) {
      const size_t n = std::min(plain.size(), tls::kMaxPlaintextLen);
      Status st =
          seal_out(tls::kContentApplicationData, plain.data(), n, sealed_size(plain.size()));
      if (!st) return fail_record(st.error(), 0, "");
      plain = plain.subspan(n);
    }
    return {};
  }
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
  if (in_place_) {
    if (close_notify_sent_) return {};
    const uint8_t alert[2] = {1, kAlertCloseNotify};  // warning, close_notify
    Status st =
        seal_out(tls::kContentAlert, alert, sizeof alert, sizeof alert + tls::kRecordOverhead);
    if (!st) return fail_record(st.error(), 0, "");
    close_notify_sent_ = true;
    return {};
  }
  const int r = SSL_shutdown(ssl_);
  if (r < 0) return fail_from(r);
  return {};
}

// --- In-place record path ----------------------------------------------------

void TlsConnection::enter_in_place() noexcept {
  // Only TLS 1.3, and only while BoringSSL holds nothing of the peer's: it
  // reads a record's header and then exactly its body, so after the
  // handshake its read buffer is empty unless something unusual happened;
  // then this connection simply stays on BoringSSL's path.
  if (SSL_version(ssl_) != TLS1_3_VERSION || SSL_has_pending(ssl_) || SSL_pending(ssl_) > 0) return;
  // A TLS 1.3 server holds its NewSessionTickets until its first write
  // (ssl/tls13_server.cc); a zero-byte write sends them now, under
  // BoringSSL's sequence numbers, before they become ours.
  const uint8_t none = 0;
  if (SSL_write(ssl_, &none, 0) < 0) {
    ERR_clear_error();
    return;
  }
  bssl::Span<const uint8_t> rs, ws;
  if (!bssl::SSL_get_traffic_secrets(ssl_, &rs, &ws)) return;
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  if (c == nullptr) return;
  const uint16_t suite = SSL_CIPHER_get_protocol_id(c);
  if (!rx_.init(suite, {rs.data(), rs.size()}, SSL_get_read_sequence(ssl_))) return;
  if (!tx_.init(suite, {ws.data(), ws.size()}, SSL_get_write_sequence(ssl_))) return;
  suite_ = suite;
  in_place_ = true;
}

Errc TlsConnection::fail_record(Errc e, uint8_t alert, std::string reason) noexcept {
  if (failed_) return error_;
  failed_ = true;
  error_ = e;
  if (reason.empty()) {
    reason = out_of_buffers_ ? (pool_.max_bytes() != 0
                                    ? "buffer pool cap reached (pool_max_bytes " +
                                          std::to_string(pool_.max_bytes()) + ") writing TLS output"
                                    : std::string("out of memory for TLS output"))
                             : std::string("TLS: ") + errc_message(e);
  }
  reason_ = std::move(reason);
  if (alert != 0) send_alert(alert);
  return e;
}

// send_alert queues a fatal alert (best effort: the connection is failing).
void TlsConnection::send_alert(uint8_t desc) noexcept {
  if (!tx_.valid() || close_notify_sent_) return;
  const uint8_t alert[2] = {2, desc};  // fatal
  (void)seal_out(tls::kContentAlert, alert, sizeof alert, sizeof alert + tls::kRecordOverhead);
  close_notify_sent_ = true;  // nothing may follow a fatal alert
}

// seal_out seals one record of |len| bytes from |in| into the output chunk
// being filled (a new one from the pool when it lacks room; |hint| sizes it
// for what the caller still has to seal). The AEAD reads |in| and writes the
// chunk: no separate copy.
Status TlsConnection::seal_out(uint8_t type, const uint8_t* in, size_t len, size_t hint) noexcept {
  const size_t need = len + tls::kRecordOverhead;
  if (out_tail_.chunk() == nullptr || !out_tail_.unique() || out_tail_.tailroom() < need) {
    if (!out_tail_.empty()) SLUICE_TRY(output_.push_back(std::move(out_tail_)));
    auto s = pool_.get(out_class(std::max(need, hint)));
    if (!s) {
      out_of_buffers_ = true;
      return Errc::no_memory;
    }
    out_tail_ = std::move(*s);
  }
  uint8_t* p = out_tail_.append(need);
  Status st =
      tx_.seal(type, in, len, p, p + tls::kRecordHeaderLen, p + tls::kRecordHeaderLen + len);
  if (!st) return st;
  ++rstats_.records_sealed;
  return {};
}

// seal_slice cuts |s| into records of at most 16 KiB. When |s| holds its
// chunk alone, the last record is sealed where it lies: its header goes in
// front of it (the headroom, or the tail of the piece before, already
// sealed), its type and tag into the tailroom. The pieces before it are
// sealed into an output chunk. A shared Slice is sealed into output chunks.
Status TlsConnection::seal_slice(Slice&& s) noexcept {
  const size_t len = s.size();
  if (len == 0) return {};
  size_t last = len % tls::kMaxPlaintextLen;
  if (last == 0) last = tls::kMaxPlaintextLen;
  size_t front = len - last;
  const bool own = s.unique() && s.tailroom() >= tls::kRecordTailLen &&
                   (front > 0 || s.headroom() >= tls::kRecordHeaderLen);
  if (!own) front = len;
  const uint8_t* d = s.data();
  for (size_t off = 0; off < front;) {
    const size_t n = std::min(front - off, tls::kMaxPlaintextLen);
    SLUICE_TRY(seal_out(tls::kContentApplicationData, d + off, n, sealed_size(front - off)));
    off += n;
  }
  if (!own) return {};
  // Keep the wire order: what is already sealed goes out first.
  if (!out_tail_.empty()) SLUICE_TRY(output_.push_back(std::move(out_tail_)));
  out_tail_.reset();
  uint8_t* hdr;
  if (front == 0) {
    hdr = s.prepend(tls::kRecordHeaderLen);
  } else {
    s.advance(front - tls::kRecordHeaderLen);
    hdr = s.mutable_data();
  }
  uint8_t* body = hdr + tls::kRecordHeaderLen;
  uint8_t* tail = s.append(tls::kRecordTailLen);
  if (hdr == nullptr || tail == nullptr) return Errc::internal;
  SLUICE_TRY(tx_.seal(tls::kContentApplicationData, body, last, hdr, body, tail));
  ++rstats_.records_sealed;
  ++rstats_.sealed_in_place;
  return output_.push_back(std::move(s));
}

Status TlsConnection::write(Chain&& plain) noexcept {
  if (failed_) return error_;
  if (!done_) return Errc::invalid_state;
  if (!in_place_) {
    while (!plain.empty()) {
      Slice s = plain.pop_front();
      SLUICE_TRY(write(s.span()));
    }
    return {};
  }
  if (close_notify_sent_) return Errc::closed;
  if (plain.empty()) return {};
  ++rstats_.seal_batches;
  while (!plain.empty()) {
    Status st = seal_slice(plain.pop_front());
    if (!st) return fail_record(st.error(), 0, "");
  }
  return {};
}

Status TlsConnection::key_update(bool request_peer) noexcept {
  if (failed_) return error_;
  if (!in_place_) return Errc::invalid_state;
  if (close_notify_sent_) return Errc::closed;
  // KeyUpdate: msg_type 24, length 1, request_update (RFC 8446 4.6.3).
  const uint8_t msg[5] = {kKeyUpdate, 0, 0, 1, static_cast<uint8_t>(request_peer ? 1 : 0)};
  Status st = seal_out(tls::kContentHandshake, msg, sizeof msg, sizeof msg + tls::kRecordOverhead);
  if (st) st = tx_.update();
  if (!st) return fail_record(st.error(), 0, "");
  ++rstats_.key_updates_sent;
  return {};
}

namespace {

// record_header checks a TLS 1.3 record header after the handshake and
// returns the body length, or sets |why| / |alert|.
bool record_header(const uint8_t* h, size_t* len, std::string* why, uint8_t* alert) {
  if (h[0] != tls::kContentApplicationData) {
    *why = "TLS: unexpected record type " + std::to_string(h[0]) +
           " after the handshake (TLS 1.3 encrypts every record as application_data)";
    *alert = kAlertUnexpectedMessage;
    return false;
  }
  if (h[1] != 0x03 || h[2] != 0x03) {
    *why = "TLS: wrong record version " + hex16((unsigned{h[1]} << 8) | h[2]);
    *alert = kAlertProtocolVersion;
    return false;
  }
  *len = (size_t{h[3]} << 8) | h[4];
  if (*len > tls::kMaxCiphertextLen) {
    *why = "TLS: record overflow (" + std::to_string(*len) + " bytes, at most " +
           std::to_string(tls::kMaxCiphertextLen) + ")";
    *alert = kAlertRecordOverflow;
    return false;
  }
  if (*len < tls::kRecordTailLen) {
    *why = "TLS: record of " + std::to_string(*len) + " bytes is shorter than its tag";
    *alert = kAlertDecodeError;
    return false;
  }
  return true;
}

}  // namespace

// open_records: see the header. The fast path opens every complete record
// of the first fed Slice where it lies while that Slice holds its chunk
// alone, and only then cuts the plaintext Slices out of it (a Slice may
// write only while unique). A record in a shared chunk is opened into a new
// pool chunk (the AEAD writes there; nothing is copied); one that straddles
// two fed Slices is gathered first (the only copy on this path).
Result<size_t> TlsConnection::open_records(Chain& out, size_t max_records) noexcept {
  if (!in_place_) return Errc::invalid_state;
  if (failed_) return error_;
  size_t got = 0;
  size_t records = 0;
  while (records < max_records && !close_notify_received_ && !failed_) {
    if (!raw_in_.empty() && raw_in_.front().unique()) {
      Slice& f = raw_in_.front();
      uint8_t* base = f.mutable_data();
      const size_t fsize = f.size();
      constexpr size_t kBatch = 8;
      uint32_t offs[kBatch];
      uint32_t lens[kBatch];
      size_t np = 0;
      size_t pos = 0;
      while (records + np < max_records && np < kBatch && !close_notify_received_ && !failed_) {
        if (fsize - pos < tls::kRecordHeaderLen) break;
        uint8_t* h = base + pos;
        size_t len = 0;
        std::string why;
        uint8_t alert = 0;
        if (!record_header(h, &len, &why, &alert)) {
          fail_record(Errc::protocol_violation, alert, std::move(why));
          break;
        }
        if (fsize - pos < tls::kRecordHeaderLen + len) break;
        uint8_t* body = h + tls::kRecordHeaderLen;
        auto n = rx_.open(h, body, len, body);
        if (!n) {
          ERR_clear_error();
          fail_record(Errc::decrypt_failed, kAlertBadRecordMac, "TLS: bad decrypt");
          break;
        }
        pos += tls::kRecordHeaderLen + len;
        ++rstats_.records_opened;
        auto c = content(body, *n);
        if (!c) break;
        if (c->second > 0) {
          offs[np] = static_cast<uint32_t>(body - base);
          lens[np] = static_cast<uint32_t>(c->second);
          ++np;
        }
      }
      for (size_t i = 0; i < np; ++i) {
        (void)out.push_back(f.sub(offs[i], lens[i]));
        got += lens[i];
      }
      records += np;
      raw_in_.advance(pos);
      if (pos > 0 || failed_) continue;
    }
    auto r = open_one(out);
    if (!r) break;              // failed_ is set
    if (*r == SIZE_MAX) break;  // more raw bytes needed
    if (*r > 0) {
      got += *r;
      ++records;
    }
  }
  if (got > 0) return got;
  if (failed_) return error_;
  if (close_notify_received_) return Errc::eof;
  if (raw_eof_) {
    // The peer closed TCP without close_notify: common (trojan-gfw, Go
    // servers closing hard); reported as end-of-stream, flagged truncated.
    truncated_ = true;
    if (!raw_in_.empty()) reason_ = "connection closed inside a TLS record";
    return Errc::eof;
  }
  return size_t{0};
}

// open_one opens the first record the slow way (see open_records); returns
// the plaintext bytes appended, or SIZE_MAX when the record is incomplete.
Result<size_t> TlsConnection::open_one(Chain& out) noexcept {
  uint8_t h[tls::kRecordHeaderLen];
  if (raw_in_.copy_out(h, sizeof h) < sizeof h) return SIZE_MAX;
  size_t len = 0;
  std::string why;
  uint8_t alert = 0;
  if (!record_header(h, &len, &why, &alert))
    return fail_record(Errc::protocol_violation, alert, std::move(why));
  if (raw_in_.size() < sizeof h + len) return SIZE_MAX;
  const Slice& f = raw_in_.front();
  auto s = pool_.get(out_class(sizeof h + len));
  if (!s)
    return fail_record(Errc::no_memory, kAlertInternalError, "out of buffers opening a TLS record");
  uint8_t* p = s->append(sizeof h + len);
  uint8_t* body = p + sizeof h;
  Result<size_t> n = size_t{0};
  if (f.size() >= sizeof h + len) {
    std::memcpy(p, h, sizeof h);
    n = rx_.open(h, f.data() + sizeof h, len, body);
    ++rstats_.opened_moved;
  } else {
    raw_in_.copy_out(p, sizeof h + len);
    n = rx_.open(p, body, len, body);
    ++rstats_.opened_gathered;
  }
  raw_in_.advance(sizeof h + len);
  if (!n) {
    ERR_clear_error();
    return fail_record(Errc::decrypt_failed, kAlertBadRecordMac, "TLS: bad decrypt");
  }
  ++rstats_.records_opened;
  auto c = content(body, *n);
  if (!c) return c.error();
  if (c->second == 0) return size_t{0};
  s->advance(sizeof h);
  s->truncate(c->second);
  const size_t bytes = s->size();
  SLUICE_TRY(out.push_back(std::move(*s)));
  return bytes;
}

// content strips the padding of an opened record (RFC 8446 5.4), handles
// alerts and handshake messages, and returns the content type and the
// length of application data (0 for anything else).
Result<std::pair<uint8_t, size_t>> TlsConnection::content(const uint8_t* p, size_t n) noexcept {
  while (n > 0 && p[n - 1] == 0) --n;
  if (n == 0)
    return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                       "TLS: record without a content type (all padding)");
  const uint8_t type = p[n - 1];
  const size_t clen = n - 1;
  if (clen > tls::kMaxPlaintextLen)
    return fail_record(Errc::protocol_violation, kAlertRecordOverflow,
                       "TLS: record overflow (" + std::to_string(clen) + " bytes of content)");
  switch (type) {
    case tls::kContentApplicationData:
      if (!hs_in_.empty())
        return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                           "TLS: application data inside a fragmented handshake message");
      if (clen == 0) {
        if (++empty_records_ > kMaxEmptyRecords)
          return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                             "TLS: too many empty records");
        return std::pair<uint8_t, size_t>{type, 0};
      }
      empty_records_ = 0;
      key_updates_in_row_ = 0;
      return std::pair<uint8_t, size_t>{type, clen};
    case tls::kContentAlert: {
      if (clen != 2)
        return fail_record(Errc::protocol_violation, kAlertDecodeError,
                           "TLS: malformed alert (" + std::to_string(clen) + " bytes)");
      const uint8_t desc = p[1];
      if (desc == kAlertCloseNotify) {
        close_notify_received_ = true;
      } else if (desc == kAlertUserCanceled) {
        // A warning that a close_notify follows (RFC 8446 6.1).
        if (++empty_records_ > kMaxEmptyRecords)
          return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                             "TLS: too many empty records");
      } else {
        peer_alert_ = desc;
        return fail_record(Errc::tls_alert, 0,
                           std::string("TLS: peer sent alert \"") +
                               SSL_alert_desc_string_long(desc) + "\" (" + std::to_string(desc) +
                               ")");
      }
      return std::pair<uint8_t, size_t>{type, 0};
    }
    case tls::kContentHandshake:
      if (clen == 0)
        return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                           "TLS: empty handshake record");
      SLUICE_TRY(handle_handshake({p, clen}));
      return std::pair<uint8_t, size_t>{type, 0};
    default:
      return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                         "TLS: unexpected inner content type " + std::to_string(type));
  }
}

// handle_handshake takes the handshake content of one record: whole
// messages are handled, a split one waits in hs_in_ for the next record.
Status TlsConnection::handle_handshake(std::span<const uint8_t> rec) noexcept {
  std::span<const uint8_t> buf = rec;
  if (!hs_in_.empty()) {
    if (hs_in_.size() + rec.size() > kMaxPostHandshakeMessage + 4)
      return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                         "TLS: post-handshake message too large");
    hs_in_.insert(hs_in_.end(), rec.begin(), rec.end());
    buf = hs_in_;
  }
  while (buf.size() >= 4) {
    const size_t mlen = (size_t{buf[1]} << 16) | (size_t{buf[2]} << 8) | buf[3];
    if (mlen > kMaxPostHandshakeMessage)
      return fail_record(
          Errc::protocol_violation, kAlertUnexpectedMessage,
          "TLS: post-handshake message too large (" + std::to_string(mlen) + " bytes)");
    if (buf.size() < 4 + mlen) break;
    const std::span<const uint8_t> msg = buf.first(4 + mlen);
    buf = buf.subspan(4 + mlen);
    if (msg[0] == kKeyUpdate) {
      if (mlen != 1)
        return fail_record(Errc::protocol_violation, kAlertDecodeError, "TLS: malformed KeyUpdate");
      if (msg[4] > 1)
        return fail_record(Errc::protocol_violation, kAlertIllegalParameter,
                           "TLS: KeyUpdate with request_update " + std::to_string(msg[4]));
      // The key changes after this record, so nothing may follow it in the
      // record (RFC 8446 5.1).
      if (!buf.empty())
        return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                           "TLS: KeyUpdate not at the end of its record");
      if (++key_updates_in_row_ > kMaxKeyUpdates)
        return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                           "TLS: too many KeyUpdates without data");
      Status st = rx_.update();
      if (!st) return fail_record(st.error(), kAlertInternalError, "");
      ++rstats_.key_updates_received;
      // update_requested: answer before any more data (RFC 8446 4.6.3),
      // unless this side already sent close_notify (nothing may follow it).
      if (msg[4] == 1 && !close_notify_sent_) {
        st = key_update(false);
        if (!st) return st;
      }
    } else if (msg[0] == kNewSessionTicket && !is_server()) {
      SLUICE_TRY(forward_to_boringssl(msg));
    } else {
      return fail_record(
          Errc::protocol_violation, kAlertUnexpectedMessage,
          "TLS: unexpected post-handshake message (type " + std::to_string(msg[0]) + ")");
    }
  }
  if (buf.empty()) {
    hs_in_.clear();
  } else if (hs_in_.empty()) {
    hs_in_.assign(buf.begin(), buf.end());
  } else {
    std::vector<uint8_t> rest(buf.begin(), buf.end());
    hs_in_.swap(rest);
  }
  return {};
}

// forward_to_boringssl hands whole post-handshake messages (tickets) to
// BoringSSL: sealed under the read secret it still holds, at the sequence
// number it expects next, and read through the BIO by SSL_read, which
// processes them (the new-session callback fills the ticket cache) and
// finds no application data.
Status TlsConnection::forward_to_boringssl(std::span<const uint8_t> msgs) noexcept {
  bssl::Span<const uint8_t> rs, ws;
  if (!bssl::SSL_get_traffic_secrets(ssl_, &rs, &ws))
    return fail_record(Errc::internal, kAlertInternalError, "TLS: read secret unavailable");
  RecordCipher shadow;
  if (!shadow.init(suite_, {rs.data(), rs.size()}, SSL_get_read_sequence(ssl_)))
    return fail_record(Errc::internal, kAlertInternalError, "TLS: read secret unusable");
  while (!msgs.empty()) {
    const size_t n = std::min(msgs.size(), tls::kMaxPlaintextLen);
    auto s = pool_.get(out_class(n + tls::kRecordOverhead));
    if (!s)
      return fail_record(Errc::no_memory, kAlertInternalError, "out of buffers for a TLS ticket");
    uint8_t* p = s->append(n + tls::kRecordOverhead);
    Status st = shadow.seal(tls::kContentHandshake, msgs.data(), n, p, p + tls::kRecordHeaderLen,
                            p + tls::kRecordHeaderLen + n);
    if (!st) return fail_record(st.error(), kAlertInternalError, "");
    SLUICE_TRY(to_bssl_.push_back(std::move(*s)));
    msgs = msgs.subspan(n);
  }
  uint8_t byte;
  const int r = SSL_read(ssl_, &byte, 1);
  to_bssl_.clear();
  if (r > 0)
    return fail_record(Errc::internal, kAlertInternalError,
                       "TLS: BoringSSL returned data from a post-handshake message");
  if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) {
    ++rstats_.tickets_forwarded;
    return {};
  }
  const uint32_t packed = ERR_peek_error();
  std::string what = error_words(packed);
  ERR_clear_error();
  return fail_record(Errc::protocol_violation, kAlertUnexpectedMessage,
                     "TLS: post-handshake message rejected: " + what);
}

Result<Slice> TlsConnection::read_in_place() noexcept {
  if (!plain_pending_.empty()) return plain_pending_.pop_front();
  Chain c;
  auto r = open_records(c, 1);
  if (!r) return r.error();
  if (*r == 0) return Slice();
  return c.pop_front();
}

Result<size_t> TlsConnection::read_into_in_place(std::span<uint8_t> out) noexcept {
  size_t got = 0;
  while (got < out.size()) {
    if (plain_pending_.empty()) {
      auto r = open_records(plain_pending_, 1);
      if (!r) {
        if (got > 0) break;  // the error comes back on the next call
        return r.error();
      }
      if (*r == 0) break;
    }
    const size_t n = plain_pending_.copy_out(out.data() + got, out.size() - got);
    plain_pending_.advance(n);
    got += n;
  }
  return got;
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

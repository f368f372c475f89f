// quic_tls.hpp: the TLS 1.3 handshake of a QUIC connection, BoringSSL's QUIC
// method feeding ngtcp2 (RFC 9001 §4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// QuicTlsContext is an SSL_CTX configured for QUIC (TLS 1.3 only, ALPN
// required, certificate and verification). bind_tls() attaches an SSL to an
// ngtcp2_conn: BoringSSL hands secrets to set_read/write_secret (installed
// into ngtcp2 through quic_crypto), handshake bytes to add_handshake_data
// (-> ngtcp2_conn_submit_crypto_data) and alerts to send_alert
// (-> ngtcp2_conn_set_tls_alert); ngtcp2 hands received CRYPTO data to
// recv_crypto_data (-> SSL_provide_quic_data, SSL_do_handshake, then
// SSL_process_quic_post_handshake once complete).
//
// Transport parameters travel in the quic_transport_parameters extension
// (codepoint 57, RFC 9001 §8.2): the local ones are encoded by ngtcp2 and
// given to SSL_set_quic_transport_params; the peer's are read with
// SSL_get_peer_quic_transport_params and decoded into ngtcp2, the client's by
// the server once the ClientHello is processed (handshake keys), the server's
// by the client with its 1-RTT read key (EncryptedExtensions has been read).
// TlsBinding::assume_peer_max_datagram_frame_size rewrites an absent
// max_datagram_frame_size on the way (Hysteria v2 clients >= 2.8.2 omit it;
// hysteria2 spec §9.3).
//
// Certificates are judged exactly as the TLS transport judges them: BoringSSL's
// custom-verify hook calls tls::VerifyPolicy (lib/crypto/tls_verify.hpp):
// pins (leaf SHA-256 hex, SPKI SHA-256 base64) replace chain and name
// checks, insecure accepts anything, otherwise the chain must reach the CA
// PEM or the system store and name server_name (the ECH public name when
// ECH was rejected). A failure closes the connection with pin_mismatch or
// cert_verify_failed and the verifier's reason (TlsBinding::verify_*).
//
// Resumption and 0-RTT (client): the Connection takes a ticket from a
// tls::TlsSessionCache (the TLS transport's per-Engine cache) before the
// handshake; new tickets arrive through the context's new-session hook,
// which stores them with the server's transport parameters attached
// (EarlyTransportParams, SSL_SESSION ex_data): 0-RTT needs the limits the
// server granted when it issued the ticket (RFC 9000 §7.4.1) and ngtcp2
// 0.12.1 has no helper for remembering them.
//
// Threads: the Engine's loop thread. The context may be shared by many
// connections of that thread.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/tls_verify.hpp"
#include "sluice/error.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_session_st SSL_SESSION;
typedef struct uv_loop_s uv_loop_t;

namespace sluice::tls {
class TlsSessionCache;
}

namespace sluice::quic {

struct QuicTlsOptions {
  bool server = false;
  // alpn lists the protocols in preference order ("h3", "hq-interop", ...).
  std::vector<std::string> alpn;
  // Client: server_name for SNI and certificate name check (no SNI is sent
  // for an IP literal).
  std::string server_name;
  // Client verification (tls::VerifyPolicy). |policy|, when set, is used as
  // is (e.g. shared with a TLS outbound); otherwise one is built from:
  // verify_peer false = insecure; ca_pem (PEM text) or ca_file (a path) to
  // trust instead of the system store; spki_pins_b64 (sing-box's
  // certificate_public_key_sha256) and cert_pins_hex (hysteria2's
  // pinSHA256): any match passes and replaces chain and name checks.
  std::shared_ptr<const tls::VerifyPolicy> policy;
  bool verify_peer = true;
  std::string ca_file;
  std::string ca_pem;
  std::vector<std::string> spki_pins_b64;
  std::vector<std::string> cert_pins_hex;
  // Client ECH: an ECHConfigList to offer (filtered to what BoringSSL can
  // use; empty = no ECH).
  std::vector<uint8_t> ech_config_list;
  // Server: PEM certificate chain and private key (contents, not paths).
  std::string cert_pem;
  std::string key_pem;
  // Server ECH: a PEM "ECH KEYS" block (sing-box format; empty = no ECH).
  std::string ech_keys_pem;
  // enable_early_data: client offers and server accepts 0-RTT. Early data
  // can be replayed by an attacker (RFC 8446 §8, RFC 9001 §9.2); BoringSSL
  // has no anti-replay, so a server enables it only for protocols whose
  // first flight is safe to replay (docs/protocols/quic.md).
  bool enable_early_data = false;
};

// EarlyTransportParams are the server's transport parameters a client must
// remember with a ticket to send 0-RTT (RFC 9000 §7.4.1; the fields
// ngtcp2_conn_set_early_remote_transport_params requires).
struct EarlyTransportParams {
  uint64_t initial_max_streams_bidi = 0;
  uint64_t initial_max_streams_uni = 0;
  uint64_t initial_max_stream_data_bidi_local = 0;
  uint64_t initial_max_stream_data_bidi_remote = 0;
  uint64_t initial_max_stream_data_uni = 0;
  uint64_t initial_max_data = 0;
  uint64_t active_connection_id_limit = 0;
  uint64_t max_datagram_frame_size = 0;
  uint64_t max_idle_timeout = 0;
  uint64_t max_udp_payload_size = 0;
  bool disable_active_migration = false;
};

// remember_params copies the 0-RTT fields of |p|; apply_early_params sets them
// into |conn| (a client before its handshake).
EarlyTransportParams remember_params(const ngtcp2_transport_params& p) noexcept;
void apply_early_params(ngtcp2_conn* conn, const EarlyTransportParams& e) noexcept;
// session_early_params returns the parameters stored with a ticket, or nullptr.
const EarlyTransportParams* session_early_params(SSL_SESSION* s) noexcept;

class QuicTlsContext {
 public:
  static Result<std::unique_ptr<QuicTlsContext>> create(const QuicTlsOptions& o,
                                                        std::string* error = nullptr);
  ~QuicTlsContext();
  QuicTlsContext(const QuicTlsContext&) = delete;
  QuicTlsContext& operator=(const QuicTlsContext&) = delete;

  bool server() const noexcept { return opts_.server; }
  const QuicTlsOptions& options() const noexcept { return opts_; }
  SSL_CTX* native() const noexcept { return ctx_; }
  // policy: the client's verification policy (nullptr on a server).
  const tls::VerifyPolicy* policy() const noexcept { return policy_.get(); }
  // session_key builds the ticket-cache key for |host|:|port| (SNI, ALPN
  // and trust policy included, and a "quic:" prefix so QUIC tickets never
  // meet TLS-over-TCP ones in the shared cache).
  std::string session_key(std::string_view host, uint16_t port) const;

 private:
  explicit QuicTlsContext(const QuicTlsOptions& o) : opts_(o) {}
  QuicTlsOptions opts_;
  SSL_CTX* ctx_ = nullptr;
  std::vector<uint8_t> alpn_wire_;  // ALPN in wire format (length-prefixed)
  std::shared_ptr<const tls::VerifyPolicy> policy_;
  friend int alpn_select_cb(SSL*, const unsigned char**, unsigned char*, const unsigned char*,
                            unsigned, void*);
};

// TlsBinding is the per-connection TLS state the QUIC method callbacks reach
// through SSL_get_app_data. Owned by the connection, which outlives its SSL.
struct TlsBinding {
  ngtcp2_conn* conn = nullptr;
  SSL* ssl = nullptr;
  bool remote_params_set = false;
  // 0 = off; otherwise the value used when the peer omits the TP.
  uint64_t assume_peer_max_datagram_frame_size = 0;
  int tls_error = 0;  // SSL error reason of a failed handshake (for logs)
  const QuicTlsContext* ctx = nullptr;
  // Certificate verification outcome (client): ok, or why it failed.
  Errc verify_error = Errc::ok;
  std::string verify_reason;
  // Client ticket cache: new tickets go to |cache| under |cache_key| (loop
  // time from |loop|); none when cache is null.
  tls::TlsSessionCache* cache = nullptr;
  std::string cache_key;
  uv_loop_t* loop = nullptr;
  // Server: the 0-RTT context (our limits; a ticket's 0-RTT is accepted
  // only under the same bytes). Set before new_quic_ssl.
  std::vector<uint8_t> early_data_context;
  // Client: the server refused 0-RTT (drive_handshake saw it); the
  // Connection re-sends the streams' data as 1-RTT.
  bool early_data_rejected = false;
  // on_early_rejected runs right before ngtcp2 discards the 0-RTT streams.
  void (*on_early_rejected)(void* user) = nullptr;
  void* user = nullptr;
};

// new_quic_ssl makes the SSL for one connection and binds it to |b| (and
// b.conn, which must be set): SNI and ALPN for clients, the QUIC method,
// standard codepoint. Returns nullptr on failure.
SSL* new_quic_ssl(const QuicTlsContext& ctx, TlsBinding& b) noexcept;

// set_tls_callbacks fills client_initial, recv_client_initial,
// recv_crypto_data and recv_retry of |cb|.
void set_tls_callbacks(ngtcp2_callbacks& cb) noexcept;

// negotiated_alpn returns the ALPN protocol the handshake chose ("" if none).
std::string negotiated_alpn(SSL* ssl);

// export_keying_material is the TLS exporter (RFC 5705/8446 §7.5), used by
// TUIC's token; crypto_failure before the handshake completes.
[[nodiscard]] Status export_keying_material(SSL* ssl, std::span<uint8_t> out,
                                            std::string_view label,
                                            std::span<const uint8_t> context) noexcept;

}  // namespace sluice::quic

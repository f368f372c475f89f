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
// Threads: the Engine's loop thread. The context may be shared by many
// connections of that thread.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/error.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace sluice::quic {

struct QuicTlsOptions {
  bool server = false;
  // alpn lists the protocols in preference order ("h3", "hq-interop", ...).
  std::vector<std::string> alpn;
  // Client: server_name for SNI and certificate name check; verify_peer
  // checks the chain against ca_file (or the system store when empty).
  std::string server_name;
  bool verify_peer = true;
  std::string ca_file;
  // Server: PEM certificate chain and private key (contents, not paths).
  std::string cert_pem;
  std::string key_pem;
  // enable_early_data: client offers and server accepts 0-RTT.
  bool enable_early_data = false;
};

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

 private:
  explicit QuicTlsContext(const QuicTlsOptions& o) : opts_(o) {}
  QuicTlsOptions opts_;
  SSL_CTX* ctx_ = nullptr;
  std::vector<uint8_t> alpn_wire_;  // ALPN in wire format (length-prefixed)
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

// proto/tls13/server.hpp: the sans-I/O TLS 1.3 server handshake and
// connection (RFC 8446), the counterpart of client.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Bytes in, bytes out, like Client. The server parses the whole ClientHello
// and keeps its raw bytes (client_hello()); picks the suite in its own order,
// the group in its own order among the client's shares (X25519MLKEM768,
// X25519, P-256, P-384), sending a HelloRetryRequest when the client listed a usable
// group without a share for it, or when a retry cookie is configured
// (stateless-retry style: the second ClientHello must echo it); signs
// CertificateVerify with an Ed25519, ECDSA or RSA key (crypto/signature.hpp)
// with the first of the client's schemes the key fits; answers ALPN; sends
// the middlebox-compatibility CCS when the client's session id is not empty;
// verifies the client Finished. After the handshake: KeyUpdate both ways,
// alerts, close_notify. For REALITY the ServerHello can follow a template
// (suite, extension order) and the encrypted flight and first application
// record can be padded to given lengths. Session tickets (RFC 8446 §4.6.1)
// with a ticket key: NewSessionTickets after the handshake, and resumption
// (psk_dhe_ke) from them, see ServerConfig. Not done: client certificates,
// 0-RTT data (early_data is never accepted).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/signature.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/key_schedule.hpp"
#include "proto/tls13/messages.hpp"
#include "proto/tls13/record.hpp"
#include "proto/tls13/record_stream.hpp"
#include "proto/tls13/types.hpp"

namespace sluice::tls13 {

// ServerHelloTemplate shapes the ServerHello on another server's (REALITY
// mirrors the real site): the suite to answer with (0: negotiate) and the
// order of the ServerHello's extensions. The session id is always echoed.
struct ServerHelloTemplate {
  uint16_t cipher_suite = 0;
  std::vector<uint16_t> extension_order = {ext::supported_versions, ext::key_share};
  // random, when set, is the ServerHello's random (REALITY sends the real
  // site's, as Xray does); otherwise it is drawn.
  std::optional<std::array<uint8_t, 32>> random;
  // The HelloRetryRequest's extension order; extensions it needs but does
  // not list follow in this default order.
  std::vector<uint16_t> retry_extension_order = {ext::supported_versions, ext::key_share,
                                                 ext::cookie};
};

// CertificateCompressor sends the Certificate as an RFC 8879
// CompressedCertificate when the client's compress_certificate extension
// lists |algorithm|. The library links no compressor: the caller supplies
// |compress| (false on failure: the Certificate then goes out uncompressed).
struct CertificateCompressor {
  uint16_t algorithm = 0;
  std::function<bool(std::span<const uint8_t> in, std::vector<uint8_t>& out)> compress;
};

struct ServerConfig {
  std::vector<std::vector<uint8_t>> certificate_chain;  // DER, leaf first; required
  std::shared_ptr<const crypto::SigningKey> key;        // the leaf's key; required
  std::vector<uint16_t> cipher_suites = {kTlsAes128GcmSha256, kTlsAes256GcmSha384,
                                         kTlsChacha20Poly1305Sha256};   // preference
  std::vector<uint16_t> groups = {kGroupX25519Mlkem768, kGroupX25519};  // preference
  std::vector<std::string> alpn;      // supported protocols, preference order
  std::vector<uint8_t> retry_cookie;  // non-empty: always HRR first with it
  RandomSource random;                // optional, as for Client
  ServerHelloTemplate hello_template;
  // Wire lengths to pad to (0: no padding): the record carrying
  // EncryptedExtensions..Finished (when the flight fits one record) and the
  // first application data record (when its content fits). A length too
  // short for the content is not padded.
  size_t flight_record_length = 0;
  size_t first_app_record_length = 0;
  // flight_record_lengths, when it holds four lengths, overrides
  // flight_record_length: EncryptedExtensions, Certificate,
  // CertificateVerify and Finished each go in their own record padded to
  // these wire lengths (REALITY mirrors the real site's records one for
  // one); a length too short for its message is not padded.
  std::vector<size_t> flight_record_lengths;
  // flight_extra_record_length (nonzero): an empty application_data record
  // of this wire length follows the flight, under the application keys (the
  // shape of a NewSessionTicket a site sends before the client Finished).
  size_t flight_extra_record_length = 0;
  // post_handshake_record_lengths: empty application_data records of these
  // wire lengths, sent once the client Finished is in (the shape of the
  // records a site sends then: tickets, an HTTP/2 SETTINGS frame).
  std::vector<size_t> post_handshake_record_lengths;
  CertificateCompressor certificate_compressor;  // optional

  // Session tickets. With a 32-byte ticket_key the server sends
  // tickets_per_connection NewSessionTickets once the client Finished is in,
  // each one the resumption state (suite, PSK, issue time, age_add,
  // lifetime) sealed with AES-256-GCM under ticket_key, and resumes a
  // ClientHello that offers one (psk_dhe_ke; its binder must verify, else
  // decrypt_error): no Certificate or CertificateVerify then. A ticket that
  // does not open, is older than ticket_lifetime, whose suite's hash differs
  // from the negotiated suite's, or whose client-reported age is more than
  // ticket_age_window_ms off the server's (RFC 8446 §8.3) is ignored: full
  // handshake. Rotate by changing the key (old tickets then fall back).
  // A key of another length, or one without now_ms, fails every handshake
  // with internal_error naming the mistake.
  std::vector<uint8_t> ticket_key;  // empty: no tickets, PSKs ignored
  uint32_t ticket_lifetime = 7200;  // seconds, at most 604800
  uint32_t ticket_age_window_ms = 10000;
  size_t tickets_per_connection = 1;
  // now_ms is the wall clock in milliseconds since the epoch; required with
  // a ticket key (the engine reads no clock).
  std::function<uint64_t()> now_ms;
  // signature_scheme, when nonzero and the key supports it, is the
  // CertificateVerify scheme whether or not the client offered it: REALITY
  // signs ed25519 for Chrome-shaped hellos that do not list it.
  uint16_t signature_scheme = 0;
};

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // receive processes bytes from the client; on failure the alert is queued
  // in output() and the server is failed().
  Outcome receive(std::span<const uint8_t> bytes);
  std::span<const uint8_t> output() const noexcept { return io_.output(); }
  void drain(size_t n) { io_.drain(n); }

  [[nodiscard]] Status send(std::span<const uint8_t> data);
  std::vector<uint8_t> take_application_data();
  [[nodiscard]] Status request_key_update();
  [[nodiscard]] Status close();

  bool connected() const noexcept { return state_ == State::connected; }
  bool failed() const noexcept { return state_ == State::failed; }
  bool peer_closed() const noexcept { return peer_closed_; }
  const Outcome& error() const noexcept { return error_; }

  uint16_t cipher_suite() const noexcept { return suite_ ? suite_->id : 0; }
  uint16_t group() const noexcept { return group_; }
  uint16_t signature_scheme() const noexcept { return scheme_; }
  bool hello_retry_request() const noexcept { return hrr_; }
  // resumed: the handshake used a ticket's PSK (no certificate sent).
  bool resumed() const noexcept { return resumed_; }
  std::string_view alpn() const noexcept { return alpn_; }
  std::string_view server_name() const noexcept { return sni_; }
  // client_hello is the (last) ClientHello exactly as received.
  std::span<const uint8_t> client_hello() const noexcept { return ch_raw_; }

  // take_pending_input moves out received bytes short of a whole record: with
  // take_application_data() and the two protections below, everything a
  // transport needs to run the record layer itself on pool Chunks (the
  // zero-copy data path) once connected().
  std::vector<uint8_t> take_pending_input() { return io_.take_pending_input(); }

  RecordProtection& write_protection() noexcept { return io_.write; }
  RecordProtection& read_protection() noexcept { return io_.read; }

 private:
  enum class State : uint8_t { wait_client_hello, wait_finished, connected, failed };

  Outcome on_record(ContentType type, std::span<uint8_t> body);
  Outcome on_message(const HandshakeView& msg);
  Outcome on_client_hello(const HandshakeView& msg);
  Outcome on_finished(const HandshakeView& msg);
  Outcome on_post_handshake(const HandshakeView& msg);
  Outcome on_alert(std::span<const uint8_t> body);
  Outcome send_hello_retry(const ClientHello& ch, uint16_t group);
  // accept_psk picks the first offered ticket that opens and is fresh and
  // checks its binder over |before_ch| + the truncated hello; |psk| and
  // |index| are set when one is accepted.
  Outcome accept_psk(const ClientHello& ch, const Digest& before_ch, Secret& psk, int& index);
  Outcome send_tickets();
  Outcome fail(Outcome o);
  std::vector<uint8_t> transcript_hash();
  void draw(std::span<uint8_t> out);
  static size_t padding_for(size_t wire_length, size_t content_len) noexcept;

  ServerConfig cfg_;
  State state_ = State::wait_client_hello;
  Outcome error_;
  bool peer_closed_ = false;
  bool hrr_ = false;
  bool compat_ = false;
  bool sent_close_ = false;
  bool sent_app_ = false;
  bool resumed_ = false;
  uint16_t hrr_group_ = 0;

  const CipherSuite* suite_ = nullptr;
  uint16_t group_ = 0;
  uint16_t scheme_ = 0;
  std::string alpn_, sni_;
  std::vector<uint8_t> ch_raw_;
  std::optional<KeySchedule> ks_;
  std::optional<Digest> transcript_;

  RecordStream io_;
};

}  // namespace sluice::tls13

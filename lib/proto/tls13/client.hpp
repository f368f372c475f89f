// proto/tls13/client.hpp: the sans-I/O TLS 1.3 client handshake and
// connection (RFC 8446), with a browser-shaped ClientHello built from a
// profile (profile.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Bytes in, bytes out: receive() takes whatever arrived from the network;
// output() holds the bytes to send (drain() them once written). No sockets,
// no clock, no libuv. After connected(), application data goes through
// send() / take_application_data(), or, for the zero-copy data path, through
// write_protection() / read_protection() directly on pool Chunks.
//
// Handshake: X25519 and X25519MLKEM768 key exchange (the key-share policy
// chooses hybrid + X25519, or X25519 only), P-256 or P-384 when a HelloRetryRequest
// asks for it; HelloRetryRequest with cookie; middlebox-compatibility CCS tolerated (and sent
// when the profile uses a 32-byte session id); EncryptedExtensions (each one
// must answer an extension the client sent); Certificate through the
// pluggable verifier; CertificateVerify with the schemes of
// crypto/signature.hpp; Finished. After the handshake: NewSessionTicket
// (kept, with its resumption PSK; ClientConfig::ticket offers one back as a
// PSK with psk_dhe_ke, RFC 8446 §4.2.11), KeyUpdate both ways, alerts, close_notify.
// CompressedCertificate (RFC 8879) with brotli, when the profile offered it:
// the declared uncompressed_length must be at most max_certificate_len and
// the stream must decode to exactly that many bytes with bounded decoder
// memory, else bad_certificate; the transcript hashes the compressed message
// as received.
//
// Errors: every failure is an Outcome naming the alert; the client sends
// that alert (in the epoch's protection) into output() and becomes failed().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/pq/x25519_mlkem768.hpp"
#include "proto/tls13/key_schedule.hpp"
#include "proto/tls13/messages.hpp"
#include "proto/tls13/profile.hpp"
#include "proto/tls13/record.hpp"
#include "proto/tls13/record_stream.hpp"
#include "proto/tls13/types.hpp"
#include "sluice/cipher.hpp"

namespace sluice::tls {
class VerifyPolicy;
}

namespace sluice::tls13 {

enum class KeySharePolicy : uint8_t {
  hybrid_and_x25519,  // X25519MLKEM768 (1216 bytes) then X25519: Chrome's default
  x25519_only,        // for networks that drop a large first flight
};

// CertificateVerifier judges the server's chain (leaf first) for the SNI.
using CertificateVerifier =
    std::function<Outcome(std::span<const CertificateEntry> chain, std::string_view server_name)>;

// policy_verifier adapts the TLS transport's VerifyPolicy (trust store,
// custom CA, pins, insecure). Alerts: unknown_ca (no path to a trust
// anchor), certificate_expired (expired or not yet valid), bad_certificate
// (host name mismatch, pin mismatch, anything else).
CertificateVerifier policy_verifier(std::shared_ptr<const tls::VerifyPolicy> policy);

// ClientHelloHook sees the serialized ClientHello before it is sent: the
// whole message (read-only), its 32-byte session id (writable in place: the
// transcript hashes the bytes as the hook leaves them) and the private key of
// the plain X25519 share. REALITY seals its session id here. It runs only
// when the hello has a 32-byte session id and an X25519 share. With a ticket
// offered, the PSK binder (the hello's last bytes) is still zero when the
// hook runs and is computed over what the hook leaves.
struct ClientHelloHookView {
  std::span<const uint8_t> message;
  std::span<uint8_t> session_id;
  std::span<const uint8_t> random;
  std::span<const uint8_t, kX25519KeyLen> x25519_private;
};
using ClientHelloHook = std::function<void(const ClientHelloHookView&)>;

// RandomSource fills its argument; the default is the CSPRNG. Tests fix it to
// reproduce a trace. Draw order: random(32), session id, GREASE seeds (6),
// permutation (one u32 per position, if the profile permutes), ECH GREASE
// (2, then 32 + payload, if the profile has it), then per offered group in
// profile order: X25519MLKEM768's ML-KEM seed (64) and X25519 key (32), or
// X25519's private key (32).
using RandomSource = std::function<void(std::span<uint8_t>)>;

// SessionTicket is a NewSessionTicket the client received, with the PSK it
// stands for (RFC 8446 §4.6.1). received_at_ms is ClientConfig::now_ms() when
// it arrived (0 without a clock). Keep it for the same server name only.
struct SessionTicket {
  uint32_t lifetime = 0;  // seconds
  uint32_t age_add = 0;
  std::vector<uint8_t> ticket;
  Secret psk;
  uint16_t cipher_suite = 0;
  uint64_t received_at_ms = 0;
};

struct ClientConfig {
  const ClientProfile* profile = &chrome_profile();
  std::string server_name;
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  KeySharePolicy key_shares = KeySharePolicy::hybrid_and_x25519;
  // Signature schemes accepted in CertificateVerify besides the advertised
  // ones (REALITY servers sign with ed25519 without it being offered).
  std::vector<uint16_t> extra_signature_schemes = {kSigEd25519};
  // Largest Certificate a CompressedCertificate may decompress to (its
  // declared uncompressed_length); the 24-bit field's own limit is 2^24-1.
  size_t max_certificate_len = 64 * 1024;
  CertificateVerifier verifier;  // required
  ClientHelloHook pre_send;      // optional
  RandomSource random;           // optional
  // Resumption (RFC 8446 §2.2): a ticket from an earlier connection's
  // tickets() to offer as a PSK (psk_dhe_ke only: a fresh key exchange
  // always runs; no 0-RTT data). It is offered only when its suite is in the
  // profile and it has not outlived its lifetime; pre_shared_key goes last,
  // its binder computed over the hello as the pre-send hook leaves it. The
  // server may decline: the handshake is then a full one (resumed() false).
  std::optional<SessionTicket> ticket;
  // now_ms is the wall clock in milliseconds (any epoch, the same across
  // connections): it stamps received tickets and ages the offered one. The
  // engine reads no clock; without it the ticket age sent is 0, which a
  // server checking ages may refuse (then the handshake is a full one).
  std::function<uint64_t()> now_ms;
};

class Client {
 public:
  explicit Client(ClientConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // start builds the ClientHello, runs the pre-send hook and queues the
  // record in output(). internal_error if already started or on a missing
  // verifier.
  Outcome start();

  // receive processes bytes from the server (any split). On failure the
  // alert is queued in output() and the client is failed().
  Outcome receive(std::span<const uint8_t> bytes);

  // output is what to send now; drain(n) drops the first n bytes once sent.
  std::span<const uint8_t> output() const noexcept { return io_.output(); }
  void drain(size_t n) { io_.drain(n); }

  // send seals application data (split into 2^14-byte records) into
  // output(). invalid_state unless connected().
  [[nodiscard]] Status send(std::span<const uint8_t> data);
  // take_application_data moves out the application data received so far.
  std::vector<uint8_t> take_application_data();
  // request_key_update sends KeyUpdate(update_requested) and rekeys writing.
  [[nodiscard]] Status request_key_update();
  // close sends close_notify; no more send() after it.
  [[nodiscard]] Status close();

  bool connected() const noexcept { return state_ == State::connected; }
  bool failed() const noexcept { return state_ == State::failed; }
  bool peer_closed() const noexcept { return peer_closed_; }
  // error is the failure that ended the connection.
  const Outcome& error() const noexcept { return error_; }

  // Negotiated parameters (valid once connected()).
  uint16_t cipher_suite() const noexcept { return suite_ ? suite_->id : 0; }
  uint16_t group() const noexcept { return group_; }
  bool hello_retry_request() const noexcept { return hrr_; }
  // resumed: the server accepted the offered ticket (no certificate was sent).
  bool resumed() const noexcept { return resumed_; }
  std::string_view alpn() const noexcept { return alpn_; }
  // tickets are the NewSessionTickets received so far (the last 8), each
  // usable as ClientConfig::ticket for a later connection to the same server.
  const std::vector<SessionTicket>& tickets() const noexcept { return tickets_; }
  // client_hello is the first ClientHello as sent (after the hook).
  std::span<const uint8_t> client_hello() const noexcept { return ch1_; }

  // take_pending_input moves out received bytes short of a whole record: with
  // take_application_data() and the two protections below, everything a
  // transport needs to run the record layer itself on pool Chunks (the
  // zero-copy data path) once connected().
  std::vector<uint8_t> take_pending_input() { return io_.take_pending_input(); }

  RecordProtection& write_protection() noexcept { return io_.write; }
  RecordProtection& read_protection() noexcept { return io_.read; }

 private:
  enum class State : uint8_t {
    idle,
    wait_server_hello,
    wait_encrypted_extensions,
    wait_certificate,
    wait_certificate_verify,
    wait_finished,
    connected,
    failed,
    closed,
  };

  struct Share;  // the key-exchange state per offered group

  Outcome build_client_hello(std::vector<uint8_t>& out, bool after_hrr);
  Outcome fill_binder(std::vector<uint8_t>& hello);
  Outcome on_record(ContentType type, std::span<uint8_t> body);
  Outcome on_message(const HandshakeView& msg);
  Outcome on_server_hello(const HandshakeView& msg);
  Outcome on_hello_retry(const ServerHello& sh, const HandshakeView& msg);
  Outcome on_encrypted_extensions(const HandshakeView& msg);
  Outcome on_certificate(const HandshakeView& msg);
  Outcome on_compressed_certificate(const HandshakeView& msg);
  Outcome accept_certificate(std::span<const uint8_t> body, const HandshakeView& msg);
  Outcome on_certificate_verify(const HandshakeView& msg);
  Outcome on_finished(const HandshakeView& msg);
  Outcome on_post_handshake(const HandshakeView& msg);
  Outcome on_alert(std::span<const uint8_t> body);
  Outcome fail(Outcome o);
  void transcript_add(std::span<const uint8_t> msg);
  std::vector<uint8_t> transcript_hash();
  void draw(std::span<uint8_t> out);

  ClientConfig cfg_;
  State state_ = State::idle;
  Outcome error_;
  bool peer_closed_ = false;
  bool hrr_ = false;
  bool sent_ccs_ = false;
  bool sent_close_ = false;
  bool offer_psk_ = false;  // the hello carries cfg_.ticket
  bool resumed_ = false;

  // ClientHello state, kept for a HelloRetryRequest.
  std::array<uint8_t, 32> random_{};
  std::vector<uint8_t> session_id_;
  std::array<uint16_t, 6> grease_{};  // cipher, group, ext1, ext2, version, sigalg
  std::vector<size_t> order_;         // extension order (indexes into the profile)
  std::vector<uint8_t> ech_grease_;
  std::vector<uint16_t> offered_groups_;  // groups with a key share
  std::vector<uint8_t> cookie_;
  std::vector<uint16_t> sent_extensions_;
  std::unique_ptr<Share> share_;
  std::vector<uint8_t> ch1_;

  // Negotiation and keys.
  const CipherSuite* suite_ = nullptr;
  uint16_t group_ = 0;
  std::optional<KeySchedule> ks_;
  std::optional<Digest> transcript_;
  std::vector<uint8_t> pending_transcript_;  // messages before the suite is known
  std::vector<uint8_t> leaf_;
  std::string alpn_;
  std::vector<SessionTicket> tickets_;

  RecordStream io_;
};

}  // namespace sluice::tls13

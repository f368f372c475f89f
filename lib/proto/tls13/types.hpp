// proto/tls13/types.hpp: TLS 1.3 code points (RFC 8446 §4, §5, §6, App. B)
// and Outcome, the error every parser and the record layer return.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// An Outcome that failed names the alert to send to the peer (RFC 8446 §6.2)
// and a static English reason; errc() maps it onto sluice's Errc so the glue
// can report it like every other protocol error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sluice/error.hpp"

namespace sluice::tls13 {

enum class ContentType : uint8_t {
  invalid = 0,
  change_cipher_spec = 20,
  alert = 21,
  handshake = 22,
  application_data = 23,
};

enum class HandshakeType : uint8_t {
  client_hello = 1,
  server_hello = 2,
  new_session_ticket = 4,
  end_of_early_data = 5,
  encrypted_extensions = 8,
  certificate = 11,
  certificate_request = 13,
  certificate_verify = 15,
  finished = 20,
  key_update = 24,
  compressed_certificate = 25,  // RFC 8879
  message_hash = 254,
};

// Extension code points the engine reads or writes.
namespace ext {
inline constexpr uint16_t server_name = 0;
inline constexpr uint16_t status_request = 5;
inline constexpr uint16_t supported_groups = 10;
inline constexpr uint16_t ec_point_formats = 11;
inline constexpr uint16_t signature_algorithms = 13;
inline constexpr uint16_t alpn = 16;
inline constexpr uint16_t signed_certificate_timestamp = 18;
inline constexpr uint16_t padding = 21;
inline constexpr uint16_t extended_master_secret = 23;
inline constexpr uint16_t compress_certificate = 27;  // RFC 8879
inline constexpr uint16_t record_size_limit = 28;
inline constexpr uint16_t session_ticket = 35;
inline constexpr uint16_t pre_shared_key = 41;
inline constexpr uint16_t early_data = 42;
inline constexpr uint16_t supported_versions = 43;
inline constexpr uint16_t cookie = 44;
inline constexpr uint16_t psk_key_exchange_modes = 45;
inline constexpr uint16_t certificate_authorities = 47;
inline constexpr uint16_t post_handshake_auth = 49;
inline constexpr uint16_t signature_algorithms_cert = 50;
inline constexpr uint16_t key_share = 51;
inline constexpr uint16_t application_settings = 17613;  // ALPS, Chrome's code point
inline constexpr uint16_t trust_anchors = 0xca34;  // draft-ietf-tls-trust-anchor-ids, Chrome's
inline constexpr uint16_t encrypted_client_hello = 0xfe0d;
inline constexpr uint16_t renegotiation_info = 0xff01;
}  // namespace ext

// Certificate compression algorithms (RFC 8879 §7.3).
inline constexpr uint16_t kCertCompressionZlib = 1;
inline constexpr uint16_t kCertCompressionBrotli = 2;
inline constexpr uint16_t kCertCompressionZstd = 3;

enum class AlertLevel : uint8_t { warning = 1, fatal = 2 };

enum class Alert : uint8_t {
  close_notify = 0,
  unexpected_message = 10,
  bad_record_mac = 20,
  record_overflow = 22,
  handshake_failure = 40,
  bad_certificate = 42,
  unsupported_certificate = 43,
  certificate_revoked = 44,
  certificate_expired = 45,
  certificate_unknown = 46,
  illegal_parameter = 47,
  unknown_ca = 48,
  access_denied = 49,
  decode_error = 50,
  decrypt_error = 51,
  protocol_version = 70,
  insufficient_security = 71,
  internal_error = 80,
  inappropriate_fallback = 86,
  user_canceled = 90,
  missing_extension = 109,
  unsupported_extension = 110,
  unrecognized_name = 112,
  bad_certificate_status_response = 113,
  unknown_psk_identity = 115,
  certificate_required = 116,
  no_application_protocol = 120,
};

// alert_name returns the RFC's name of |a| ("decode_error"), or "unknown".
const char* alert_name(Alert a) noexcept;

// Cipher suites (RFC 8446 App. B.4).
inline constexpr uint16_t kTlsAes128GcmSha256 = 0x1301;
inline constexpr uint16_t kTlsAes256GcmSha384 = 0x1302;
inline constexpr uint16_t kTlsChacha20Poly1305Sha256 = 0x1303;

// Named groups (RFC 8446 §4.2.7, draft-ietf-tls-ecdhe-mlkem).
inline constexpr uint16_t kGroupSecp256r1 = 0x0017;
inline constexpr uint16_t kGroupSecp384r1 = 0x0018;
inline constexpr uint16_t kGroupX25519 = 0x001d;
inline constexpr uint16_t kGroupX25519Mlkem768 = 0x11ec;

// Signature schemes (RFC 8446 §4.2.3).
inline constexpr uint16_t kSigEcdsaSecp256r1Sha256 = 0x0403;
inline constexpr uint16_t kSigEcdsaSecp384r1Sha384 = 0x0503;
inline constexpr uint16_t kSigRsaPssRsaeSha256 = 0x0804;
inline constexpr uint16_t kSigRsaPssRsaeSha384 = 0x0805;
inline constexpr uint16_t kSigRsaPssRsaeSha512 = 0x0806;
inline constexpr uint16_t kSigEd25519 = 0x0807;
inline constexpr uint16_t kSigRsaPkcs1Sha256 = 0x0401;

inline constexpr uint16_t kTls12 = 0x0303;
inline constexpr uint16_t kTls13 = 0x0304;

// is_grease reports whether |v| is one of RFC 8701's reserved values
// 0x0A0A, 0x1A1A, ..., 0xFAFA (cipher suites, groups, extensions, versions).
constexpr bool is_grease(uint16_t v) noexcept {
  return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

// kMaxPlaintext is the TLSInnerPlaintext content limit, 2^14 (RFC 8446 §5.1).
inline constexpr size_t kMaxPlaintext = 16384;
// kMaxCiphertext is the TLSCiphertext length limit, 2^14 + 256 (§5.2).
inline constexpr size_t kMaxCiphertext = kMaxPlaintext + 256;
// kRecordHeaderLen is the 5-byte record header.
inline constexpr size_t kRecordHeaderLen = 5;

// Outcome is success, or the alert a failure calls for plus a static reason.
class [[nodiscard]] Outcome {
 public:
  constexpr Outcome() noexcept = default;
  static constexpr Outcome success() noexcept { return Outcome(); }
  static constexpr Outcome fail(Alert a, const char* why) noexcept { return Outcome(a, why); }

  constexpr bool ok() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  // alert is the alert to send (meaningful only when !ok()).
  constexpr Alert alert() const noexcept { return alert_; }
  // what is a static English reason, "" on success.
  constexpr const char* what() const noexcept { return what_; }
  // errc maps the alert onto sluice's error codes: decode_error -> malformed,
  // record_overflow -> frame_too_large, bad_record_mac -> decrypt_failed,
  // decrypt_error -> tls_handshake_failed, protocol_version ->
  // unsupported_version, internal_error -> internal, certificate alerts ->
  // cert_verify_failed, anything else -> protocol_violation; ok on success.
  Errc errc() const noexcept;

 private:
  constexpr Outcome(Alert a, const char* why) noexcept : ok_(false), alert_(a), what_(why) {}
  bool ok_ = true;
  Alert alert_ = Alert::close_notify;
  const char* what_ = "";
};

}  // namespace sluice::tls13

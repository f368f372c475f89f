// proto/tls13/messages.hpp: TLS 1.3 handshake message framing, extension
// blocks and the messages' decoders and encoders (RFC 8446 §4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Decoders are strict: a length that overruns its container, bytes left over
// after a structure, an empty vector the RFC requires non-empty or an odd
// length in a list of 16-bit values is decode_error; a value outside what
// TLS 1.3 allows (compression methods other than {null}, a session id over 32
// bytes, a duplicated extension, pre_shared_key not last, a KeyUpdate request
// other than 0/1) is illegal_parameter. Every decoded view borrows the input
// bytes: the caller keeps them alive while it uses the message. Nothing here
// allocates while decoding; encoders append to a std::vector.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proto/parse_result.hpp"
#include "proto/tls13/types.hpp"

namespace sluice::tls13 {

using Bytes = std::span<const uint8_t>;

// kHelloRetryRequestRandom is SHA-256("HelloRetryRequest"), the Random a
// ServerHello carries when it is a HelloRetryRequest (§4.1.3).
extern const std::array<uint8_t, 32> kHelloRetryRequestRandom;

// ---------------------------------------------------------------------------
// Handshake framing: msg_type(1) length(3) body
// ---------------------------------------------------------------------------

struct HandshakeView {
  HandshakeType type = HandshakeType::client_hello;
  Bytes body;  // the message body (borrowed)
  Bytes raw;   // header + body, as hashed into the transcript (borrowed)
};

// max_handshake_len returns the largest body the engine accepts for |type|:
// 256 KiB for Certificate and CompressedCertificate, 64 KiB otherwise.
size_t max_handshake_len(HandshakeType type) noexcept;

// next_handshake takes the reassembled handshake bytes received so far and
// answers need_more (incomplete header or body), done with one message, or a
// failure: unexpected_message for an unknown type, decode_error for a length
// over max_handshake_len().
struct HandshakeParse {
  ParseState state = ParseState::need_more;
  Outcome error;
  size_t consumed = 0;
  HandshakeView msg;

  bool done() const noexcept { return state == ParseState::done; }
  bool need_more() const noexcept { return state == ParseState::need_more; }
  bool failed() const noexcept { return state == ParseState::error; }
};
HandshakeParse next_handshake(Bytes in) noexcept;

// ---------------------------------------------------------------------------
// Extensions
// ---------------------------------------------------------------------------

struct Extension {
  uint16_t type = 0;
  Bytes data;
};

// kMaxExtensions bounds an extension block (Chrome sends about 18).
inline constexpr size_t kMaxExtensions = 48;

// ExtensionList is a decoded extension block, in wire order.
struct ExtensionList {
  std::array<Extension, kMaxExtensions> items{};
  size_t count = 0;

  std::span<const Extension> all() const noexcept { return {items.data(), count}; }
  // find returns the extension of |type| or nullptr.
  const Extension* find(uint16_t type) const noexcept;
};

// parse_extensions decodes a whole extension block body (without its 16-bit
// outer length). decode_error on truncation, illegal_parameter on a
// duplicate type or more than kMaxExtensions entries.
Outcome parse_extensions(Bytes block, ExtensionList& out) noexcept;

// ---------------------------------------------------------------------------
// ClientHello (§4.1.2)
// ---------------------------------------------------------------------------

struct ClientHello {
  uint16_t legacy_version = 0;
  Bytes random;             // 32 bytes
  Bytes legacy_session_id;  // 0..32 bytes
  Bytes cipher_suites;      // pairs of bytes, non-empty
  Bytes compression_methods;
  ExtensionList extensions;
  Bytes raw;  // the full message, header included (REALITY authenticates it)
};

// parse_client_hello decodes a ClientHello body; |raw| is the full message
// (header + body) kept in the result.
Outcome parse_client_hello(Bytes body, Bytes raw, ClientHello& out) noexcept;

// ---------------------------------------------------------------------------
// ServerHello / HelloRetryRequest (§4.1.3, §4.1.4)
// ---------------------------------------------------------------------------

struct ServerHello {
  uint16_t legacy_version = 0;
  Bytes random;
  Bytes legacy_session_id_echo;
  uint16_t cipher_suite = 0;
  uint8_t compression_method = 0;
  ExtensionList extensions;
  bool is_hello_retry_request = false;
};

// parse_server_hello decodes a ServerHello body. illegal_parameter for a
// compression method other than 0 or a session id over 32 bytes.
Outcome parse_server_hello(Bytes body, ServerHello& out) noexcept;

// ---------------------------------------------------------------------------
// Extension bodies the handshake needs
// ---------------------------------------------------------------------------

// parse_u16_list decodes a vector<2..2^16-2> of uint16 with a |prefix|-byte
// (1 or 2) length: supported_groups, signature_algorithms, supported_versions
// (ClientHello, prefix 1). decode_error if empty, odd or not filling |data|.
Outcome parse_u16_list(Bytes data, int prefix, Bytes& list) noexcept;

struct KeyShareEntry {
  uint16_t group = 0;
  Bytes key_exchange;
};
inline constexpr size_t kMaxKeyShares = 8;

// parse_client_key_shares decodes a ClientHello key_share body; decode_error
// on truncation or an empty key, illegal_parameter on a repeated group or
// more than kMaxKeyShares entries.
Outcome parse_client_key_shares(Bytes data, std::array<KeyShareEntry, kMaxKeyShares>& out,
                                size_t& count) noexcept;
// parse_server_key_share decodes a ServerHello key_share body (one entry).
Outcome parse_server_key_share(Bytes data, KeyShareEntry& out) noexcept;
// parse_hrr_key_share decodes a HelloRetryRequest key_share body (a group).
Outcome parse_hrr_key_share(Bytes data, uint16_t& group) noexcept;
// parse_server_supported_version decodes a ServerHello supported_versions.
Outcome parse_server_supported_version(Bytes data, uint16_t& version) noexcept;

// ---------------------------------------------------------------------------
// Server flight and post-handshake messages
// ---------------------------------------------------------------------------

// parse_encrypted_extensions decodes an EncryptedExtensions body.
Outcome parse_encrypted_extensions(Bytes body, ExtensionList& out) noexcept;

struct CertificateEntry {
  Bytes cert_data;   // DER X.509
  Bytes extensions;  // the raw extension block body
};
inline constexpr size_t kMaxCertificates = 16;

struct Certificate {
  Bytes request_context;
  std::array<CertificateEntry, kMaxCertificates> entries{};
  size_t count = 0;
};

// parse_certificate decodes a Certificate body. decode_error on truncation or
// an empty certificate, illegal_parameter on a chain longer than
// kMaxCertificates or a malformed per-entry extension block.
Outcome parse_certificate(Bytes body, Certificate& out) noexcept;

// CompressedCertificate (RFC 8879 §4): the algorithm, the declared length of
// the Certificate body it decompresses to and the compressed bytes.
struct CompressedCertificate {
  uint16_t algorithm = 0;
  uint32_t uncompressed_length = 0;
  Bytes compressed;
};
// parse_compressed_certificate: decode_error on truncation, trailing bytes
// or an empty compressed_certificate_message (it is <1..2^24-1>).
Outcome parse_compressed_certificate(Bytes body, CompressedCertificate& out) noexcept;

struct CertificateVerify {
  uint16_t scheme = 0;
  Bytes signature;
};
Outcome parse_certificate_verify(Bytes body, CertificateVerify& out) noexcept;

// parse_finished checks that the body is exactly |hash_len| bytes
// (decode_error otherwise) and returns it.
Outcome parse_finished(Bytes body, size_t hash_len, Bytes& verify_data) noexcept;

struct NewSessionTicket {
  uint32_t lifetime = 0;  // seconds, at most 604800 (7 days)
  uint32_t age_add = 0;
  Bytes nonce;
  Bytes ticket;
  ExtensionList extensions;
};
// parse_new_session_ticket: decode_error on truncation or an empty ticket,
// illegal_parameter on a lifetime over 7 days.
Outcome parse_new_session_ticket(Bytes body, NewSessionTicket& out) noexcept;

// pre_shared_key in a ClientHello (RFC 8446 §4.2.11): identities<7..2^16-1>
// of {identity<1..2^16-1>, obfuscated_ticket_age}, then binders<33..2^16-1>
// of binder<32..255>. The first kMaxPskIdentities entries are kept; all are
// checked. binders_len is the length of the binders list with its 2-byte
// prefix: the ClientHello is hashed without those trailing bytes for the
// binders (§4.2.11.2).
struct PskIdentity {
  Bytes identity;
  uint32_t obfuscated_ticket_age = 0;
};
inline constexpr size_t kMaxPskIdentities = 8;
struct OfferedPsks {
  std::array<PskIdentity, kMaxPskIdentities> identities{};
  std::array<Bytes, kMaxPskIdentities> binders{};
  size_t count = 0;  // identities (and binders) in the extension
  size_t binders_len = 0;
};
// parse_offered_psks: decode_error on truncation, an empty list or identity,
// or a binder shorter than 32 bytes; illegal_parameter when the numbers of
// identities and binders differ.
Outcome parse_offered_psks(Bytes data, OfferedPsks& out) noexcept;

// encode_new_session_ticket appends a NewSessionTicket with no extensions;
// false if the nonce is over 255 bytes or the ticket empty or over 2^16-1.
bool encode_new_session_ticket(uint32_t lifetime, uint32_t age_add, Bytes nonce, Bytes ticket,
                               std::vector<uint8_t>& out);

// parse_key_update returns the request_update flag; illegal_parameter for a
// value other than 0 or 1, decode_error for a body that is not one byte.
Outcome parse_key_update(Bytes body, bool& update_requested) noexcept;

// ---------------------------------------------------------------------------
// Encoders (append a whole handshake message, header included)
// ---------------------------------------------------------------------------

struct ClientHelloFields {
  std::array<uint8_t, 32> random{};
  std::vector<uint8_t> legacy_session_id;  // 0..32 bytes
  std::vector<uint16_t> cipher_suites;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> extensions;  // in wire order
};
// encode_client_hello appends the ClientHello; false if a field overflows its
// length prefix or the session id is over 32 bytes.
bool encode_client_hello(const ClientHelloFields& f, std::vector<uint8_t>& out);

struct ServerHelloFields {
  std::array<uint8_t, 32> random{};
  std::vector<uint8_t> legacy_session_id_echo;
  uint16_t cipher_suite = 0;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> extensions;
};
bool encode_server_hello(const ServerHelloFields& f, std::vector<uint8_t>& out);

// encode_handshake appends type || u24 length || body.
bool encode_handshake(HandshakeType type, Bytes body, std::vector<uint8_t>& out);
// encode_finished appends a Finished carrying |verify_data|.
bool encode_finished(Bytes verify_data, std::vector<uint8_t>& out);
// encode_key_update appends a KeyUpdate.
bool encode_key_update(bool update_requested, std::vector<uint8_t>& out);

}  // namespace sluice::tls13

// proto/tls13/record.hpp: the TLS 1.3 record layer (RFC 8446 §5): framing of
// the byte stream into records and AEAD protection in place on pool Chunks.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// In place: seal() takes a Slice holding the content and turns it, without
// moving it, into the whole protected record: the 5-byte header goes into the
// headroom, the inner content type, the padding and the 16-byte tag into the
// tailroom.
//
//   before seal:  [ headroom | content                                  | tailroom ]
//   after seal:   [ .. | hdr(5) | ciphertext(content | type | zeros) | tag(16) | .. ]
//
// open() does the reverse on a Slice holding one whole record (as framed by
// next_record()): afterwards the Slice views the content only, the header,
// type byte, padding and tag trimmed off. One AEAD pass each way, no copy,
// no allocation.
//
// RecordProtection is one direction (read or write) of one epoch's keys plus
// its 64-bit sequence number; update() moves to the next application traffic
// secret (KeyUpdate, §4.6.3, §7.2) and restarts the sequence at 0.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "proto/tls13/key_schedule.hpp"
#include "proto/tls13/types.hpp"
#include "sluice/buffer.hpp"
#include "sluice/cipher.hpp"

namespace sluice::tls13 {

// kSealOverhead is the tailroom seal() needs besides the padding: the inner
// content type and the tag.
inline constexpr size_t kSealOverhead = 1 + kAeadTagLen;

struct RecordView {
  ContentType type = ContentType::invalid;
  std::span<const uint8_t> body;  // the fragment after the header (borrowed)
};

// RecordParse is next_record()'s answer; see proto/parse_result.hpp for the
// need_more / done / error states. consumed is header + body on done.
struct RecordParse {
  ParseState state = ParseState::need_more;
  Outcome error;
  size_t consumed = 0;
  RecordView record;

  bool done() const noexcept { return state == ParseState::done; }
  bool need_more() const noexcept { return state == ParseState::need_more; }
  bool failed() const noexcept { return state == ParseState::error; }
};

// next_record frames the next record out of |in|. |protected_epoch| says
// whether records are being encrypted (then an application_data body may be
// up to 2^14 + 256 bytes; otherwise plaintext bodies are limited to 2^14).
// Errors: unexpected_message for an unknown content type, protocol_version
// for a legacy version whose major byte is not 3, record_overflow for an
// oversized body, decode_error for an empty handshake or alert fragment.
RecordParse next_record(std::span<const uint8_t> in, bool protected_epoch) noexcept;

// write_record_header writes type || 0x0303 || length into |out| (5 bytes).
void write_record_header(uint8_t* out, ContentType type, uint16_t length) noexcept;

class RecordProtection {
 public:
  RecordProtection() noexcept = default;
  RecordProtection(RecordProtection&&) noexcept = default;
  RecordProtection& operator=(RecordProtection&&) noexcept = default;

  // init keys this direction from |traffic_secret| with the sequence at 0.
  [[nodiscard]] Status init(const CipherSuite& suite,
                            std::span<const uint8_t> traffic_secret) noexcept;
  // update moves to the next traffic secret (KeyUpdate) with the sequence
  // at 0; invalid_state unless init() ran.
  [[nodiscard]] Status update() noexcept;
  // clear wipes the keys; active() becomes false.
  void clear() noexcept;

  bool active() const noexcept { return aead_.valid(); }
  uint64_t sequence() const noexcept { return seq_; }
  const Secret& traffic_secret() const noexcept { return secret_; }

  // seal protects |s|, which holds up to 2^14 bytes of |type| content, as one
  // record followed by |padding| zero bytes of padding; on success |s| holds
  // the whole record. invalid_argument for content over 2^14, content plus
  // type plus padding over 2^14 + 1 (§5.4) or a Slice that is not unique(); buffer_too_small
  // without kRecordHeaderLen of headroom or kSealOverhead + padding of tailroom; invalid_state
  // without keys; limit_exceeded when the sequence number is exhausted. |s| is unchanged on
  // failure.
  [[nodiscard]] Status seal(Slice& s, ContentType type, size_t padding = 0) noexcept;

  // open authenticates and decrypts |record| (a unique() Slice of one whole
  // record: header and body) in place; on success it views the content and
  // |type| is the inner content type. Alerts: bad_record_mac when the tag
  // does not verify (or the body is shorter than a tag and a type byte),
  // record_overflow for inner plaintext over 2^14 + 1, unexpected_message
  // for an all-zero inner plaintext or an empty handshake or alert content,
  // internal_error without keys, a shared Slice or an exhausted sequence.
  Outcome open(Slice& record, ContentType& type) noexcept;

  // seal_span and open_span are the same operations on plain memory, for the
  // handshake flights the engine builds in a vector. seal_span: |buf| starts
  // with kRecordHeaderLen free bytes, then |content_len| bytes of content,
  // and has room after them for kSealOverhead + |padding|; returns the record
  // length. open_span: |record| is one whole record; on success |content|
  // views the content inside it.
  [[nodiscard]] Result<size_t> seal_span(std::span<uint8_t> buf, size_t content_len,
                                         ContentType type, size_t padding = 0) noexcept;
  Outcome open_span(std::span<uint8_t> record, ContentType& type,
                    std::span<uint8_t>& content) noexcept;

  // seal_from protects |inner|, a whole TLSInnerPlaintext the caller
  // composed (content, then the type byte, then any zero padding), into
  // |out|: header, ciphertext and tag, out-of-place in the one AEAD pass
  // (|inner| and |out| must not overlap), so a transport encrypts straight
  // from a buffer it cannot grow in place. Returns the record length,
  // kRecordHeaderLen + inner.size() + kAeadTagLen. Errors as seal_span;
  // invalid_argument for an empty |inner|.
  [[nodiscard]] Result<size_t> seal_from(std::span<const uint8_t> inner,
                                         std::span<uint8_t> out) noexcept;

 private:
  Status check_seal(size_t content_len, size_t padding) const noexcept;
  Outcome finish_open(uint8_t* plain, size_t len, ContentType& type, size_t& content_len) noexcept;

  void nonce(std::span<uint8_t, kAeadNonceLen> out) const noexcept;

  const CipherSuite* suite_ = nullptr;
  Aead aead_;
  std::array<uint8_t, kAeadNonceLen> iv_{};
  Secret secret_;
  uint64_t seq_ = 0;
};

}  // namespace sluice::tls13

// tls_record.hpp: RecordCipher, one direction of TLS 1.3 record protection
// (RFC 8446 section 5.2), sealing and opening in place.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// TlsConnection lets BoringSSL run the handshake and then takes the
// traffic secrets and sequence numbers over, so bulk records are sealed and
// opened by this class directly on pool chunks: no copy into or out of
// BoringSSL's buffers and no allocation per record. (BoringSSL's own in-place
// API, bssl::SealRecord / bssl::OpenRecord, refuses TLS 1.3 in the version
// Debian ships: it returns an error for any protocol above TLS 1.2.)
//
// A record on the wire:
//
//   header (5)           ciphertext of content || type (1)    tag (16)
//   [23 03 03 len len]   [ ... n bytes ... ][ t ]              [ .... ]
//                        `- out (== in or disjoint) -'`--- tail (17) ---'
//
// The header is the additional data; the content type travels encrypted as
// the last plaintext byte (BoringSSL's extra_in), so a record's ciphertext and
// its type+tag may sit in different buffers.
//
// State: the AEAD key schedule inline (no heap), the static IV, the
// sequence number and the current traffic secret (for KeyUpdate). Move-only
// is not needed: it lives inside TlsConnection. Threads: its connection's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/cipher.hpp"
#include "sluice/error.hpp"

namespace sluice::tls {

// RFC 8446 section 5.1/5.2 limits.
inline constexpr size_t kRecordHeaderLen = 5;
inline constexpr size_t kMaxPlaintextLen = 16384;                    // 2^14
inline constexpr size_t kMaxCiphertextLen = kMaxPlaintextLen + 256;  // 2^14 + 256
// kRecordTailLen: the encrypted content type plus the tag.
inline constexpr size_t kRecordTailLen = 1 + kAeadTagLen;
// kRecordOverhead: what sealing adds to n bytes of content.
inline constexpr size_t kRecordOverhead = kRecordHeaderLen + kRecordTailLen;

// TLS content types (RFC 8446 section 5.1).
inline constexpr uint8_t kContentAlert = 21;
inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kContentApplicationData = 23;

class RecordCipher {
 public:
  RecordCipher() noexcept = default;
  ~RecordCipher();
  RecordCipher(const RecordCipher&) = delete;
  RecordCipher& operator=(const RecordCipher&) = delete;

  // init keys this direction from a TLS 1.3 traffic secret (RFC 8446
  // section 7.3) for the cipher suite |suite| (0x1301, 0x1302 or 0x1303),
  // with |seq| the next record's sequence number. invalid_argument for
  // another suite or a secret of the wrong length.
  [[nodiscard]] Status init(uint16_t suite, std::span<const uint8_t> secret, uint64_t seq) noexcept;
  // update moves to the next traffic secret (RFC 8446 section 7.2) and
  // sequence number 0: what a KeyUpdate does.
  [[nodiscard]] Status update() noexcept;
  bool valid() const noexcept { return valid_; }
  uint64_t seq() const noexcept { return seq_; }

  // seal protects one record of content type |type|: writes the 5-byte
  // header to |hdr|, the ciphertext of in[0, len) to |out| (== in or not
  // overlapping) and the encrypted type plus the tag (kRecordTailLen bytes)
  // to |tail|; len <= kMaxPlaintextLen. Uses and advances the sequence number.
  [[nodiscard]] Status seal(uint8_t type, const uint8_t* in, size_t len, uint8_t* hdr, uint8_t* out,
                            uint8_t* tail) noexcept;

  // open verifies and decrypts one record: |hdr| its 5 header bytes, |in|
  // its |len| bytes of ciphertext and tag, the plaintext (len - 16 bytes:
  // content, type, padding) to |out| (== in or not overlapping). Returns the
  // plaintext length; decrypt_failed if the record does not authenticate.
  [[nodiscard]] Result<size_t> open(const uint8_t* hdr, const uint8_t* in, size_t len,
                                    uint8_t* out) noexcept;

 private:
  void clear() noexcept;
  Status key_from_secret() noexcept;
  void nonce(uint8_t out[kAeadNonceLen]) const noexcept;

  alignas(16) unsigned char ctx_[Aead::kCtxSize];  // an EVP_AEAD_CTX while valid_
  uint8_t iv_[kAeadNonceLen] = {};
  uint8_t secret_[48] = {};  // the current traffic secret (SHA-256 or SHA-384 long)
  uint64_t seq_ = 0;         // the next record's sequence number
  uint16_t suite_ = 0;
  uint8_t secret_len_ = 0;
  bool valid_ = false;
};

}  // namespace sluice::tls

// proto/tls13/record.cpp: see record.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/record.hpp"

#include <cstring>
#include <limits>

namespace sluice::tls13 {

RecordParse next_record(std::span<const uint8_t> in, bool protected_epoch) noexcept {
  RecordParse r;
  if (in.size() < kRecordHeaderLen) return r;
  auto fail = [&r](Alert a, const char* why) {
    r.state = ParseState::error;
    r.error = Outcome::fail(a, why);
    return r;
  };
  const auto type = static_cast<ContentType>(in[0]);
  switch (type) {
    case ContentType::change_cipher_spec:
    case ContentType::alert:
    case ContentType::handshake:
    case ContentType::application_data:
      break;
    default:
      return fail(Alert::unexpected_message, "unknown record content type");
  }
  if (in[1] != 3) return fail(Alert::protocol_version, "record version is not 3.x");
  const size_t len = size_t{in[3]} << 8 | in[4];
  const bool ciphertext = protected_epoch && type == ContentType::application_data;
  if (len > (ciphertext ? kMaxCiphertext : kMaxPlaintext))
    return fail(Alert::record_overflow, "record longer than the protocol allows");
  if (len == 0 && (type == ContentType::handshake || type == ContentType::alert))
    return fail(Alert::decode_error, "empty handshake or alert record");
  if (in.size() < kRecordHeaderLen + len) return r;
  r.state = ParseState::done;
  r.consumed = kRecordHeaderLen + len;
  r.record.type = type;
  r.record.body = in.subspan(kRecordHeaderLen, len);
  return r;
}

void write_record_header(uint8_t* out, ContentType type, uint16_t length) noexcept {
  out[0] = static_cast<uint8_t>(type);
  out[1] = 0x03;
  out[2] = 0x03;
  out[3] = static_cast<uint8_t>(length >> 8);
  out[4] = static_cast<uint8_t>(length);
}

Status RecordProtection::init(const CipherSuite& suite,
                              std::span<const uint8_t> traffic_secret) noexcept {
  clear();
  if (traffic_secret.size() != suite.hash_len()) return Errc::invalid_argument;
  TrafficKeys keys;
  if (Status s = derive_traffic_keys(suite, traffic_secret, keys); !s) return s;
  if (Status s = aead_.init(suite.aead, keys.key_span()); !s) return s;
  suite_ = &suite;
  iv_ = keys.iv;
  secret_.len = traffic_secret.size();
  std::memcpy(secret_.bytes.data(), traffic_secret.data(), traffic_secret.size());
  seq_ = 0;
  return {};
}

Status RecordProtection::update() noexcept {
  if (!active()) return Errc::invalid_state;
  Secret next;
  if (Status s = next_traffic_secret(*suite_, secret_.span(), next); !s) return s;
  return init(*suite_, next.span());
}

void RecordProtection::clear() noexcept {
  aead_.clear();
  secure_wipe(iv_);
  secure_wipe(secret_.bytes);
  secret_.len = 0;
  seq_ = 0;
}

void RecordProtection::nonce(std::span<uint8_t, kAeadNonceLen> out) const noexcept {
  xor_nonce(iv_, seq_, out);
}

Status RecordProtection::check_seal(size_t content_len, size_t padding) const noexcept {
  if (!active()) return Errc::invalid_state;
  if (content_len > kMaxPlaintext) return Errc::invalid_argument;
  // The encoded TLSInnerPlaintext may not exceed 2^14 + 1 bytes (§5.4).
  if (padding > kMaxPlaintext || content_len + 1 + padding > kMaxPlaintext + 1)
    return Errc::invalid_argument;
  if (seq_ == std::numeric_limits<uint64_t>::max()) return Errc::limit_exceeded;
  return {};
}

Status RecordProtection::seal(Slice& s, ContentType type, size_t padding) noexcept {
  if (!s.unique()) return Errc::invalid_argument;
  if (Status st = check_seal(s.size(), padding); !st) return st;
  if (s.headroom() < kRecordHeaderLen || s.tailroom() < kSealOverhead + padding)
    return Errc::buffer_too_small;
  const size_t content_len = s.size();
  const size_t inner = content_len + 1 + padding;
  uint8_t* tail = s.append(1 + padding);
  tail[0] = static_cast<uint8_t>(type);
  std::memset(tail + 1, 0, padding);
  std::array<uint8_t, kRecordHeaderLen> header;
  write_record_header(header.data(), ContentType::application_data,
                      static_cast<uint16_t>(inner + kAeadTagLen));
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  if (Status st = aead_.seal_in_place(n, header, s); !st) {
    s.truncate(content_len);
    return st;
  }
  std::memcpy(s.prepend(kRecordHeaderLen), header.data(), kRecordHeaderLen);
  ++seq_;
  return {};
}

Result<size_t> RecordProtection::seal_span(std::span<uint8_t> buf, size_t content_len,
                                           ContentType type, size_t padding) noexcept {
  if (Status st = check_seal(content_len, padding); !st) return st.error();
  const size_t inner = content_len + 1 + padding;
  const size_t total = kRecordHeaderLen + inner + kAeadTagLen;
  if (buf.size() < total) return Errc::buffer_too_small;
  uint8_t* body = buf.data() + kRecordHeaderLen;
  body[content_len] = static_cast<uint8_t>(type);
  std::memset(body + content_len + 1, 0, padding);
  write_record_header(buf.data(), ContentType::application_data,
                      static_cast<uint16_t>(inner + kAeadTagLen));
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  auto sealed = aead_.seal_in_place(n, buf.first(kRecordHeaderLen),
                                    buf.subspan(kRecordHeaderLen, inner + kAeadTagLen), inner);
  if (!sealed) return sealed.error();
  ++seq_;
  return total;
}

Outcome RecordProtection::finish_open(uint8_t* p, size_t len, ContentType& type,
                                      size_t& content_len) noexcept {
  ++seq_;
  if (len > kMaxPlaintext + 1)
    return Outcome::fail(Alert::record_overflow, "inner plaintext longer than 2^14");
  size_t i = len;
  while (i > 0 && p[i - 1] == 0) --i;
  if (i == 0) return Outcome::fail(Alert::unexpected_message, "record without a content type");
  type = static_cast<ContentType>(p[i - 1]);
  content_len = i - 1;
  switch (type) {
    case ContentType::handshake:
    case ContentType::alert:
      if (content_len == 0)
        return Outcome::fail(Alert::unexpected_message, "empty handshake or alert content");
      break;
    case ContentType::application_data:
      break;
    default:
      return Outcome::fail(Alert::unexpected_message, "inner content type not allowed");
  }
  return Outcome::success();
}

namespace {

// check_record validates the header of a whole record before decryption.
Outcome check_record(const uint8_t* rec, size_t size) noexcept {
  if (size < kRecordHeaderLen)
    return Outcome::fail(Alert::internal_error, "open() needs a whole record");
  const size_t body_len = size_t{rec[3]} << 8 | rec[4];
  if (body_len != size - kRecordHeaderLen)
    return Outcome::fail(Alert::internal_error, "open() needs exactly one record");
  if (body_len < kAeadTagLen + 1)
    return Outcome::fail(Alert::bad_record_mac, "record shorter than a tag and a type");
  if (body_len > kMaxCiphertext)
    return Outcome::fail(Alert::record_overflow, "record longer than 2^14 + 256");
  return Outcome::success();
}

}  // namespace

Result<size_t> RecordProtection::seal_from(std::span<const uint8_t> inner,
                                           std::span<uint8_t> out) noexcept {
  if (inner.empty()) return Errc::invalid_argument;
  if (Status st = check_seal(inner.size() - 1, 0); !st) return st.error();
  const size_t total = kRecordHeaderLen + inner.size() + kAeadTagLen;
  if (out.size() < total) return Errc::buffer_too_small;
  write_record_header(out.data(), ContentType::application_data,
                      static_cast<uint16_t>(inner.size() + kAeadTagLen));
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  uint8_t* body = out.data() + kRecordHeaderLen;
  SLUICE_TRY(aead_.seal_scatter(n, out.first(kRecordHeaderLen), inner.data(), inner.size(), body,
                                body + inner.size()));
  ++seq_;
  return total;
}

Outcome RecordProtection::open(Slice& record, ContentType& type) noexcept {
  if (!active()) return Outcome::fail(Alert::internal_error, "no read keys");
  if (!record.unique()) return Outcome::fail(Alert::internal_error, "record buffer is shared");
  if (seq_ == std::numeric_limits<uint64_t>::max())
    return Outcome::fail(Alert::internal_error, "read sequence number exhausted");
  if (Outcome o = check_record(record.data(), record.size()); !o) return o;
  std::array<uint8_t, kRecordHeaderLen> header;
  std::memcpy(header.data(), record.data(), kRecordHeaderLen);
  record.advance(kRecordHeaderLen);
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  if (Status st = aead_.open_in_place(n, header, record); !st)
    return Outcome::fail(Alert::bad_record_mac, "record authentication failed");
  size_t content_len = 0;
  Outcome o = finish_open(record.mutable_data(), record.size(), type, content_len);
  if (o) record.truncate(content_len);
  return o;
}

Outcome RecordProtection::open_span(std::span<uint8_t> record, ContentType& type,
                                    std::span<uint8_t>& content) noexcept {
  if (!active()) return Outcome::fail(Alert::internal_error, "no read keys");
  if (seq_ == std::numeric_limits<uint64_t>::max())
    return Outcome::fail(Alert::internal_error, "read sequence number exhausted");
  if (Outcome o = check_record(record.data(), record.size()); !o) return o;
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  auto opened =
      aead_.open_in_place(n, record.first(kRecordHeaderLen), record.subspan(kRecordHeaderLen));
  if (!opened) return Outcome::fail(Alert::bad_record_mac, "record authentication failed");
  size_t content_len = 0;
  Outcome o = finish_open(record.data() + kRecordHeaderLen, *opened, type, content_len);
  if (o) content = record.subspan(kRecordHeaderLen, content_len);
  return o;
}

}  // namespace sluice::tls13

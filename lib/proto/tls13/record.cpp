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

Status RecordProtection::seal(Slice& s, ContentType type, size_t padding) noexcept {
  if (!active()) return Errc::invalid_state;
  if (!s.unique() || s.size() > kMaxPlaintext) return Errc::invalid_argument;
  if (seq_ == std::numeric_limits<uint64_t>::max()) return Errc::limit_exceeded;
  const size_t inner = s.size() + 1 + padding;
  // The encoded TLSInnerPlaintext may not exceed 2^14 + 1 bytes (§5.4).
  if (padding > kMaxPlaintext || inner > kMaxPlaintext + 1) return Errc::invalid_argument;
  if (s.headroom() < kRecordHeaderLen || s.tailroom() < kSealOverhead + padding)
    return Errc::buffer_too_small;
  const size_t content_len = s.size();
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

Outcome RecordProtection::open(Slice& record, ContentType& type) noexcept {
  if (!active()) return Outcome::fail(Alert::internal_error, "no read keys");
  if (!record.unique()) return Outcome::fail(Alert::internal_error, "record buffer is shared");
  if (record.size() < kRecordHeaderLen)
    return Outcome::fail(Alert::internal_error, "open() needs a whole record");
  if (seq_ == std::numeric_limits<uint64_t>::max())
    return Outcome::fail(Alert::internal_error, "read sequence number exhausted");
  std::array<uint8_t, kRecordHeaderLen> header;
  std::memcpy(header.data(), record.data(), kRecordHeaderLen);
  const size_t body_len = size_t{header[3]} << 8 | header[4];
  if (body_len != record.size() - kRecordHeaderLen)
    return Outcome::fail(Alert::internal_error, "open() needs exactly one record");
  if (body_len < kAeadTagLen + 1)
    return Outcome::fail(Alert::bad_record_mac, "record shorter than a tag and a type");
  if (body_len > kMaxCiphertext)
    return Outcome::fail(Alert::record_overflow, "record longer than 2^14 + 256");
  record.advance(kRecordHeaderLen);
  std::array<uint8_t, kAeadNonceLen> n;
  nonce(n);
  if (Status st = aead_.open_in_place(n, header, record); !st)
    return Outcome::fail(Alert::bad_record_mac, "record authentication failed");
  ++seq_;
  if (record.size() > kMaxPlaintext + 1)
    return Outcome::fail(Alert::record_overflow, "inner plaintext longer than 2^14");
  const uint8_t* p = record.data();
  size_t i = record.size();
  while (i > 0 && p[i - 1] == 0) --i;
  if (i == 0) return Outcome::fail(Alert::unexpected_message, "record without a content type");
  type = static_cast<ContentType>(p[i - 1]);
  record.truncate(i - 1);
  switch (type) {
    case ContentType::handshake:
    case ContentType::alert:
      if (record.empty())
        return Outcome::fail(Alert::unexpected_message, "empty handshake or alert content");
      break;
    case ContentType::application_data:
      break;
    default:
      return Outcome::fail(Alert::unexpected_message, "inner content type not allowed");
  }
  return Outcome::success();
}

}  // namespace sluice::tls13

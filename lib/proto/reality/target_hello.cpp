// proto/reality/target_hello.cpp: see target_hello.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/target_hello.hpp"

#include <algorithm>

namespace sluice::reality {

TargetHelloReader::State TargetHelloReader::read(std::span<const uint8_t> in) {
  if (in.size() > kMaxTargetHelloBytes) in = in.first(kMaxTargetHelloBytes);
  hello_ = {};
  size_t at = 0;
  // Record 1: the ServerHello, alone in a handshake record.
  if (in.size() < tls13::kRecordHeaderLen) return State::need_more;
  if (in[0] != static_cast<uint8_t>(tls13::ContentType::handshake))
    return fail(in[0] == static_cast<uint8_t>(tls13::ContentType::alert)
                    ? "target answered with an alert"
                    : "target sent no TLS handshake record");
  const size_t sh_len = static_cast<size_t>(in[3] << 8 | in[4]);
  if (sh_len < 4 || sh_len > tls13::kMaxPlaintext) return fail("target record length invalid");
  if (in.size() < tls13::kRecordHeaderLen + sh_len) return State::need_more;
  const auto record = in.subspan(tls13::kRecordHeaderLen, sh_len);
  auto hs = tls13::next_handshake(record);
  if (!hs.done() || hs.msg.type != tls13::HandshakeType::server_hello ||
      hs.consumed != record.size())
    return fail("target sent incorrect server hello");
  tls13::ServerHello sh;
  if (!tls13::parse_server_hello(hs.msg.body, sh))
    return fail("target sent incorrect server hello");
  if (sh.is_hello_retry_request) return fail("target asked for a HelloRetryRequest");
  const tls13::Extension* sv = sh.extensions.find(tls13::ext::supported_versions);
  uint16_t version = 0;
  if (sv == nullptr || !tls13::parse_server_supported_version(sv->data, version) ||
      version != tls13::kTls13)
    return fail("target does not speak TLS 1.3");
  const tls13::Extension* ks = sh.extensions.find(tls13::ext::key_share);
  tls13::KeyShareEntry share;
  if (ks == nullptr || !tls13::parse_server_key_share(ks->data, share))
    return fail("target sent incorrect server hello");
  if (share.group != tls13::kGroupX25519 && share.group != tls13::kGroupX25519Mlkem768)
    return fail("target chose a group other than X25519 or X25519MLKEM768");
  if (sh.cipher_suite != tls13::kTlsAes128GcmSha256 &&
      sh.cipher_suite != tls13::kTlsAes256GcmSha384 &&
      sh.cipher_suite != tls13::kTlsChacha20Poly1305Sha256)
    return fail("target chose a cipher suite REALITY cannot mirror");
  for (const auto& e : sh.extensions.all()) {
    if (e.type != tls13::ext::supported_versions && e.type != tls13::ext::key_share)
      return fail("target's ServerHello has an extension REALITY cannot mirror");
    hello_.extension_order.push_back(e.type);
  }
  if (sh.random.size() != hello_.random.size()) return fail("target sent incorrect server hello");
  std::copy(sh.random.begin(), sh.random.end(), hello_.random.begin());
  hello_.cipher_suite = sh.cipher_suite;
  hello_.group = share.group;
  at = tls13::kRecordHeaderLen + sh_len;

  // Record 2: the middlebox-compatibility CCS, exactly.
  static constexpr uint8_t kCcs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
  const size_t have = std::min(in.size() - at, sizeof kCcs);
  if (!std::equal(kCcs, kCcs + have, in.begin() + static_cast<ptrdiff_t>(at)))
    return fail("target sent no ChangeCipherSpec after its ServerHello");
  if (have < sizeof kCcs) return State::need_more;
  at += sizeof kCcs;

  // Then encrypted records: only their lengths matter.
  while (hello_.record_lengths.size() < kFlightRecords && in.size() - at >= 5) {
    if (in[at] != static_cast<uint8_t>(tls13::ContentType::application_data))
      return fail("target sent an unencrypted record after its ServerHello");
    const size_t len = static_cast<size_t>(in[at + 3] << 8 | in[at + 4]);
    if (len == 0 || len > tls13::kMaxCiphertext) return fail("target record length invalid");
    if (in.size() - at - 5 < len) break;
    hello_.record_lengths.push_back(5 + len);
    at += 5 + len;
    if (hello_.record_lengths.size() == 1 && len > kSingleRecordFlight) return State::done;
  }
  if (hello_.record_lengths.empty()) return State::need_more;
  if (hello_.record_lengths.size() < kFlightRecords) return State::partial;
  // A fifth record whose header came along (Xray looks in the same read).
  if (in.size() - at > tls13::kRecordHeaderLen &&
      in[at] == static_cast<uint8_t>(tls13::ContentType::application_data)) {
    const size_t len = static_cast<size_t>(in[at + 3] << 8 | in[at + 4]);
    if (len > 0 && len <= tls13::kMaxCiphertext) hello_.extra_record_length = 5 + len;
  }
  return State::done;
}

size_t TargetHelloReader::flight_record_length() const noexcept {
  size_t total = 0;
  for (size_t l : hello_.record_lengths) total += l;
  // One record holds at most 2^14 bytes of content, its type byte and the tag.
  return std::min(total, tls13::kRecordHeaderLen + tls13::kMaxPlaintext + 1 + 16);
}

tls13::ServerConfig server_config(const TargetHelloReader& target,
                                  const TemporaryCertificate& certificate, const AuthKey& auth_key,
                                  std::span<const size_t> post_handshake) {
  const TargetHello& t = target.hello();
  tls13::ServerConfig c;
  c.certificate_chain = {certificate.signed_for(auth_key)};
  c.key = certificate.key();
  c.cipher_suites = {t.cipher_suite};
  c.groups = {t.group};
  c.hello_template.random = t.random;
  c.hello_template.cipher_suite = t.cipher_suite;
  c.hello_template.extension_order = t.extension_order;
  c.signature_scheme = tls13::kSigEd25519;
  c.flight_record_length = target.flight_record_length();
  if (t.record_lengths.size() == kFlightRecords) {
    c.flight_record_lengths = t.record_lengths;
    c.flight_extra_record_length = t.extra_record_length;
  }
  c.post_handshake_record_lengths.assign(post_handshake.begin(), post_handshake.end());
  return c;
}

}  // namespace sluice::reality

// proto/tls13/key_schedule.cpp: see key_schedule.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tls13/key_schedule.hpp"

#include "proto/tls13/types.hpp"

namespace sluice::tls13 {

namespace {

constexpr CipherSuite kSuites[] = {
    {kTlsAes128GcmSha256, AeadAlgorithm::aes_128_gcm, DigestAlgorithm::sha256,
     "TLS_AES_128_GCM_SHA256"},
    {kTlsAes256GcmSha384, AeadAlgorithm::aes_256_gcm, DigestAlgorithm::sha384,
     "TLS_AES_256_GCM_SHA384"},
    {kTlsChacha20Poly1305Sha256, AeadAlgorithm::chacha20_poly1305, DigestAlgorithm::sha256,
     "TLS_CHACHA20_POLY1305_SHA256"},
};

// empty_hash writes Hash("") of |alg|.
Status empty_hash(DigestAlgorithm alg, Secret& out) noexcept {
  out.len = digest_len(alg);
  return Digest::hash(alg, {}, out.bytes);
}

}  // namespace

const CipherSuite* find_cipher_suite(uint16_t id) noexcept {
  for (const auto& s : kSuites)
    if (s.id == id) return &s;
  return nullptr;
}

Status derive_traffic_keys(const CipherSuite& suite, std::span<const uint8_t> secret,
                           TrafficKeys& out) noexcept {
  out.key_len = suite.key_len();
  if (Status s =
          hkdf_expand_label(suite.hash, secret, "key", {}, std::span(out.key.data(), out.key_len));
      !s)
    return s;
  return hkdf_expand_label(suite.hash, secret, "iv", {}, out.iv);
}

Status next_traffic_secret(const CipherSuite& suite, std::span<const uint8_t> secret,
                           Secret& out) noexcept {
  Secret next;
  next.len = suite.hash_len();
  if (Status s = hkdf_expand_label(suite.hash, secret, "traffic upd", {},
                                   std::span(next.bytes.data(), next.len));
      !s)
    return s;
  out = next;
  return {};
}

Status finished_verify_data(const CipherSuite& suite, std::span<const uint8_t> base_key,
                            std::span<const uint8_t> transcript_hash, Secret& out) noexcept {
  if (transcript_hash.size() != suite.hash_len()) return Errc::invalid_argument;
  Secret finished_key;
  finished_key.len = suite.hash_len();
  if (Status s = hkdf_expand_label(suite.hash, base_key, "finished", {},
                                   std::span(finished_key.bytes.data(), finished_key.len));
      !s)
    return s;
  out.len = suite.hash_len();
  return Hmac::mac(suite.hash, finished_key.span(), transcript_hash, out.bytes);
}

Status KeySchedule::derive(const Secret& from, const char* label, std::span<const uint8_t> hash,
                           Secret& out) const noexcept {
  out.len = suite_->hash_len();
  return derive_secret(suite_->hash, from.span(), label, hash, out.bytes);
}

Status KeySchedule::early(std::span<const uint8_t> psk) noexcept {
  const size_t n = suite_->hash_len();
  const std::array<uint8_t, kMaxSecretLen> zeros{};
  early_.len = n;
  return hkdf_extract(suite_->hash, {}, psk.empty() ? std::span(zeros.data(), n) : psk,
                      early_.bytes);
}

Status KeySchedule::binder_key(Secret& out) const noexcept {
  if (early_.len == 0) return Errc::invalid_state;
  Secret empty;
  if (Status s = empty_hash(suite_->hash, empty); !s) return s;
  return derive(early_, "res binder", empty.span(), out);
}

Status KeySchedule::handshake(std::span<const uint8_t> shared_secret,
                              std::span<const uint8_t> hello_hash) noexcept {
  if (early_.len == 0) return Errc::invalid_state;
  if (hello_hash.size() != suite_->hash_len()) return Errc::invalid_argument;
  Secret empty, derived;
  if (Status s = empty_hash(suite_->hash, empty); !s) return s;
  if (Status s = derive(early_, "derived", empty.span(), derived); !s) return s;
  handshake_.len = suite_->hash_len();
  if (Status s = hkdf_extract(suite_->hash, derived.span(), shared_secret, handshake_.bytes); !s)
    return s;
  if (Status s = derive(handshake_, "c hs traffic", hello_hash, c_hs_); !s) return s;
  return derive(handshake_, "s hs traffic", hello_hash, s_hs_);
}

Status KeySchedule::master(std::span<const uint8_t> server_finished_hash) noexcept {
  if (handshake_.len == 0) return Errc::invalid_state;
  if (server_finished_hash.size() != suite_->hash_len()) return Errc::invalid_argument;
  Secret empty, derived;
  if (Status s = empty_hash(suite_->hash, empty); !s) return s;
  if (Status s = derive(handshake_, "derived", empty.span(), derived); !s) return s;
  const std::array<uint8_t, kMaxSecretLen> zeros{};
  master_.len = suite_->hash_len();
  if (Status s = hkdf_extract(suite_->hash, derived.span(),
                              std::span(zeros.data(), suite_->hash_len()), master_.bytes);
      !s)
    return s;
  if (Status s = derive(master_, "c ap traffic", server_finished_hash, c_ap_); !s) return s;
  if (Status s = derive(master_, "s ap traffic", server_finished_hash, s_ap_); !s) return s;
  return derive(master_, "exp master", server_finished_hash, exporter_);
}

Status KeySchedule::resumption(std::span<const uint8_t> client_finished_hash) noexcept {
  if (master_.len == 0) return Errc::invalid_state;
  if (client_finished_hash.size() != suite_->hash_len()) return Errc::invalid_argument;
  return derive(master_, "res master", client_finished_hash, resumption_);
}

Status KeySchedule::ticket_psk(std::span<const uint8_t> nonce, Secret& out) const noexcept {
  if (resumption_.len == 0) return Errc::invalid_state;
  out.len = suite_->hash_len();
  return hkdf_expand_label(suite_->hash, resumption_.span(), "resumption", nonce,
                           std::span(out.bytes.data(), out.len));
}

}  // namespace sluice::tls13

// tls_record.cpp: RecordCipher, TLS 1.3 record protection on EVP_AEAD.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_record.hpp"

#include <openssl/aead.h>
#include <openssl/err.h>
#include <openssl/mem.h>

#include <cstring>
#include <new>

namespace sluice::tls {

static_assert(sizeof(EVP_AEAD_CTX) <= Aead::kCtxSize);
static_assert(alignof(EVP_AEAD_CTX) <= 16);

namespace {

EVP_AEAD_CTX* ctx_of(unsigned char* storage) noexcept {
  return std::launder(reinterpret_cast<EVP_AEAD_CTX*>(storage));
}

struct Suite {
  const EVP_AEAD* aead;
  size_t key_len;
  DigestAlgorithm hash;
};

// The three TLS 1.3 cipher suites BoringSSL negotiates (RFC 8446 B.4).
bool suite_params(uint16_t suite, Suite* out) noexcept {
  switch (suite) {
    case 0x1301:  // TLS_AES_128_GCM_SHA256
      *out = {EVP_aead_aes_128_gcm(), 16, DigestAlgorithm::sha256};
      return true;
    case 0x1302:  // TLS_AES_256_GCM_SHA384
      *out = {EVP_aead_aes_256_gcm(), 32, DigestAlgorithm::sha384};
      return true;
    case 0x1303:  // TLS_CHACHA20_POLY1305_SHA256
      *out = {EVP_aead_chacha20_poly1305(), 32, DigestAlgorithm::sha256};
      return true;
    default:
      return false;
  }
}

}  // namespace

RecordCipher::~RecordCipher() {
  clear();
  OPENSSL_cleanse(secret_, sizeof secret_);
}

void RecordCipher::clear() noexcept {
  if (valid_) EVP_AEAD_CTX_cleanup(ctx_of(ctx_));
  valid_ = false;
}

Status RecordCipher::init(uint16_t suite, std::span<const uint8_t> secret, uint64_t seq) noexcept {
  Suite s;
  if (!suite_params(suite, &s) || secret.size() != digest_len(s.hash))
    return Errc::invalid_argument;
  suite_ = suite;
  secret_len_ = static_cast<uint8_t>(secret.size());
  std::memcpy(secret_, secret.data(), secret.size());
  SLUICE_TRY(key_from_secret());
  seq_ = seq;
  return {};
}

// RFC 8446 section 7.3: key = HKDF-Expand-Label(secret, "key", "", key_length),
// iv = HKDF-Expand-Label(secret, "iv", "", iv_length).
Status RecordCipher::key_from_secret() noexcept {
  clear();
  Suite s;
  if (!suite_params(suite_, &s)) return Errc::invalid_argument;
  const std::span<const uint8_t> secret(secret_, secret_len_);
  uint8_t key[32];
  Status st = hkdf_expand_label(s.hash, secret, "key", {}, {key, s.key_len});
  if (st) st = hkdf_expand_label(s.hash, secret, "iv", {}, {iv_, sizeof iv_});
  if (st && !EVP_AEAD_CTX_init(ctx_of(ctx_), s.aead, key, s.key_len, kAeadTagLen, nullptr))
    st = Errc::crypto_failure;
  OPENSSL_cleanse(key, sizeof key);
  if (st) valid_ = true;
  return st;
}

// RFC 8446 section 7.2: application_traffic_secret_N+1 =
// HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length).
Status RecordCipher::update() noexcept {
  Suite s;
  if (!valid_ || !suite_params(suite_, &s)) return Errc::invalid_state;
  uint8_t next[48];
  SLUICE_TRY(
      hkdf_expand_label(s.hash, {secret_, secret_len_}, "traffic upd", {}, {next, secret_len_}));
  std::memcpy(secret_, next, secret_len_);
  OPENSSL_cleanse(next, sizeof next);
  seq_ = 0;
  return key_from_secret();
}

void RecordCipher::nonce(uint8_t out[kAeadNonceLen]) const noexcept {
  xor_nonce(std::span<const uint8_t, kAeadNonceLen>(iv_, kAeadNonceLen), seq_,
            std::span<uint8_t, kAeadNonceLen>(out, kAeadNonceLen));
}

Status RecordCipher::seal(uint8_t type, const uint8_t* in, size_t len, uint8_t* hdr, uint8_t* out,
                          uint8_t* tail) noexcept {
  if (!valid_) return Errc::invalid_state;
  if (len > kMaxPlaintextLen) return Errc::invalid_argument;
  // The sequence number must never wrap (RFC 8446 section 5.3).
  if (seq_ == UINT64_MAX) return Errc::protocol_violation;
  const size_t body = len + kRecordTailLen;
  hdr[0] = kContentApplicationData;  // TLSCiphertext.opaque_type
  hdr[1] = 0x03;                     // legacy_record_version 0x0303
  hdr[2] = 0x03;
  hdr[3] = static_cast<uint8_t>(body >> 8);
  hdr[4] = static_cast<uint8_t>(body);
  uint8_t n[kAeadNonceLen];
  nonce(n);
  size_t tail_len = 0;
  static uint8_t empty_byte;
  if (len == 0) in = out = &empty_byte;
  if (!EVP_AEAD_CTX_seal_scatter(ctx_of(ctx_), out, tail, &tail_len, kRecordTailLen, n, sizeof n,
                                 in, len, &type, 1, hdr, kRecordHeaderLen) ||
      tail_len != kRecordTailLen)
    return Errc::crypto_failure;
  ++seq_;
  return {};
}

Result<size_t> RecordCipher::open(const uint8_t* hdr, const uint8_t* in, size_t len,
                                  uint8_t* out) noexcept {
  if (!valid_) return Errc::invalid_state;
  if (len < kAeadTagLen) return Errc::decrypt_failed;
  if (seq_ == UINT64_MAX) return Errc::protocol_violation;
  uint8_t n[kAeadNonceLen];
  nonce(n);
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_open(ctx_of(ctx_), out, &out_len, len - kAeadTagLen, n, sizeof n, in, len, hdr,
                         kRecordHeaderLen)) {
    ERR_clear_error();
    return Errc::decrypt_failed;
  }
  ++seq_;
  return out_len;
}

}  // namespace sluice::tls

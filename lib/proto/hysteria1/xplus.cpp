// proto/hysteria1/xplus.cpp: Hysteria v1's XPlus packet obfuscation.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria1/xplus.hpp"

namespace sluice::hysteria1 {

XPlus::XPlus(std::string_view password) noexcept { base_.update(password.data(), password.size()); }

void XPlus::key(std::span<const uint8_t, kSaltLen> salt, std::span<uint8_t, kKeyLen> out) noexcept {
  Digest h = base_;  // fork the state that holds the password
  h.update(salt);
  (void)h.finish(out);  // out is exactly the SHA-256 length
}

namespace {
void xor_key(const uint8_t* in, size_t len, const uint8_t* k, uint8_t* out) noexcept {
  size_t i = 0;
  for (; i + XPlus::kKeyLen <= len; i += XPlus::kKeyLen)
    for (size_t j = 0; j < XPlus::kKeyLen; ++j) out[i + j] = in[i + j] ^ k[j];
  for (size_t j = 0; i < len; ++i, ++j) out[i] = in[i] ^ k[j];
}
}  // namespace

void XPlus::encode_with_salt(std::span<const uint8_t, kSaltLen> salt, const uint8_t* in, size_t len,
                             uint8_t* out) noexcept {
  uint8_t k[kKeyLen];
  key(salt, k);
  for (size_t i = 0; i < kSaltLen; ++i) out[i] = salt[i];
  xor_key(in, len, k, out + kSaltLen);
}

void XPlus::encode(const uint8_t* in, size_t len, uint8_t* out) noexcept {
  uint8_t salt[kSaltLen];
  random_bytes(salt);
  encode_with_salt(salt, in, len, out);
}

size_t XPlus::decode(uint8_t* data, size_t len) noexcept {
  if (len <= kSaltLen) return 0;
  uint8_t k[kKeyLen];
  key(std::span<const uint8_t, kSaltLen>(data, kSaltLen), k);
  xor_key(data + kSaltLen, len - kSaltLen, k, data + kSaltLen);
  return len - kSaltLen;
}

}  // namespace sluice::hysteria1

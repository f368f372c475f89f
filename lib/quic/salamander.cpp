// salamander.cpp: Hysteria v2's Salamander packet obfuscation.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic/salamander.hpp"

#include <new>

namespace sluice::quic {

Salamander::Salamander(std::string_view psk) noexcept {
  base_.update({reinterpret_cast<const uint8_t*>(psk.data()), psk.size()});
}

Result<std::shared_ptr<Salamander>> Salamander::create(std::string_view psk) {
  if (psk.size() < kMinPsk) return Errc::invalid_argument;
  std::shared_ptr<Salamander> s(new (std::nothrow) Salamander(psk));
  if (!s) return Errc::no_memory;
  return s;
}

void Salamander::key(std::span<const uint8_t, kSaltLen> salt,
                     std::span<uint8_t, kBlake2b256Len> out) noexcept {
  Blake2b256 h = base_;  // fork the state that holds the PSK
  h.update(salt);
  h.finish(out);
}

namespace {
void xor_key(const uint8_t* in, size_t len, const uint8_t* k, uint8_t* out) noexcept {
  size_t i = 0;
  for (; i + kBlake2b256Len <= len; i += kBlake2b256Len)
    for (size_t j = 0; j < kBlake2b256Len; ++j) out[i + j] = in[i + j] ^ k[j];
  for (size_t j = 0; i < len; ++i, ++j) out[i] = in[i] ^ k[j];
}
}  // namespace

void Salamander::encode_with_salt(std::span<const uint8_t, kSaltLen> salt, const uint8_t* in,
                                  size_t len, uint8_t* out) noexcept {
  uint8_t k[kBlake2b256Len];
  key(salt, k);
  for (size_t i = 0; i < kSaltLen; ++i) out[i] = salt[i];
  xor_key(in, len, k, out + kSaltLen);
}

void Salamander::encode(const uint8_t* in, size_t len, uint8_t* out) noexcept {
  uint8_t salt[kSaltLen];
  random_bytes(salt);
  encode_with_salt(salt, in, len, out);
}

size_t Salamander::decode(uint8_t* data, size_t len) noexcept {
  if (len <= kSaltLen) return 0;
  uint8_t k[kBlake2b256Len];
  key(std::span<const uint8_t, kSaltLen>(data, kSaltLen), k);
  xor_key(data + kSaltLen, len - kSaltLen, k, data + kSaltLen);
  return len - kSaltLen;
}

}  // namespace sluice::quic

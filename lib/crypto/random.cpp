// random.cpp: random_bytes, secure_wipe and constant_time_equal over BoringSSL.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "sluice/cipher.hpp"

namespace sluice {

void random_bytes(std::span<uint8_t> out) noexcept {
  // RAND_bytes returns 1 always: BoringSSL aborts if the OS entropy source
  // fails rather than return predictable bytes.
  if (!out.empty()) RAND_bytes(out.data(), out.size());
}

void secure_wipe(std::span<uint8_t> data) noexcept {
  if (!data.empty()) OPENSSL_cleanse(data.data(), data.size());
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sluice

// blake2b.cpp: Blake2b256 over BoringSSL's BLAKE2B256_* (openssl/blake2.h).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/blake2.h>
#include <openssl/mem.h>

#include <new>

#include "sluice/cipher.hpp"

namespace sluice {

static_assert(sizeof(BLAKE2B_CTX) <= Blake2b256::kStateSize, "Blake2b256::kStateSize too small");
static_assert(alignof(BLAKE2B_CTX) <= 8);
static_assert(BLAKE2B256_DIGEST_LENGTH == kBlake2b256Len);

namespace {
BLAKE2B_CTX* ctx_of(unsigned char* p) noexcept {
  return std::launder(reinterpret_cast<BLAKE2B_CTX*>(p));
}
}  // namespace

Blake2b256::Blake2b256() noexcept { reset(); }

Blake2b256::~Blake2b256() { OPENSSL_cleanse(state_, sizeof(state_)); }

void Blake2b256::reset() noexcept { BLAKE2B256_Init(ctx_of(state_)); }

void Blake2b256::update(std::span<const uint8_t> data) noexcept {
  if (!data.empty()) BLAKE2B256_Update(ctx_of(state_), data.data(), data.size());
}

void Blake2b256::finish(std::span<uint8_t, kBlake2b256Len> out) noexcept {
  BLAKE2B256_Final(out.data(), ctx_of(state_));
  reset();
}

void Blake2b256::hash(std::span<const uint8_t> data,
                      std::span<uint8_t, kBlake2b256Len> out) noexcept {
  Blake2b256 h;
  h.update(data);
  h.finish(out);
}

}  // namespace sluice

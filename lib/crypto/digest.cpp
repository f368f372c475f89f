// digest.cpp: Digest (SHA-224/256/384/512) over BoringSSL's SHA contexts.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The low-level SHA*_Init/Update/Final functions work on a plain struct held
// inline, where EVP_DigestInit would allocate the hash state on the heap.
#include <openssl/mem.h>
#include <openssl/sha.h>

#include <new>

#include "core/check.hpp"
#include "sluice/cipher.hpp"

namespace sluice {

static_assert(sizeof(SHA256_CTX) <= Digest::kStateSize, "Digest::kStateSize too small");
static_assert(sizeof(SHA512_CTX) <= Digest::kStateSize, "Digest::kStateSize too small");
static_assert(alignof(SHA256_CTX) <= 8 && alignof(SHA512_CTX) <= 8);
static_assert(SHA512_DIGEST_LENGTH == kMaxDigestLen && SHA512_CBLOCK == kMaxDigestBlockLen);

namespace {

SHA256_CTX* sha256_of(unsigned char* p) noexcept {
  return std::launder(reinterpret_cast<SHA256_CTX*>(p));
}
SHA512_CTX* sha512_of(unsigned char* p) noexcept {
  return std::launder(reinterpret_cast<SHA512_CTX*>(p));
}

// valid_alg guards the switches below: an out-of-range enum value can only
// come from a cast in sluice's own code, and hashing with no state would be
// a memory-safety bug, so it aborts.
void check_alg(DigestAlgorithm alg) noexcept {
  SLUICE_CHECK(static_cast<unsigned>(alg) <= static_cast<unsigned>(DigestAlgorithm::sha512));
}

}  // namespace

size_t digest_len(DigestAlgorithm alg) noexcept {
  switch (alg) {
    case DigestAlgorithm::sha224:
      return SHA224_DIGEST_LENGTH;
    case DigestAlgorithm::sha256:
      return SHA256_DIGEST_LENGTH;
    case DigestAlgorithm::sha384:
      return SHA384_DIGEST_LENGTH;
    case DigestAlgorithm::sha512:
      return SHA512_DIGEST_LENGTH;
  }
  return 0;
}

size_t digest_block_len(DigestAlgorithm alg) noexcept {
  switch (alg) {
    case DigestAlgorithm::sha224:
    case DigestAlgorithm::sha256:
      return SHA256_CBLOCK;
    case DigestAlgorithm::sha384:
    case DigestAlgorithm::sha512:
      return SHA512_CBLOCK;
  }
  return 0;
}

Digest::Digest(DigestAlgorithm alg) noexcept : alg_(alg) {
  check_alg(alg);
  reset();
}

Digest::~Digest() { OPENSSL_cleanse(state_, sizeof(state_)); }

void Digest::reset() noexcept {
  switch (alg_) {
    case DigestAlgorithm::sha224:
      SHA224_Init(sha256_of(state_));
      break;
    case DigestAlgorithm::sha256:
      SHA256_Init(sha256_of(state_));
      break;
    case DigestAlgorithm::sha384:
      SHA384_Init(sha512_of(state_));
      break;
    case DigestAlgorithm::sha512:
      SHA512_Init(sha512_of(state_));
      break;
  }
}

void Digest::update(const void* data, size_t len) noexcept {
  if (len == 0) return;
  switch (alg_) {
    case DigestAlgorithm::sha224:
      SHA224_Update(sha256_of(state_), data, len);
      break;
    case DigestAlgorithm::sha256:
      SHA256_Update(sha256_of(state_), data, len);
      break;
    case DigestAlgorithm::sha384:
      SHA384_Update(sha512_of(state_), data, len);
      break;
    case DigestAlgorithm::sha512:
      SHA512_Update(sha512_of(state_), data, len);
      break;
  }
}

void Digest::update(std::span<const uint8_t> data) noexcept { update(data.data(), data.size()); }

Status Digest::finish(std::span<uint8_t> out) noexcept {
  if (out.size() < size()) return Errc::buffer_too_small;
  switch (alg_) {
    case DigestAlgorithm::sha224:
      SHA224_Final(out.data(), sha256_of(state_));
      break;
    case DigestAlgorithm::sha256:
      SHA256_Final(out.data(), sha256_of(state_));
      break;
    case DigestAlgorithm::sha384:
      SHA384_Final(out.data(), sha512_of(state_));
      break;
    case DigestAlgorithm::sha512:
      SHA512_Final(out.data(), sha512_of(state_));
      break;
  }
  reset();
  return {};
}

Status Digest::hash(DigestAlgorithm alg, std::span<const uint8_t> data,
                    std::span<uint8_t> out) noexcept {
  if (out.size() < digest_len(alg)) return Errc::buffer_too_small;
  Digest d(alg);
  d.update(data);
  return d.finish(out);
}

}  // namespace sluice

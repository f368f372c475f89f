// sha1.cpp: SHA-1 over BoringSSL's EVP interface (the SHA1_* functions are
// marked deprecated there). None of the calls can fail for SHA-1.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/sha1.hpp"

#include <openssl/digest.h>

namespace sluice::crypto {

void sha1(std::initializer_list<std::span<const uint8_t>> parts,
          std::span<uint8_t, kSha1Len> out) noexcept {
  EVP_MD_CTX ctx;
  EVP_MD_CTX_init(&ctx);
  EVP_DigestInit_ex(&ctx, EVP_sha1(), nullptr);
  for (auto p : parts) EVP_DigestUpdate(&ctx, p.data(), p.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(&ctx, out.data(), &len);
  EVP_MD_CTX_cleanup(&ctx);
}

}  // namespace sluice::crypto

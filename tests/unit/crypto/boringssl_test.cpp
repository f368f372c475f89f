// The process uses BoringSSL and never OpenSSL: the two export the same
// symbol names, so loading both would bind calls unpredictably. BoringSSL is
// either linked in (-Dboringssl=static, SLUICE_BORINGSSL_STATIC) or Debian's
// shared /usr/lib/<triplet>/android/libcrypto.so.0 (-Dboringssl=system).
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "sluice/cipher.hpp"

#ifndef OPENSSL_IS_BORINGSSL
#error "<openssl/base.h> must resolve to BoringSSL, not OpenSSL"
#endif

TEST_CASE("BoringSSL is loaded and no OpenSSL library is", "[crypto][boringssl]") {
  CHECK(BORINGSSL_API_VERSION >= 17);
  // Touch the library so it is certainly mapped.
  uint8_t b[8];
  sluice::random_bytes(b);
  // The file mapped at RAND_bytes's address is where this process's BoringSSL
  // comes from.
  const auto rand_bytes = reinterpret_cast<uintptr_t>(&RAND_bytes);
  std::ifstream maps("/proc/self/maps");
  REQUIRE(maps.good());
  std::string line;
  std::string rand_bytes_file;
  bool shared_boring = false;
  std::string openssl;
  while (std::getline(maps, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &lo, &hi) == 2 && rand_bytes >= lo &&
        rand_bytes < hi) {
      const auto slash = line.find('/');
      if (slash != std::string::npos) rand_bytes_file = line.substr(slash);
    }
    if (line.find("/android/libcrypto.so") != std::string::npos) shared_boring = true;
    // OpenSSL 3 (libcrypto.so.3 / libssl.so.3) or 1.1 must not be mapped.
    if (line.find("libcrypto.so.3") != std::string::npos ||
        line.find("libssl.so.3") != std::string::npos ||
        line.find("libcrypto.so.1.1") != std::string::npos ||
        line.find("libssl.so.1.1") != std::string::npos)
      openssl = line;
  }
  INFO("RAND_bytes is in " << rand_bytes_file);
#ifdef SLUICE_BORINGSSL_STATIC
  CHECK(rand_bytes_file == std::filesystem::canonical("/proc/self/exe").string());
  CHECK_FALSE(shared_boring);
#else
  CHECK(rand_bytes_file.find("/android/libcrypto.so") != std::string::npos);
  CHECK(shared_boring);
#endif
  INFO("OpenSSL mapped: " << openssl);
  CHECK(openssl.empty());
}

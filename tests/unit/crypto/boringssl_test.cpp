// The process links Debian's BoringSSL and never OpenSSL: the two export the
// same symbol names, so loading both would bind calls unpredictably.
#include <openssl/base.h>
#include <openssl/crypto.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "sluice/cipher.hpp"

#ifndef OPENSSL_IS_BORINGSSL
#error "<openssl/base.h> must resolve to BoringSSL (/usr/include/android), not OpenSSL"
#endif

TEST_CASE("BoringSSL is loaded and no OpenSSL library is", "[crypto][boringssl]") {
  CHECK(BORINGSSL_API_VERSION >= 17);
  // Touch the library so it is certainly mapped.
  uint8_t b[8];
  sluice::random_bytes(b);
  std::ifstream maps("/proc/self/maps");
  REQUIRE(maps.good());
  std::string line;
  bool boring = false;
  std::string openssl;
  while (std::getline(maps, line)) {
    if (line.find("/android/libcrypto.so") != std::string::npos) boring = true;
    // OpenSSL 3 (libcrypto.so.3 / libssl.so.3) or 1.1 must not be mapped.
    if (line.find("libcrypto.so.3") != std::string::npos ||
        line.find("libssl.so.3") != std::string::npos ||
        line.find("libcrypto.so.1.1") != std::string::npos ||
        line.find("libssl.so.1.1") != std::string::npos)
      openssl = line;
  }
  CHECK(boring);
  INFO("OpenSSL mapped: " << openssl);
  CHECK(openssl.empty());
}

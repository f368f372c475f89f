#include "proto/base64.hpp"

#include <catch2/catch.hpp>

using namespace sluice;

TEST_CASE("base64 RFC 4648 vectors", "[proto][base64]") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    CHECK(base64_encode(std::string_view(plain[i])) == enc[i]);
    auto d = base64_decode(enc[i]);
    REQUIRE(d);
    CHECK(*d == plain[i]);
  }
  CHECK(base64_encode(std::string_view("fo"), Base64Alphabet::url, false) == "Zm8");
  CHECK(*base64_decode("Zm8") == "fo");  // padding optional
  const uint8_t hi[] = {0xfb, 0xff};
  CHECK(base64_encode(hi, Base64Alphabet::standard) == "+/8=");
  CHECK(base64_encode(hi, Base64Alphabet::url, false) == "-_8");
  CHECK(*base64_decode("-_8", Base64Alphabet::url) == std::string("\xfb\xff"));
}

TEST_CASE("base64 rejects malformed text", "[proto][base64]") {
  for (const char* bad : {"Z", "Zg=", "Zg===", "Zm9v=", "Z===", "Zh==", "Zm 9v", "Zm9v\n",
                          "-_8=", "Zg==Zg==", "=", "==", "Zm8==", "@@@@"}) {
    INFO(bad);
    CHECK(base64_decode(bad).error() == Errc::malformed);
  }
  CHECK(!base64_decode("+/8=", Base64Alphabet::url));
}

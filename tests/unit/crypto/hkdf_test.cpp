// Tests for HKDF and the TLS 1.3 key schedule helpers (lib/crypto/hkdf.cpp):
// RFC 5869 test cases 1-3, the whole RFC 8448 §3 1-RTT key schedule, a
// cross-check of HKDF-SHA384 against BoringSSL's HKDF(), and the errors.
#include <openssl/digest.h>
#include <openssl/hkdf.h>
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "sluice/cipher.hpp"
#include "support/hex.hpp"

using namespace sluice;

namespace {

using test::ascii;
using test::Bytes;
using test::hex;
using test::to_hex;

Bytes range_bytes(int from, int to) {  // [from, to)
  Bytes b;
  for (int i = from; i < to; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

}  // namespace

TEST_CASE("HKDF-SHA256 matches RFC 5869 test cases 1-3", "[crypto][hkdf]") {
  struct Case {
    const char* name;
    Bytes ikm, salt, info;
    size_t length;
    const char* prk;
    const char* okm;
  };
  const Case cases[] = {
      {"A.1 basic", Bytes(22, 0x0b), range_bytes(0x00, 0x0d), range_bytes(0xf0, 0xfa), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"A.2 longer inputs and outputs", range_bytes(0x00, 0x50), range_bytes(0x60, 0xb0),
       range_bytes(0xb0, 0x100), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
       "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"A.3 zero-length salt and info", Bytes(22, 0x0b), Bytes{}, Bytes{}, 42,
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    uint8_t prk[32];
    REQUIRE(hkdf_extract(DigestAlgorithm::sha256, c.salt, c.ikm, prk).has_value());
    CHECK(to_hex(prk) == c.prk);
    Bytes okm(c.length);
    REQUIRE(hkdf_expand(DigestAlgorithm::sha256, prk, c.info, okm).has_value());
    CHECK(to_hex(okm) == c.okm);
  }
}

TEST_CASE("HKDF-SHA384 agrees with BoringSSL's HKDF()", "[crypto][hkdf]") {
  const Bytes ikm = range_bytes(0, 61), salt = range_bytes(100, 140), info = ascii("context");
  for (size_t len : {1, 47, 48, 49, 96, 200, 255 * 48}) {
    INFO("length " << len);
    Bytes want(len), got(len);
    REQUIRE(HKDF(want.data(), len, EVP_sha384(), ikm.data(), ikm.size(), salt.data(), salt.size(),
                 info.data(), info.size()) == 1);
    uint8_t prk[48];
    REQUIRE(hkdf_extract(DigestAlgorithm::sha384, salt, ikm, prk).has_value());
    REQUIRE(hkdf_expand(DigestAlgorithm::sha384, prk, info, got).has_value());
    CHECK(got == want);
  }
}

TEST_CASE("HKDF rejects out-of-range lengths and short buffers", "[crypto][hkdf]") {
  uint8_t prk[32] = {};
  Bytes out(255 * 32 + 1);
  CHECK(hkdf_expand(DigestAlgorithm::sha256, prk, {}, out).error() == Errc::invalid_argument);
  CHECK(hkdf_expand(DigestAlgorithm::sha256, prk, {}, std::span<uint8_t>(out.data(), 255 * 32))
            .has_value());
  // RFC 5869 §2.3: PRK is at least HashLen bytes.
  CHECK(hkdf_expand(DigestAlgorithm::sha256, std::span<const uint8_t>(prk, 31), {},
                    std::span<uint8_t>(out.data(), 32))
            .error() == Errc::invalid_argument);
  uint8_t short_prk[31];
  CHECK(hkdf_extract(DigestAlgorithm::sha256, {}, ascii("ikm"), short_prk).error() ==
        Errc::buffer_too_small);
  // L = 0 is allowed and writes nothing.
  CHECK(hkdf_expand(DigestAlgorithm::sha256, prk, {}, {}).has_value());

  Bytes secret(32, 1), key(16);
  CHECK(hkdf_expand_label(DigestAlgorithm::sha256, secret, std::string(249, 'x'), {}, key)
            .has_value());  // 6 + 249 = 255: the longest label
  CHECK(
      hkdf_expand_label(DigestAlgorithm::sha256, secret, std::string(250, 'x'), {}, key).error() ==
      Errc::invalid_argument);
  CHECK(hkdf_expand_label(DigestAlgorithm::sha256, secret, "", {}, key).error() ==
        Errc::invalid_argument);
  CHECK(hkdf_expand_label(DigestAlgorithm::sha256, secret, "key", Bytes(256, 0), key).error() ==
        Errc::invalid_argument);
  CHECK(hkdf_expand_label(DigestAlgorithm::sha256, secret, "key", Bytes(255, 0), key).has_value());
  uint8_t small[31];
  CHECK(derive_secret(DigestAlgorithm::sha256, secret, "derived", {}, small).error() ==
        Errc::buffer_too_small);
}

// RFC 8448 §3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256, x25519).
// Inputs: the ECDHE shared secret and the transcript hashes the trace prints
// (CH..SH, CH..server Finished, CH..client Finished); everything else is
// derived here and compared with the trace's bytes.
TEST_CASE("the TLS 1.3 key schedule reproduces RFC 8448 section 3", "[crypto][hkdf]") {
  constexpr auto kSha256 = DigestAlgorithm::sha256;
  const Bytes ecdhe = hex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");
  const Bytes hash_ch_sh = hex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8");
  const Bytes hash_ch_sfin =
      hex("9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13");
  const Bytes hash_ch_cfin =
      hex("209145a96ee8e2a122ff810047cc952684658d6049e86429426db87c54ad143d");
  const Bytes zeros(32, 0);

  uint8_t empty_hash[32];
  REQUIRE(Digest::hash(kSha256, {}, empty_hash).has_value());
  CHECK(to_hex(empty_hash) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  // {server} extract secret "early" (no PSK: IKM is HashLen zeros, salt 0).
  uint8_t early[32];
  REQUIRE(hkdf_extract(kSha256, {}, zeros, early).has_value());
  CHECK(to_hex(early) == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");

  // {server} derive secret for handshake "tls13 derived".
  uint8_t derived[32];
  REQUIRE(derive_secret(kSha256, early, "derived", empty_hash, derived).has_value());
  CHECK(to_hex(derived) == "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");

  // {server} extract secret "handshake".
  uint8_t hs[32];
  REQUIRE(hkdf_extract(kSha256, derived, ecdhe, hs).has_value());
  CHECK(to_hex(hs) == "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac");

  // {server} derive secret "tls13 c hs traffic" / "tls13 s hs traffic".
  uint8_t c_hs[32], s_hs[32];
  REQUIRE(derive_secret(kSha256, hs, "c hs traffic", hash_ch_sh, c_hs).has_value());
  REQUIRE(derive_secret(kSha256, hs, "s hs traffic", hash_ch_sh, s_hs).has_value());
  CHECK(to_hex(c_hs) == "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
  CHECK(to_hex(s_hs) == "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");

  // {server} derive secret for master "tls13 derived", extract secret "master".
  uint8_t derived2[32], master[32];
  REQUIRE(derive_secret(kSha256, hs, "derived", empty_hash, derived2).has_value());
  CHECK(to_hex(derived2) == "43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4");
  REQUIRE(hkdf_extract(kSha256, derived2, zeros, master).has_value());
  CHECK(to_hex(master) == "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919");

  // {server} derive write traffic keys for handshake data.
  uint8_t key[16], iv[12];
  REQUIRE(hkdf_expand_label(kSha256, s_hs, "key", {}, key).has_value());
  REQUIRE(hkdf_expand_label(kSha256, s_hs, "iv", {}, iv).has_value());
  CHECK(to_hex(key) == "3fce516009c21727d0f2e4e86ee403bc");
  CHECK(to_hex(iv) == "5d313eb2671276ee13000b30");
  REQUIRE(hkdf_expand_label(kSha256, c_hs, "key", {}, key).has_value());
  REQUIRE(hkdf_expand_label(kSha256, c_hs, "iv", {}, iv).has_value());
  CHECK(to_hex(key) == "dbfaa693d1762c5b666af5d950258d01");
  CHECK(to_hex(iv) == "5bd3c71b836e0b76bb73265f");

  // Finished keys (HKDF-Expand-Label(traffic secret, "finished", "", 32)) and
  // the client's verify_data = HMAC(finished key, hash(CH..server Finished)).
  uint8_t s_fin_key[32], c_fin_key[32];
  REQUIRE(hkdf_expand_label(kSha256, s_hs, "finished", {}, s_fin_key).has_value());
  REQUIRE(hkdf_expand_label(kSha256, c_hs, "finished", {}, c_fin_key).has_value());
  CHECK(to_hex(s_fin_key) == "008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8");
  CHECK(to_hex(c_fin_key) == "b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4");
  uint8_t verify_data[32];
  REQUIRE(Hmac::mac(kSha256, c_fin_key, hash_ch_sfin, verify_data).has_value());
  CHECK(to_hex(verify_data) == "a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61");

  // {server} derive secret "tls13 c ap traffic" / "tls13 s ap traffic" /
  // "tls13 exp master", and {client} "tls13 res master".
  uint8_t c_ap[32], s_ap[32], exp_master[32], res_master[32];
  REQUIRE(derive_secret(kSha256, master, "c ap traffic", hash_ch_sfin, c_ap).has_value());
  REQUIRE(derive_secret(kSha256, master, "s ap traffic", hash_ch_sfin, s_ap).has_value());
  REQUIRE(derive_secret(kSha256, master, "exp master", hash_ch_sfin, exp_master).has_value());
  REQUIRE(derive_secret(kSha256, master, "res master", hash_ch_cfin, res_master).has_value());
  CHECK(to_hex(c_ap) == "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5");
  CHECK(to_hex(s_ap) == "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
  CHECK(to_hex(exp_master) == "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50");
  CHECK(to_hex(res_master) == "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c");

  // {server} / {client} derive write traffic keys for application data.
  REQUIRE(hkdf_expand_label(kSha256, s_ap, "key", {}, key).has_value());
  REQUIRE(hkdf_expand_label(kSha256, s_ap, "iv", {}, iv).has_value());
  CHECK(to_hex(key) == "9f02283b6c9c07efc26bb9f2ac92e356");
  CHECK(to_hex(iv) == "cf782b88dd83549aadf1e984");
  REQUIRE(hkdf_expand_label(kSha256, c_ap, "key", {}, key).has_value());
  REQUIRE(hkdf_expand_label(kSha256, c_ap, "iv", {}, iv).has_value());
  CHECK(to_hex(key) == "17422dda596ed5d9acd890e3c63f5051");
  CHECK(to_hex(iv) == "5b78923dee08579033e523d9");
}

// Tests for Aead (lib/crypto/aead.cpp): published vectors for each algorithm,
// the span and Slice in-place forms, and every malformed-input path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/buffer.hpp"
#include "sluice/cipher.hpp"
#include "support/hex.hpp"

using namespace sluice;

namespace {

using test::ascii;
using test::Bytes;
using test::hex;
using test::to_hex;

Aead make(AeadAlgorithm alg, const Bytes& key) {
  auto r = Aead::create(alg, key);
  REQUIRE(r.has_value());
  return std::move(*r);
}

Slice slice_of(BufferPool& pool, const Bytes& data, size_t min_payload = 0) {
  auto r = pool.get(std::max(min_payload, data.size()));
  REQUIRE(r.has_value());
  Slice s = std::move(*r);
  uint8_t* p = s.append(data.size());
  REQUIRE((p != nullptr || data.empty()));
  if (!data.empty()) std::memcpy(p, data.data(), data.size());
  return s;
}

constexpr AeadAlgorithm kAll[] = {AeadAlgorithm::aes_128_gcm, AeadAlgorithm::aes_256_gcm,
                                  AeadAlgorithm::chacha20_poly1305};

struct Vector {
  const char* name;
  AeadAlgorithm alg;
  const char* key;
  const char* nonce;
  const char* ad;
  const char* pt;
  const char* ct;
  const char* tag;
};

// RFC 8439 §2.8.2, and test cases 2-4 and 14-16 of McGrew & Viega, "The
// Galois/Counter Mode of Operation (GCM)" (the GCM spec submitted to NIST).
const Vector kVectors[] = {
    {"RFC 8439 2.8.2", AeadAlgorithm::chacha20_poly1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966"
     "204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572"
     "652c2073756e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da"
     "92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585"
     "808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    {"GCM test case 2", AeadAlgorithm::aes_128_gcm, "00000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"GCM test case 3", AeadAlgorithm::aes_128_gcm, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b391aafd255",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5a"
     "ac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"GCM test case 4", AeadAlgorithm::aes_128_gcm, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5a"
     "ac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM test case 14", AeadAlgorithm::aes_256_gcm,
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM test case 15", AeadAlgorithm::aes_256_gcm,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM test case 16", AeadAlgorithm::aes_256_gcm,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

}  // namespace

TEST_CASE("AEAD published vectors seal and open (raw pointer form)", "[crypto][aead]") {
  for (const Vector& v : kVectors) {
    INFO(v.name);
    Aead a = make(v.alg, hex(v.key));
    const Bytes nonce = hex(v.nonce), ad = hex(v.ad), pt = hex(v.pt);
    Bytes buf = pt;
    uint8_t tag[kAeadTagLen];
    REQUIRE(a.seal(nonce, ad, buf.data(), buf.size(), tag).has_value());
    CHECK(to_hex(buf) == v.ct);
    CHECK(to_hex(tag) == v.tag);
    REQUIRE(a.open(nonce, ad, buf.data(), buf.size(), tag).has_value());
    CHECK(buf == pt);
  }
}

TEST_CASE("AEAD published vectors through the contiguous in-place span form", "[crypto][aead]") {
  for (const Vector& v : kVectors) {
    INFO(v.name);
    Aead a = make(v.alg, hex(v.key));
    const Bytes nonce = hex(v.nonce), ad = hex(v.ad), pt = hex(v.pt);
    Bytes buf = pt;
    buf.resize(pt.size() + kAeadTagLen);
    auto sealed = a.seal_in_place(nonce, ad, buf, pt.size());
    REQUIRE(sealed.has_value());
    CHECK(*sealed == pt.size() + kAeadTagLen);
    CHECK(to_hex(buf) == std::string(v.ct) + v.tag);
    auto opened = a.open_in_place(nonce, ad, buf);
    REQUIRE(opened.has_value());
    CHECK(*opened == pt.size());
    CHECK(Bytes(buf.begin(), buf.begin() + pt.size()) == pt);
  }
}

TEST_CASE("AEAD published vectors through seal_scatter/open_gather out of place",
          "[crypto][aead]") {
  for (const Vector& v : kVectors) {
    INFO(v.name);
    Aead a = make(v.alg, hex(v.key));
    const Bytes nonce = hex(v.nonce), ad = hex(v.ad), pt = hex(v.pt);
    Bytes ct(pt.size()), back(pt.size());
    uint8_t tag[kAeadTagLen];
    REQUIRE(a.seal_scatter(nonce, ad, pt.data(), pt.size(), ct.data(), tag).has_value());
    CHECK(to_hex(ct) == v.ct);
    CHECK(to_hex(tag) == v.tag);
    REQUIRE(a.open_gather(nonce, ad, ct.data(), ct.size(), tag, back.data()).has_value());
    CHECK(back == pt);
  }
}

TEST_CASE("AEAD published vectors on a pool Slice: tag appended into tailroom", "[crypto][aead]") {
  BufferPool pool;
  for (const Vector& v : kVectors) {
    INFO(v.name);
    Aead a = make(v.alg, hex(v.key));
    const Bytes nonce = hex(v.nonce), ad = hex(v.ad), pt = hex(v.pt);
    Slice s = slice_of(pool, pt);
    const uint8_t* first = s.data();
    const size_t tailroom = s.tailroom();
    REQUIRE(a.seal_in_place(nonce, ad, s).has_value());
    CHECK(s.data() == first);  // nothing moved
    CHECK(s.size() == pt.size() + kAeadTagLen);
    CHECK(s.tailroom() == tailroom - kAeadTagLen);
    CHECK(to_hex(s.span()) == std::string(v.ct) + v.tag);
    REQUIRE(a.open_in_place(nonce, ad, s).has_value());
    CHECK(s.size() == pt.size());
    CHECK(Bytes(s.data(), s.data() + s.size()) == pt);
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

// RFC 8448 §3 (simple 1-RTT handshake): two protected records, rebuilt from
// the write keys and IVs the RFC derives. TLS 1.3 record protection is
// AES-128-GCM with nonce = iv XOR seq and AD = the 5-byte record header
// (RFC 8446 §5.2); the inner plaintext is content || content type.
TEST_CASE("AES-128-GCM reproduces RFC 8448 records with xor_nonce and headroom", "[crypto][aead]") {
  struct Record {
    const char* name;
    const char* key;
    const char* iv;
    uint64_t seq;
    const char* inner;   // TLSInnerPlaintext
    const char* record;  // the record on the wire
  };
  const Record records[] = {
      {"client Finished (client handshake key, seq 0)", "dbfaa693d1762c5b666af5d950258d01",
       "5bd3c71b836e0b76bb73265f", 0,
       "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61"
       "16",
       "1703030035"
       "75ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1cae"
       "acab6867d726c40546"},
      {"server application data (server application key, seq 1)",
       "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984", 1,
       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
       "2c2d2e2f3031"
       "17",
       "1703030043"
       "2e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fc"
       "c49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d"},
  };
  BufferPool pool;
  for (const Record& r : records) {
    INFO(r.name);
    Aead a = make(AeadAlgorithm::aes_128_gcm, hex(r.key));
    const Bytes iv = hex(r.iv), inner = hex(r.inner), wire = hex(r.record);
    std::array<uint8_t, kAeadNonceLen> nonce;
    xor_nonce(std::span<const uint8_t, kAeadNonceLen>(iv.data(), kAeadNonceLen), r.seq, nonce);
    const Bytes header(wire.begin(), wire.begin() + 5);

    Slice s = slice_of(pool, inner);
    REQUIRE(a.seal_in_place(nonce, header, s).has_value());
    uint8_t* h = s.prepend(header.size());
    REQUIRE(h != nullptr);
    std::memcpy(h, header.data(), header.size());
    CHECK(to_hex(s.span()) == to_hex(wire));

    s.advance(header.size());
    REQUIRE(a.open_in_place(nonce, header, s).has_value());
    CHECK(to_hex(s.span()) == to_hex(inner));
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("xor_nonce XORs the big-endian sequence number into the IV's last 8 bytes",
          "[crypto][aead]") {
  const Bytes iv = hex("000102030405060708090a0b");
  std::array<uint8_t, kAeadNonceLen> out;
  xor_nonce(std::span<const uint8_t, kAeadNonceLen>(iv.data(), kAeadNonceLen), 0, out);
  CHECK(to_hex(out) == "000102030405060708090a0b");
  xor_nonce(std::span<const uint8_t, kAeadNonceLen>(iv.data(), kAeadNonceLen),
            0x0102030405060708ull, out);
  CHECK(to_hex(out) == "00010203050705030d0f0d03");
}

TEST_CASE("AEAD round trips on Slices of every size up to a full 16 KiB chunk", "[crypto][aead]") {
  BufferPool pool;
  Bytes key(32), nonce(kAeadNonceLen), ad = ascii("header");
  random_bytes(key);
  random_bytes(nonce);
  for (AeadAlgorithm alg : kAll) {
    INFO(aead_name(alg));
    Aead a = make(alg, Bytes(key.begin(), key.begin() + aead_key_len(alg)));
    CHECK(a.key_len() == aead_key_len(alg));
    CHECK(a.nonce_len() == 12);
    CHECK(a.tag_len() == 16);
    CHECK(a.algorithm() == alg);
    for (size_t n : {0, 1, 15, 16, 17, 63, 64, 1000, 2048, 16384}) {
      INFO("size " << n);
      Bytes pt(n);
      random_bytes(pt);
      Slice s = slice_of(pool, pt, n);
      REQUIRE(a.seal_in_place(nonce, ad, s).has_value());
      REQUIRE(s.size() == n + kAeadTagLen);
      if (n >= 16) CHECK(Bytes(s.data(), s.data() + n) != pt);
      REQUIRE(a.open_in_place(nonce, ad, s).has_value());
      CHECK(Bytes(s.data(), s.data() + s.size()) == pt);
    }
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("Aead::create rejects wrong key lengths and unknown algorithms", "[crypto][aead]") {
  const Bytes key(64, 0x42);
  for (AeadAlgorithm alg : kAll) {
    INFO(aead_name(alg));
    for (size_t n : {0, 1, 15, 17, 24, 31, 33, 64}) {
      if (n == aead_key_len(alg)) continue;
      auto r = Aead::create(alg, std::span<const uint8_t>(key.data(), n));
      CHECK(r.error() == Errc::invalid_argument);
    }
  }
  CHECK(aead_key_len(AeadAlgorithm::aes_128_gcm) == 16);
  CHECK(aead_key_len(AeadAlgorithm::aes_256_gcm) == 32);
  CHECK(aead_key_len(AeadAlgorithm::chacha20_poly1305) == 32);
  auto bad = Aead::create(static_cast<AeadAlgorithm>(7), std::span<const uint8_t>(key.data(), 16));
  CHECK(bad.error() == Errc::invalid_argument);
  CHECK(std::string_view(aead_name(static_cast<AeadAlgorithm>(7))) == "unknown");

  Aead a = make(AeadAlgorithm::aes_128_gcm, Bytes(16, 1));
  CHECK(a.init(AeadAlgorithm::aes_256_gcm, Bytes(16, 1)).error() == Errc::invalid_argument);
  CHECK_FALSE(a.valid());  // a failed init leaves it empty, not half-keyed
}

TEST_CASE("AEAD rejects a wrong nonce length in every form", "[crypto][aead]") {
  BufferPool pool;
  for (AeadAlgorithm alg : kAll) {
    INFO(aead_name(alg));
    Aead a = make(alg, Bytes(aead_key_len(alg), 7));
    for (size_t n : {0, 8, 11, 13, 24}) {
      const Bytes nonce(n, 1);
      Bytes buf(32, 0);
      uint8_t tag[kAeadTagLen] = {};
      CHECK(a.seal(nonce, {}, buf.data(), 16, tag).error() == Errc::invalid_argument);
      CHECK(a.open(nonce, {}, buf.data(), 16, tag).error() == Errc::invalid_argument);
      CHECK(a.seal_in_place(nonce, {}, buf, 16).error() == Errc::invalid_argument);
      CHECK(a.open_in_place(nonce, {}, buf).error() == Errc::invalid_argument);
      Slice s = slice_of(pool, Bytes(16, 3));
      CHECK(a.seal_in_place(nonce, {}, s).error() == Errc::invalid_argument);
      CHECK(s.size() == 16);
      CHECK(a.open_in_place(nonce, {}, s).error() == Errc::invalid_argument);
      CHECK(s.size() == 16);
    }
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("AEAD open fails on a wrong tag, tampered ciphertext, AD or nonce", "[crypto][aead]") {
  BufferPool pool;
  for (AeadAlgorithm alg : kAll) {
    INFO(aead_name(alg));
    Aead a = make(alg, Bytes(aead_key_len(alg), 9));
    const Bytes nonce(kAeadNonceLen, 5), ad = ascii("associated"), pt = ascii("attack at dawn!!");
    Slice good = slice_of(pool, pt);
    REQUIRE(a.seal_in_place(nonce, ad, good).has_value());
    const Bytes sealed(good.data(), good.data() + good.size());
    good.reset();

    auto expect_fail = [&](Bytes record, std::span<const uint8_t> n, std::span<const uint8_t> d) {
      Slice s = slice_of(pool, record);
      CHECK(a.open_in_place(n, d, s).error() == Errc::decrypt_failed);
      CHECK(s.size() == record.size());  // the tag is not truncated on failure
      // BoringSSL zeroes the output rather than leave unauthenticated plaintext.
      CHECK(Bytes(s.data(), s.data() + s.size() - kAeadTagLen) ==
            Bytes(record.size() - kAeadTagLen, 0));
    };
    for (size_t i : {size_t{0}, pt.size() - 1, pt.size(), sealed.size() - 1}) {
      INFO("flipped byte " << i);
      Bytes bad = sealed;
      bad[i] ^= 0x01;
      expect_fail(bad, nonce, ad);
    }
    Bytes other_ad = ad;
    other_ad[0] ^= 0x80;
    expect_fail(sealed, nonce, other_ad);
    expect_fail(sealed, nonce, {});
    Bytes other_nonce = nonce;
    other_nonce[11] ^= 1;
    expect_fail(sealed, other_nonce, ad);

    // Raw form: a wrong tag is decrypt_failed too.
    Bytes buf(sealed.begin(), sealed.end() - kAeadTagLen);
    Bytes tag(sealed.end() - kAeadTagLen, sealed.end());
    tag[3] ^= 0x10;
    CHECK(a.open(nonce, ad, buf.data(), buf.size(), tag.data()).error() == Errc::decrypt_failed);

    // Shorter than a tag cannot be a record.
    for (size_t n : {0, 1, 15}) {
      Slice s = slice_of(pool, Bytes(n, 0xaa));
      CHECK(a.open_in_place(nonce, ad, s).error() == Errc::decrypt_failed);
      CHECK(s.size() == n);
      Bytes b(n, 0xaa);
      CHECK(a.open_in_place(nonce, ad, b).error() == Errc::decrypt_failed);
    }
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("AEAD on a Slice refuses shared, foreign and tailroom-less Slices", "[crypto][aead]") {
  BufferPool pool;
  Aead a = make(AeadAlgorithm::chacha20_poly1305, Bytes(32, 1));
  const Bytes nonce(kAeadNonceLen, 0);
  const Bytes pt = ascii("payload");

  SECTION("a shared Slice is read-only") {
    Slice s = slice_of(pool, pt);
    Slice copy = s;
    CHECK(a.seal_in_place(nonce, {}, s).error() == Errc::invalid_argument);
    CHECK(s.view() == "payload");
    CHECK(a.open_in_place(nonce, {}, s).error() == Errc::invalid_argument);
    CHECK(s.view() == "payload");
    copy.reset();
    CHECK(a.seal_in_place(nonce, {}, s).has_value());
  }
  SECTION("wrapped foreign memory is read-only") {
    static const uint8_t foreign[] = {1, 2, 3, 4};
    auto w = Slice::wrap(foreign, sizeof(foreign), nullptr, nullptr);
    REQUIRE(w.has_value());
    CHECK(a.seal_in_place(nonce, {}, *w).error() == Errc::invalid_argument);
    CHECK(a.open_in_place(nonce, {}, *w).error() == Errc::invalid_argument);
  }
  SECTION("an empty default Slice points nowhere") {
    Slice s;
    CHECK(a.seal_in_place(nonce, {}, s).error() == Errc::invalid_argument);
  }
  SECTION("no tailroom left for the tag") {
    Slice s = slice_of(pool, pt);
    REQUIRE(s.append(s.tailroom() - (kAeadTagLen - 1)) != nullptr);
    REQUIRE(s.tailroom() == kAeadTagLen - 1);
    const size_t before = s.size();
    CHECK(a.seal_in_place(nonce, {}, s).error() == Errc::buffer_too_small);
    CHECK(s.size() == before);
    REQUIRE(s.append(s.tailroom()) != nullptr);
    CHECK(a.seal_in_place(nonce, {}, s).error() == Errc::buffer_too_small);
  }
  SECTION("exactly a tag's worth of tailroom is enough") {
    Slice s = slice_of(pool, pt);
    REQUIRE(s.append(s.tailroom() - kAeadTagLen) != nullptr);
    CHECK(a.seal_in_place(nonce, {}, s).has_value());
    CHECK(s.tailroom() == 0);
    CHECK(a.open_in_place(nonce, {}, s).has_value());
  }
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("AEAD span and pointer forms check sizes, nulls and aliasing", "[crypto][aead]") {
  Aead a = make(AeadAlgorithm::aes_256_gcm, Bytes(32, 2));
  const Bytes nonce(kAeadNonceLen, 0);
  Bytes buf(64, 0x11);
  uint8_t tag[kAeadTagLen];

  CHECK(a.seal_in_place(nonce, {}, std::span<uint8_t>(buf.data(), 31), 16).error() ==
        Errc::buffer_too_small);
  CHECK(a.seal_in_place(nonce, {}, std::span<uint8_t>(buf.data(), 16), 17).error() ==
        Errc::buffer_too_small);
  auto ok = a.seal_in_place(nonce, {}, std::span<uint8_t>(buf.data(), 32), 16);
  REQUIRE(ok.has_value());
  CHECK(*ok == 32);

  CHECK(a.seal(nonce, {}, nullptr, 4, tag).error() == Errc::invalid_argument);
  CHECK(a.seal(nonce, {}, buf.data(), 4, nullptr).error() == Errc::invalid_argument);
  CHECK(a.open(nonce, {}, nullptr, 4, tag).error() == Errc::invalid_argument);
  CHECK(a.open(nonce, {}, buf.data(), 4, nullptr).error() == Errc::invalid_argument);
  // In and out overlapping without being equal.
  CHECK(a.seal_scatter(nonce, {}, buf.data(), 32, buf.data() + 1, tag).error() ==
        Errc::invalid_argument);
  CHECK(a.open_gather(nonce, {}, buf.data() + 1, 32, tag, buf.data()).error() ==
        Errc::invalid_argument);
  // A tag that overlaps the data.
  CHECK(a.seal(nonce, {}, buf.data(), 32, buf.data() + 20).error() == Errc::invalid_argument);

  // A zero-length message may come with null pointers: it is a tag over the AD.
  Bytes ad = ascii("only ad");
  REQUIRE(a.seal(nonce, ad, nullptr, 0, tag).has_value());
  CHECK(a.open(nonce, ad, nullptr, 0, tag).has_value());
  ad[0] ^= 1;
  CHECK(a.open(nonce, ad, nullptr, 0, tag).error() == Errc::decrypt_failed);
}

TEST_CASE("an empty or moved-from Aead is invalid_state; a moved-to one works", "[crypto][aead]") {
  const Bytes key = hex("feffe9928665731c6d6a8f9467308308");
  const Bytes nonce = hex("cafebabefacedbaddecaf888");
  Bytes buf(16, 0);
  uint8_t tag[kAeadTagLen];

  Aead empty;
  CHECK_FALSE(empty.valid());
  CHECK(empty.seal(nonce, {}, buf.data(), buf.size(), tag).error() == Errc::invalid_state);
  CHECK(empty.open(nonce, {}, buf.data(), buf.size(), tag).error() == Errc::invalid_state);
  CHECK(empty.seal_in_place(nonce, {}, buf, 0).error() == Errc::invalid_state);
  CHECK(empty.open_in_place(nonce, {}, buf).error() == Errc::invalid_state);

  Aead reference = make(AeadAlgorithm::aes_128_gcm, key);
  Bytes want = buf;
  uint8_t want_tag[kAeadTagLen];
  REQUIRE(reference.seal(nonce, {}, want.data(), want.size(), want_tag).has_value());

  // Move construction and move assignment copy the key schedule and wipe the
  // source; the destination must still compute the same thing.
  Aead a = make(AeadAlgorithm::aes_128_gcm, key);
  Aead b(std::move(a));
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(a.seal(nonce, {}, buf.data(), buf.size(), tag).error() == Errc::invalid_state);
  Aead c = make(AeadAlgorithm::chacha20_poly1305, Bytes(32, 3));
  c = std::move(b);
  CHECK_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
  REQUIRE(c.valid());
  CHECK(c.algorithm() == AeadAlgorithm::aes_128_gcm);
  Bytes got = buf;
  REQUIRE(c.seal(nonce, {}, got.data(), got.size(), tag).has_value());
  CHECK(got == want);
  CHECK(to_hex(tag) == to_hex(want_tag));

  // Re-keying in place and clear().
  REQUIRE(c.init(AeadAlgorithm::chacha20_poly1305, Bytes(32, 3)).has_value());
  CHECK(c.algorithm() == AeadAlgorithm::chacha20_poly1305);
  c.clear();
  CHECK_FALSE(c.valid());
  CHECK(c.seal(nonce, {}, buf.data(), buf.size(), tag).error() == Errc::invalid_state);
}

TEST_CASE("preferred_aead follows the CPU's AES support", "[crypto][aead]") {
  if (has_aes_hardware()) {
    CHECK(preferred_aead() == AeadAlgorithm::aes_128_gcm);
    CHECK(preferred_aead(true) == AeadAlgorithm::aes_256_gcm);
  } else {
    CHECK(preferred_aead() == AeadAlgorithm::chacha20_poly1305);
    CHECK(preferred_aead(true) == AeadAlgorithm::chacha20_poly1305);
  }
  CHECK(std::string_view(aead_name(AeadAlgorithm::aes_128_gcm)) == "aes-128-gcm");
  CHECK(std::string_view(aead_name(AeadAlgorithm::aes_256_gcm)) == "aes-256-gcm");
  CHECK(std::string_view(aead_name(AeadAlgorithm::chacha20_poly1305)) == "chacha20-poly1305");
}

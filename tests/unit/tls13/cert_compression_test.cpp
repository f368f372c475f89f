// Tests for RFC 8879 certificate compression: the bounded brotli decoder
// (lib/crypto/brotli.cpp), the CompressedCertificate decoder, and the engine
// client receiving a CompressedCertificate from the engine server, whose
// compressor is libbrotlienc here (the library itself links no encoder):
// a full handshake, then wrong lengths, an oversized declaration, garbage
// and a decompression bomb, each ending in bad_certificate.
#include <brotli/encode.h>

#include <catch2/catch.hpp>

#include <vector>

#include "crypto/brotli.hpp"
#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/cipher.hpp"

using namespace sluice;
using namespace sluice::tls13;

namespace {

using Vec = std::vector<uint8_t>;

// brotli compresses |in|; quality 5 for the big inputs keeps the test fast.
Vec brotli(const Vec& in, int lgwin = 22) {
  Vec out(BrotliEncoderMaxCompressedSize(in.size()) + 16);
  size_t n = out.size();
  const int quality = in.size() > (1u << 20) ? 5 : BROTLI_DEFAULT_QUALITY;
  REQUIRE(BrotliEncoderCompress(quality, lgwin, BROTLI_MODE_GENERIC, in.size(), in.data(), &n,
                                out.data()) == BROTLI_TRUE);
  out.resize(n);
  return out;
}

Vec der_of(const std::string& pem) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t begin = pem.find('\n') + 1;
  const size_t end = pem.find("-----END");
  Vec der;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = begin; i < end; ++i) {
    const auto v = abc.find(pem[i]);
    if (v == std::string::npos) continue;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      der.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return der;
}

struct Identity {
  Vec cert;
  std::shared_ptr<const crypto::SigningKey> key;
};

const Identity& identity() {
  static const Identity id = [] {
    tls::CertificateRequest req;
    req.name = "localhost";
    auto kp = tls::generate_certificate(req);
    REQUIRE(kp.has_value());
    auto key = crypto::SigningKey::from_pem(kp->private_key);
    REQUIRE(key.has_value());
    return Identity{der_of(kp->certificate), std::make_shared<crypto::SigningKey>(std::move(*key))};
  }();
  return id;
}

void shuttle(Client& c, Server& s) {
  for (int i = 0; i < 20; ++i) {
    bool moved = false;
    if (!c.output().empty()) {
      Vec b(c.output().begin(), c.output().end());
      c.drain(b.size());
      (void)s.receive(b);
      moved = true;
    }
    if (!s.output().empty()) {
      Vec b(s.output().begin(), s.output().end());
      s.drain(b.size());
      (void)c.receive(b);
      moved = true;
    }
    if (!moved) return;
  }
}

struct Run {
  bool connected = false;
  Outcome error;
  int verifier_calls = 0;
  int compressor_calls = 0;
};

// handshake runs the engine client (chrome profile: offers brotli) against
// the engine server whose compressor output is |compress|'s.
Run handshake(std::function<Vec(std::span<const uint8_t>)> compress,
              size_t max_certificate_len = 64 * 1024) {
  const Identity& id = identity();
  auto run = std::make_shared<Run>();
  ClientConfig cc;
  cc.server_name = "localhost";
  cc.max_certificate_len = max_certificate_len;
  cc.verifier = [run, leaf = id.cert](std::span<const CertificateEntry> chain, std::string_view) {
    ++run->verifier_calls;
    if (chain.size() != 1 ||
        !std::equal(leaf.begin(), leaf.end(), chain[0].cert_data.begin(), chain[0].cert_data.end()))
      return Outcome::fail(Alert::bad_certificate, "unexpected certificate");
    return Outcome::success();
  };
  ServerConfig sc;
  sc.certificate_chain = {id.cert};
  sc.key = id.key;
  sc.certificate_compressor.algorithm = kCertCompressionBrotli;
  sc.certificate_compressor.compress = [run, compress](std::span<const uint8_t> in, Vec& out) {
    ++run->compressor_calls;
    out = compress(in);
    return true;
  };
  Client c(cc);
  Server s(sc);
  REQUIRE(c.start().ok());
  shuttle(c, s);
  run->connected = c.connected() && s.connected();
  run->error = c.error();
  if (run->connected) {
    const Vec up = {1, 2, 3, 4, 5};
    REQUIRE(c.send(up).has_value());
    shuttle(c, s);
    CHECK(s.take_application_data() == up);
  }
  return *run;
}

}  // namespace

TEST_CASE("brotli_decompress_exact: exact size only, bounded", "[tls13][brotli]") {
  Vec plain(5000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7 % 251);
  const Vec packed = brotli(plain);

  SECTION("round trip") {
    Vec out(plain.size());
    REQUIRE(crypto::brotli_decompress_exact(packed, out).has_value());
    CHECK(out == plain);
  }
  SECTION("output one byte short of the stream: malformed") {
    Vec out(plain.size() - 1);
    CHECK(crypto::brotli_decompress_exact(packed, out).error() == Errc::malformed);
  }
  SECTION("output one byte longer than the stream: malformed") {
    Vec out(plain.size() + 1);
    CHECK(crypto::brotli_decompress_exact(packed, out).error() == Errc::malformed);
  }
  SECTION("truncated stream: malformed") {
    Vec out(plain.size());
    const Vec cut(packed.begin(), packed.end() - 1);
    CHECK(crypto::brotli_decompress_exact(cut, out).error() == Errc::malformed);
  }
  SECTION("bytes after the end of the stream: malformed") {
    Vec out(plain.size());
    Vec more = packed;
    more.push_back(0);
    CHECK(crypto::brotli_decompress_exact(more, out).error() == Errc::malformed);
  }
  SECTION("garbage: malformed") {
    Vec out(plain.size());
    const Vec junk(200, 0xff);
    CHECK(crypto::brotli_decompress_exact(junk, out).error() == Errc::malformed);
  }
  SECTION("bomb: 64 MiB of zeros into a 64 KiB buffer stops at the buffer") {
    const Vec bomb = brotli(Vec(64u << 20, 0), 24);
    CHECK(bomb.size() < 64 * 1024);
    Vec out(64 * 1024);
    CHECK(crypto::brotli_decompress_exact(bomb, out).error() == Errc::malformed);
  }
  SECTION("decoder memory over the budget: malformed") {
    Vec out(plain.size());
    CHECK(crypto::brotli_decompress_exact(packed, out, 4096).error() == Errc::malformed);
    // 20 MiB in a 16 MiB window: the first meta-block is not the last, so
    // the decoder asks for the whole window as its ring buffer. The same
    // stream and output decode with a 64 MiB budget and fail with the
    // default one: the budget, not the output size, is what refuses it.
    const Vec plain_big(20u << 20, 0x41);
    const Vec big = brotli(plain_big, 24);
    Vec out_big(plain_big.size());
    CHECK(crypto::brotli_decompress_exact(big, out_big).error() == Errc::malformed);
    REQUIRE(crypto::brotli_decompress_exact(big, out_big, 64u << 20).has_value());
    CHECK(out_big == plain_big);
  }
}

TEST_CASE("parse_compressed_certificate: strict framing", "[tls13][brotli]") {
  CompressedCertificate cc;
  const Vec good = {0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb};
  REQUIRE(parse_compressed_certificate(good, cc).ok());
  CHECK(cc.algorithm == 2);
  CHECK(cc.uncompressed_length == 256);
  CHECK(cc.compressed.size() == 2);
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("truncated to " << n);
    CHECK(parse_compressed_certificate(Vec(good.begin(), good.begin() + n), cc).alert() ==
          Alert::decode_error);
  }
  Vec trailing = good;
  trailing.push_back(0);
  CHECK(parse_compressed_certificate(trailing, cc).alert() == Alert::decode_error);
  const Vec empty = {0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
  CHECK(parse_compressed_certificate(empty, cc).alert() == Alert::decode_error);
}

TEST_CASE("client takes a brotli CompressedCertificate; bad ones end in bad_certificate",
          "[tls13][brotli][client]") {
  auto to_vec = [](std::span<const uint8_t> in) { return Vec(in.begin(), in.end()); };

  SECTION("full handshake through a CompressedCertificate") {
    Run r = handshake([&](std::span<const uint8_t> in) { return brotli(to_vec(in)); });
    INFO(r.error.what());
    CHECK(r.compressor_calls == 1);
    CHECK(r.verifier_calls == 1);
    CHECK(r.connected);
  }
  SECTION("stream longer than uncompressed_length") {
    Run r = handshake([&](std::span<const uint8_t> in) {
      Vec v = to_vec(in);
      v.push_back(0);
      return brotli(v);
    });
    CHECK_FALSE(r.connected);
    CHECK(r.error.alert() == Alert::bad_certificate);
    CHECK(r.verifier_calls == 0);
  }
  SECTION("stream shorter than uncompressed_length") {
    Run r = handshake([&](std::span<const uint8_t> in) {
      Vec v = to_vec(in);
      v.pop_back();
      return brotli(v);
    });
    CHECK(r.error.alert() == Alert::bad_certificate);
    CHECK(r.verifier_calls == 0);
  }
  SECTION("declared length over the configured cap") {
    Run r = handshake([&](std::span<const uint8_t> in) { return brotli(to_vec(in)); }, 64);
    CHECK(r.error.alert() == Alert::bad_certificate);
    CHECK(r.verifier_calls == 0);
  }
  SECTION("garbage instead of a brotli stream") {
    Run r = handshake([](std::span<const uint8_t>) { return Vec(300, 0x5a); });
    CHECK(r.error.alert() == Alert::bad_certificate);
  }
  SECTION("decompression bomb") {
    Run r = handshake([](std::span<const uint8_t>) { return brotli(Vec(64u << 20, 0), 24); });
    CHECK(r.error.alert() == Alert::bad_certificate);
    CHECK(r.verifier_calls == 0);
  }
}

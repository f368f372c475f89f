// tls13_bench.cpp: sluice's own TLS 1.3 engine (lib/proto/tls13) against
// what it is built from and what it replaces.
//
// Record layer, 16 KiB of application data per record, AES-128-GCM:
//   BM_RecordSeal      RecordProtection::seal in place on a pool Slice
//                      (header into the headroom, type + tag into the
//                      tailroom; nonce from the sequence number);
//   BM_RawSeal         EVP_AEAD_CTX_seal in place over the same 16 KiB + 1
//                      type byte with the same 5-byte header as AD;
//   BM_RecordRoundTrip seal then RecordProtection::open of the same record
//                      in place (open consumes its input, so it is measured
//                      paired with the seal that remakes it);
//   BM_RawRoundTrip    EVP_AEAD_CTX_seal then EVP_AEAD_CTX_open in place.
// Handshake, client and server in one thread over memory, ECDSA P-256
// certificate, no tickets, no certificate path validation on either client:
//   BM_EngineHandshake/x25519   engine client (chrome profile, X25519 only)
//                               and engine server;
//   BM_EngineHandshake/hybrid   the same with X25519MLKEM768 (Chrome's
//                               default first flight: hybrid + X25519 shares);
//   BM_LibsslHandshake          BoringSSL's libssl client and server with
//                               X25519 (Debian's BoringSSL has no
//                               X25519MLKEM768).
#include <benchmark/benchmark.h>
#include <openssl/aead.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/buffer.hpp"
#include "sluice/cipher.hpp"

namespace {

using namespace sluice;
using namespace sluice::tls13;

constexpr size_t kRecordContent = 16384;

void die(const char* what) {
  std::fprintf(stderr, "tls13_bench: %s\n", what);
  std::abort();
}

const CipherSuite& aes128() { return *find_cipher_suite(kTlsAes128GcmSha256); }

Slice content_slice(BufferPool& pool) {
  auto r = pool.get(kRecordContent);
  if (!r) die("pool");
  Slice s = std::move(*r);
  if (s.headroom() < kRecordHeaderLen) {
    // Pool chunks keep headroom for headers; make sure of it here.
    die("no headroom");
  }
  uint8_t* p = s.append(kRecordContent);
  if (!p) die("append");
  std::memset(p, 0x5a, kRecordContent);
  return s;
}

// back_to_content turns a sealed record Slice back into the content view.
void back_to_content(Slice& s) {
  s.advance(kRecordHeaderLen);
  s.truncate(kRecordContent);
}

void BM_RecordSeal(benchmark::State& state) {
  BufferPool pool;
  Slice s = content_slice(pool);
  const std::vector<uint8_t> secret(32, 7);
  RecordProtection w;
  if (!w.init(aes128(), secret)) die("init");
  for (auto _ : state) {
    if (!w.seal(s, ContentType::application_data)) die("seal");
    benchmark::DoNotOptimize(s.data());
    back_to_content(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecordContent));
}

struct RawAead {
  RawAead() {
    std::vector<uint8_t> key(16, 7);
    if (!EVP_AEAD_CTX_init(&ctx, EVP_aead_aes_128_gcm(), key.data(), key.size(),
                           EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr))
      die("EVP_AEAD_CTX_init");
  }
  ~RawAead() { EVP_AEAD_CTX_cleanup(&ctx); }
  EVP_AEAD_CTX ctx;
  uint8_t iv[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint64_t seq = 0;
  void nonce(uint8_t out[12]) {
    std::memcpy(out, iv, 12);
    for (int i = 0; i < 8; ++i) out[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
    ++seq;
  }
};

// The raw loops work on the same kind of buffer: header, content + type,
// room for the tag.
std::vector<uint8_t> raw_record() {
  std::vector<uint8_t> buf(kRecordHeaderLen + kRecordContent + 1 + kAeadTagLen, 0x5a);
  const size_t len = kRecordContent + 1 + kAeadTagLen;
  buf[0] = 0x17;
  buf[1] = 0x03;
  buf[2] = 0x03;
  buf[3] = static_cast<uint8_t>(len >> 8);
  buf[4] = static_cast<uint8_t>(len);
  buf[kRecordHeaderLen + kRecordContent] = 0x17;
  return buf;
}

void BM_RawSeal(benchmark::State& state) {
  RawAead a;
  std::vector<uint8_t> buf = raw_record();
  uint8_t* body = buf.data() + kRecordHeaderLen;
  for (auto _ : state) {
    uint8_t n[12];
    a.nonce(n);
    size_t out_len = 0;
    if (!EVP_AEAD_CTX_seal(&a.ctx, body, &out_len, kRecordContent + 1 + kAeadTagLen, n, 12, body,
                           kRecordContent + 1, buf.data(), kRecordHeaderLen))
      die("EVP_AEAD_CTX_seal");
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecordContent));
}

void BM_RecordRoundTrip(benchmark::State& state) {
  BufferPool pool;
  Slice s = content_slice(pool);
  const std::vector<uint8_t> secret(32, 7);
  RecordProtection w, r;
  if (!w.init(aes128(), secret) || !r.init(aes128(), secret)) die("init");
  for (auto _ : state) {
    if (!w.seal(s, ContentType::application_data)) die("seal");
    ContentType type{};
    if (!r.open(s, type) || s.size() != kRecordContent) die("open");
    benchmark::DoNotOptimize(s.data());
    // open leaves the content view: the Slice is ready for the next seal.
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecordContent));
}

void BM_RawRoundTrip(benchmark::State& state) {
  RawAead w, r;
  std::vector<uint8_t> buf = raw_record();
  uint8_t* body = buf.data() + kRecordHeaderLen;
  for (auto _ : state) {
    uint8_t n[12];
    size_t out_len = 0;
    w.nonce(n);
    if (!EVP_AEAD_CTX_seal(&w.ctx, body, &out_len, kRecordContent + 1 + kAeadTagLen, n, 12, body,
                           kRecordContent + 1, buf.data(), kRecordHeaderLen))
      die("EVP_AEAD_CTX_seal");
    r.nonce(n);
    if (!EVP_AEAD_CTX_open(&r.ctx, body, &out_len, kRecordContent + 1, n, 12, body,
                           kRecordContent + 1 + kAeadTagLen, buf.data(), kRecordHeaderLen))
      die("EVP_AEAD_CTX_open");
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecordContent));
}

// One certificate for both implementations.
struct Identity {
  tls::KeyPairPem pem;
  std::vector<uint8_t> der;
  std::shared_ptr<const crypto::SigningKey> key;
};

const Identity& identity() {
  static const Identity id = [] {
    Identity i;
    auto kp = tls::generate_certificate(tls::CertificateRequest{});
    if (!kp) die("generate_certificate");
    i.pem = *kp;
    BIO* b = BIO_new_mem_buf(i.pem.certificate.data(), static_cast<int>(i.pem.certificate.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (x == nullptr) die("certificate PEM");
    uint8_t* der = nullptr;
    const int n = i2d_X509(x, &der);
    X509_free(x);
    if (n <= 0) die("i2d_X509");
    i.der.assign(der, der + n);
    OPENSSL_free(der);
    auto k = crypto::SigningKey::from_pem(i.pem.private_key);
    if (!k) die("key PEM");
    i.key = std::make_shared<const crypto::SigningKey>(std::move(*k));
    return i;
  }();
  return id;
}

template <typename A, typename B>
bool move_bytes(A& from, B& to) {
  if (from.output().empty()) return false;
  std::vector<uint8_t> b(from.output().begin(), from.output().end());
  from.drain(b.size());
  (void)to.receive(b);
  return true;
}

void BM_EngineHandshake(benchmark::State& state, bool hybrid) {
  const Identity& id = identity();
  ServerConfig sc;
  sc.certificate_chain = {id.der};
  sc.key = id.key;
  sc.cipher_suites = {kTlsAes128GcmSha256};
  sc.groups = hybrid ? std::vector<uint16_t>{kGroupX25519Mlkem768, kGroupX25519}
                     : std::vector<uint16_t>{kGroupX25519};
  ClientConfig cc;
  cc.server_name = "localhost";
  cc.key_shares = hybrid ? KeySharePolicy::hybrid_and_x25519 : KeySharePolicy::x25519_only;
  cc.verifier = [](std::span<const CertificateEntry>, std::string_view) {
    return Outcome::success();
  };
  for (auto _ : state) {
    Client c(cc);
    Server s(sc);
    if (!c.start()) die("start");
    for (int i = 0; i < 8; ++i) {
      const bool a = move_bytes(c, s);
      const bool b = move_bytes(s, c);
      if (!a && !b) break;
    }
    if (!c.connected() || !s.connected()) die("engine handshake failed");
    if (c.group() != (hybrid ? kGroupX25519Mlkem768 : kGroupX25519)) die("wrong group");
  }
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

void BM_LibsslHandshake(benchmark::State& state) {
  const Identity& id = identity();
  std::unique_ptr<SSL_CTX, SslCtxFree> sctx(SSL_CTX_new(TLS_method()));
  std::unique_ptr<SSL_CTX, SslCtxFree> cctx(SSL_CTX_new(TLS_method()));
  for (SSL_CTX* ctx : {sctx.get(), cctx.get()}) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set1_curves_list(ctx, "X25519")) die("curves");
  }
  SSL_CTX_set_options(sctx.get(), SSL_OP_NO_TICKET);
  {
    BIO* cb =
        BIO_new_mem_buf(id.pem.certificate.data(), static_cast<int>(id.pem.certificate.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO* kb =
        BIO_new_mem_buf(id.pem.private_key.data(), static_cast<int>(id.pem.private_key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    if (!cert || !key || !SSL_CTX_use_certificate(sctx.get(), cert) ||
        !SSL_CTX_use_PrivateKey(sctx.get(), key))
      die("libssl server identity");
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
  }
  SSL_CTX_set_verify(cctx.get(), SSL_VERIFY_NONE, nullptr);
  for (auto _ : state) {
    std::unique_ptr<SSL, SslFree> c(SSL_new(cctx.get())), s(SSL_new(sctx.get()));
    BIO *cb = nullptr, *sb = nullptr;
    if (!BIO_new_bio_pair(&cb, 0, &sb, 0)) die("bio pair");
    SSL_set_bio(c.get(), cb, cb);
    SSL_set_bio(s.get(), sb, sb);
    SSL_set_connect_state(c.get());
    SSL_set_accept_state(s.get());
    SSL_set_tlsext_host_name(c.get(), "localhost");
    bool cdone = false, sdone = false;
    for (int i = 0; i < 16 && !(cdone && sdone); ++i) {
      if (!cdone) cdone = SSL_do_handshake(c.get()) == 1;
      if (!sdone) sdone = SSL_do_handshake(s.get()) == 1;
    }
    if (!cdone || !sdone) die("libssl handshake failed");
  }
}

}  // namespace

BENCHMARK(BM_RecordSeal);
BENCHMARK(BM_RawSeal);
BENCHMARK(BM_RecordRoundTrip);
BENCHMARK(BM_RawRoundTrip);
BENCHMARK_CAPTURE(BM_EngineHandshake, x25519, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_EngineHandshake, hybrid, true)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibsslHandshake)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

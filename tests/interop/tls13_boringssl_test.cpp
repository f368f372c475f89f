// Interop of sluice's TLS 1.3 engine (lib/proto/tls13) with BoringSSL's
// libssl, an independent implementation, in process over memory BIOs: the
// engine's Chrome-profile client against a libssl server, full handshake
// with ECDSA P-256 certificates verified through VerifyPolicy, ALPN,
// 1 MiB of hash-checked data each way, key updates forced from both sides,
// close_notify both ways (also with libssl sending its Certificate as an
// RFC 8879 brotli CompressedCertificate); and libssl as the client of the
// engine server.
#include <brotli/encode.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/signature.hpp"
#include "crypto/tls_keypair.hpp"
#include "crypto/tls_verify.hpp"
#include "proto/tls13/client.hpp"
#include "proto/tls13/server.hpp"
#include "sluice/cipher.hpp"

using namespace sluice;
using namespace sluice::tls13;

namespace {

using Vec = std::vector<uint8_t>;

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

struct Pki {
  std::string ca_pem;
  tls::KeyPairPem leaf;
};

Pki make_pki() {
  tls::CertificateRequest ca_req;
  ca_req.name = "sluice tls13 test CA";
  ca_req.is_ca = true;
  auto ca = tls::generate_certificate(ca_req);
  REQUIRE(ca.has_value());
  tls::CertificateRequest leaf_req;
  leaf_req.name = "localhost";
  leaf_req.issuer_cert_pem = ca->certificate;
  leaf_req.issuer_key_pem = ca->private_key;
  auto leaf = tls::generate_certificate(leaf_req);
  REQUIRE(leaf.has_value());
  return {ca->certificate, *leaf};
}

int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void*) {
  // Prefer http/1.1 from the client's list, so the choice is the server's.
  for (unsigned i = 0; i < in_len;) {
    const uint8_t n = in[i];
    if (n == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *out_len = n;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::unique_ptr<SSL_CTX, SslCtxFree> server_ctx(const Pki& pki) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ctx);
  REQUIRE(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION));
  REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION));
  BIO* cb =
      BIO_new_mem_buf(pki.leaf.certificate.data(), static_cast<int>(pki.leaf.certificate.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  BIO* kb =
      BIO_new_mem_buf(pki.leaf.private_key.data(), static_cast<int>(pki.leaf.private_key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  REQUIRE(cert != nullptr);
  REQUIRE(key != nullptr);
  REQUIRE(SSL_CTX_use_certificate(ctx.get(), cert));
  REQUIRE(SSL_CTX_use_PrivateKey(ctx.get(), key));
  X509_free(cert);
  EVP_PKEY_free(key);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);
  return ctx;
}

// brotli_compress is libssl's certificate compressor (libbrotlienc; the
// engine itself only decodes). It counts its calls in |g_compressions|.
int g_compressions = 0;
int brotli_compress(SSL*, CBB* out, const uint8_t* in, size_t in_len) {
  ++g_compressions;
  size_t n = BrotliEncoderMaxCompressedSize(in_len);
  uint8_t* dst = nullptr;
  if (n == 0 || !CBB_reserve(out, &dst, n)) return 0;
  if (BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                            in_len, in, &n, dst) != BROTLI_TRUE)
    return 0;
  return CBB_did_write(out, n);
}

// Link shuttles bytes between the engine client and a libssl SSL.
struct Link {
  Client& client;
  SSL* ssl;
  BIO* to_server;    // the server reads what we write here
  BIO* from_server;  // the server writes here

  void client_to_server() {
    auto out = client.output();
    if (!out.empty()) {
      REQUIRE(BIO_write(to_server, out.data(), static_cast<int>(out.size())) ==
              static_cast<int>(out.size()));
      client.drain(out.size());
    }
  }
  Outcome server_to_client() {
    std::vector<uint8_t> buf(BIO_ctrl_pending(from_server));
    if (buf.empty()) return Outcome::success();
    REQUIRE(BIO_read(from_server, buf.data(), static_cast<int>(buf.size())) ==
            static_cast<int>(buf.size()));
    return client.receive(buf);
  }
};

Vec pattern(size_t n, uint8_t seed) {
  Vec v(n);
  random_bytes(v);
  v[0] = seed;
  return v;
}

std::string sha256_hex(std::span<const uint8_t> b) {
  std::array<uint8_t, 32> h{};
  REQUIRE(Digest::hash(DigestAlgorithm::sha256, b, h).has_value());
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : h) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

void run_session(KeySharePolicy policy, bool compress_certificate = false) {
  const Pki pki = make_pki();
  auto ctx = server_ctx(pki);
  g_compressions = 0;
  if (compress_certificate)
    REQUIRE(SSL_CTX_add_cert_compression_alg(ctx.get(), kCertCompressionBrotli, brotli_compress,
                                             nullptr));
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  REQUIRE(ssl);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_accept_state(ssl.get());

  std::string why;
  auto policy_obj = tls::VerifyPolicy::create(false, pki.ca_pem, {}, {}, &why);
  INFO(why);
  REQUIRE(policy_obj.has_value());
  ClientConfig cfg;
  cfg.server_name = "localhost";
  cfg.key_shares = policy;
  cfg.verifier = policy_verifier(*policy_obj);
  Client client(cfg);
  Link link{client, ssl.get(), rbio, wbio};

  REQUIRE(client.start().ok());
  for (int round = 0; round < 10 && !client.connected(); ++round) {
    link.client_to_server();
    const int r = SSL_do_handshake(ssl.get());
    if (r != 1) REQUIRE(SSL_get_error(ssl.get(), r) == SSL_ERROR_WANT_READ);
    Outcome o = link.server_to_client();
    INFO(o.what() << " alert " << alert_name(o.alert()));
    REQUIRE(o.ok());
  }
  REQUIRE(client.connected());
  link.client_to_server();
  REQUIRE(SSL_do_handshake(ssl.get()) == 1);
  CHECK(SSL_version(ssl.get()) == TLS1_3_VERSION);
  CHECK(client.alpn() == "http/1.1");
  CHECK(client.group() == kGroupX25519);  // Debian's BoringSSL has no X25519MLKEM768
  CHECK(client.cipher_suite() == SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl.get())));
  // The chrome profile offers brotli: libssl compressed its Certificate
  // exactly when it was given the compressor.
  CHECK(g_compressions == (compress_certificate ? 1 : 0));

  const Vec write_secret0(client.write_protection().traffic_secret().span().begin(),
                          client.write_protection().traffic_secret().span().end());
  const Vec read_secret0(client.read_protection().traffic_secret().span().begin(),
                         client.read_protection().traffic_secret().span().end());
  // 1 MiB each way, with key updates forced from both sides in the middle.
  const Vec up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
  Vec got_up, got_down;
  std::vector<uint8_t> buf(64 * 1024);
  for (size_t off = 0; off < up.size(); off += 100000) {
    const size_t n = std::min<size_t>(100000, up.size() - off);
    REQUIRE(client.send(std::span(up).subspan(off, n)).has_value());
    if (off == 300000) REQUIRE(client.request_key_update().has_value());
    if (off == 500000) REQUIRE(SSL_key_update(ssl.get(), SSL_KEY_UPDATE_REQUESTED));
    link.client_to_server();
    for (;;) {
      const int r = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
      if (r <= 0) {
        REQUIRE(SSL_get_error(ssl.get(), r) == SSL_ERROR_WANT_READ);
        break;
      }
      got_up.insert(got_up.end(), buf.begin(), buf.begin() + r);
    }
    const size_t dn = std::min<size_t>(100000, down.size() - std::min(down.size(), off));
    if (dn)
      REQUIRE(SSL_write(ssl.get(), down.data() + off, static_cast<int>(dn)) ==
              static_cast<int>(dn));
    Outcome o = link.server_to_client();
    INFO(o.what());
    REQUIRE(o.ok());
    auto part = client.take_application_data();
    got_down.insert(got_down.end(), part.begin(), part.end());
  }
  link.client_to_server();  // the KeyUpdate answer, if any
  CHECK(sha256_hex(got_up) == sha256_hex(up));
  CHECK(sha256_hex(got_down) == sha256_hex(down));
  // Both directions were rekeyed: the client's write key by its own request
  // (and again answering the server's), its read key by libssl's answer and
  // libssl's own request; data kept flowing across each change.
  const auto ws = client.write_protection().traffic_secret().span();
  const auto rs = client.read_protection().traffic_secret().span();
  CHECK(Vec(ws.begin(), ws.end()) != write_secret0);
  CHECK(Vec(rs.begin(), rs.end()) != read_secret0);
  // 64 records of 16 KiB each way: the sequence restarted after an update.
  CHECK(client.write_protection().sequence() < 64);
  CHECK(client.read_protection().sequence() < 64);

  REQUIRE(client.close().has_value());
  link.client_to_server();
  CHECK(SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size())) == 0);
  CHECK(SSL_get_error(ssl.get(), 0) == SSL_ERROR_ZERO_RETURN);
  REQUIRE(SSL_shutdown(ssl.get()) >= 0);
  REQUIRE(link.server_to_client().ok());
  CHECK(client.peer_closed());
  ERR_clear_error();
}

Vec der_of_pem(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  REQUIRE(x != nullptr);
  uint8_t* der = nullptr;
  const int n = i2d_X509(x, &der);
  X509_free(x);
  REQUIRE(n > 0);
  Vec out(der, der + n);
  OPENSSL_free(der);
  return out;
}

}  // namespace

TEST_CASE("BoringSSL libssl client against the engine server", "[tls13][interop][boringssl]") {
  const Pki pki = make_pki();
  auto key = crypto::SigningKey::from_pem(pki.leaf.private_key);
  REQUIRE(key.has_value());
  ServerConfig sc;
  sc.certificate_chain = {der_of_pem(pki.leaf.certificate)};
  sc.key = std::make_shared<crypto::SigningKey>(std::move(*key));
  sc.alpn = {"h2"};
  Server server(sc);

  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION));
  REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION));
  BIO* cab = BIO_new_mem_buf(pki.ca_pem.data(), static_cast<int>(pki.ca_pem.size()));
  X509* ca = PEM_read_bio_X509(cab, nullptr, nullptr, nullptr);
  BIO_free(cab);
  REQUIRE(ca != nullptr);
  REQUIRE(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca));
  X509_free(ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  static const uint8_t kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  REQUIRE(SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn) == 0);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_connect_state(ssl.get());
  REQUIRE(SSL_set_tlsext_host_name(ssl.get(), "localhost"));
  X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl.get()), "localhost", 9);

  auto ssl_to_server = [&] {
    std::vector<uint8_t> b(BIO_ctrl_pending(wbio));
    if (b.empty()) return;
    REQUIRE(BIO_read(wbio, b.data(), static_cast<int>(b.size())) == static_cast<int>(b.size()));
    Outcome o = server.receive(b);
    INFO(o.what());
    REQUIRE(o.ok());
  };
  auto server_to_ssl = [&] {
    auto out = server.output();
    if (out.empty()) return;
    REQUIRE(BIO_write(rbio, out.data(), static_cast<int>(out.size())) ==
            static_cast<int>(out.size()));
    server.drain(out.size());
  };
  for (int i = 0; i < 10 && SSL_do_handshake(ssl.get()) != 1; ++i) {
    ssl_to_server();
    server_to_ssl();
  }
  INFO(ERR_reason_error_string(ERR_peek_error()));
  REQUIRE(SSL_do_handshake(ssl.get()) == 1);
  ssl_to_server();
  REQUIRE(server.connected());
  CHECK(SSL_get_verify_result(ssl.get()) == X509_V_OK);
  CHECK(server.group() == kGroupX25519);
  CHECK(server.alpn() == "h2");
  CHECK(server.signature_scheme() == kSigEcdsaSecp256r1Sha256);

  const Vec up = pattern(300000, 3), down = pattern(300000, 4);
  REQUIRE(SSL_write(ssl.get(), up.data(), static_cast<int>(up.size())) ==
          static_cast<int>(up.size()));
  REQUIRE(SSL_key_update(ssl.get(), SSL_KEY_UPDATE_REQUESTED));
  REQUIRE(SSL_write(ssl.get(), up.data(), 1000) == 1000);
  ssl_to_server();
  REQUIRE(server.send(down).has_value());
  REQUIRE(server.request_key_update().has_value());
  REQUIRE(server.send(std::span(down).first(1000)).has_value());
  server_to_ssl();
  Vec got;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    const int r = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
    if (r <= 0) break;
    got.insert(got.end(), buf.begin(), buf.begin() + r);
  }
  ssl_to_server();  // libssl's KeyUpdate answer
  Vec want_down = down;
  want_down.insert(want_down.end(), down.begin(), down.begin() + 1000);
  Vec want_up = up;
  want_up.insert(want_up.end(), up.begin(), up.begin() + 1000);
  CHECK(sha256_hex(got) == sha256_hex(want_down));
  CHECK(sha256_hex(server.take_application_data()) == sha256_hex(want_up));
  REQUIRE(server.close().has_value());
  server_to_ssl();
  CHECK(SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size())) == 0);
  ERR_clear_error();
}

TEST_CASE("engine client (chrome, hybrid+X25519) against BoringSSL libssl server",
          "[tls13][interop][boringssl]") {
  run_session(KeySharePolicy::hybrid_and_x25519);
}

TEST_CASE("engine client (chrome, X25519 only) against BoringSSL libssl server",
          "[tls13][interop][boringssl]") {
  run_session(KeySharePolicy::x25519_only);
}

TEST_CASE("engine client against a libssl server sending a brotli CompressedCertificate",
          "[tls13][interop][boringssl]") {
  run_session(KeySharePolicy::x25519_only, true);
}

namespace {

// rejected runs the engine client against a libssl server with |pki| and
// returns the client's failure.
Outcome rejected(const Pki& pki, const std::string& trusted_ca, const std::string& host) {
  auto ctx = server_ctx(pki);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_accept_state(ssl.get());
  std::string why;
  auto policy_obj = tls::VerifyPolicy::create(false, trusted_ca, {}, {}, &why);
  REQUIRE(policy_obj.has_value());
  ClientConfig cfg;
  cfg.server_name = host;
  cfg.verifier = policy_verifier(*policy_obj);
  Client client(cfg);
  Link link{client, ssl.get(), rbio, wbio};
  REQUIRE(client.start().ok());
  link.client_to_server();
  CHECK(SSL_do_handshake(ssl.get()) != 1);
  Outcome o = link.server_to_client();
  CHECK(client.failed());
  // The alert reaches libssl, which reports it.
  link.client_to_server();
  CHECK(SSL_do_handshake(ssl.get()) != 1);
  CHECK(SSL_get_error(ssl.get(), -1) == SSL_ERROR_SSL);
  ERR_clear_error();
  return o;
}

}  // namespace

TEST_CASE("engine client rejects a libssl server whose certificate is not trusted",
          "[tls13][interop][boringssl]") {
  const Pki pki = make_pki();
  const Pki other = make_pki();
  CHECK(rejected(pki, other.ca_pem, "localhost").alert() == Alert::unknown_ca);
}

TEST_CASE("engine client rejects a libssl server certificate for another name",
          "[tls13][interop][boringssl]") {
  const Pki pki = make_pki();
  CHECK(rejected(pki, pki.ca_pem, "example.org").alert() == Alert::bad_certificate);
}

// quic_support.hpp: helpers for the QUIC end-to-end tests: a self-signed
// certificate, an echo server, a hash-checked transfer and a lossy UDP relay.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/cipher.hpp"
#include "support.hpp"

namespace sluice::test {

// SelfSigned is a P-256 key and a self-signed certificate for "localhost", in PEM.
struct SelfSigned {
  std::string cert_pem, key_pem;
};

inline SelfSigned make_self_signed() {
  SelfSigned out;
  EC_KEY* ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_KEY_generate_key(ec);
  EVP_PKEY* pkey = EVP_PKEY_new();
  EVP_PKEY_assign_EC_KEY(pkey, ec);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, pkey);
  X509_sign(x, pkey, EVP_sha256());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  const uint8_t* p;
  size_t n;
  BIO_mem_contents(b, &p, &n);
  out.cert_pem.assign(reinterpret_cast<const char*>(p), n);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_mem_contents(b, &p, &n);
  out.key_pem.assign(reinterpret_cast<const char*>(p), n);
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(pkey);
  return out;
}

// server_opts / client_opts: the TLS options every QUIC test starts from
// (a server with |c|, a client that does not verify, both with |alpn|).
inline quic::QuicTlsOptions server_opts(const SelfSigned& c,
                                        std::vector<std::string> alpn = {"sluice-test"}) {
  quic::QuicTlsOptions o;
  o.server = true;
  o.alpn = std::move(alpn);
  o.cert_pem = c.cert_pem;
  o.key_pem = c.key_pem;
  return o;
}

inline quic::QuicTlsOptions client_opts(std::vector<std::string> alpn = {"sluice-test"}) {
  quic::QuicTlsOptions o;
  o.alpn = std::move(alpn);
  o.server_name = "localhost";
  o.verify_peer = false;
  return o;
}

// make_tls builds a context; a test cannot go on without it.
inline std::shared_ptr<quic::QuicTlsContext> make_tls(const quic::QuicTlsOptions& o) {
  std::string why;
  auto r = quic::QuicTlsContext::create(o, &why);
  if (!r) {
    std::fprintf(stderr, "QuicTlsContext::create: %s\n", why.c_str());
    std::abort();
  }
  return std::shared_ptr<quic::QuicTlsContext>(std::move(*r));
}

inline std::shared_ptr<quic::QuicTlsContext> server_tls(const SelfSigned& c,
                                                        std::vector<std::string> alpn = {
                                                            "sluice-test"}) {
  return make_tls(server_opts(c, std::move(alpn)));
}

inline std::shared_ptr<quic::QuicTlsContext> client_tls(std::vector<std::string> alpn = {
                                                            "sluice-test"}) {
  return make_tls(client_opts(std::move(alpn)));
}

// ClientHandler records how a client connection went: handshake, datagrams
// received, and the close (error, application code, reason, and the ECH
// retry configs the server sent with a rejection).
struct ClientHandler final : quic::ConnectionHandler {
  std::atomic<bool> up{false};
  std::atomic<bool> closed{false};
  std::atomic<int> datagrams{0};
  Errc close_error = Errc::ok;
  uint64_t app_error = 0;
  std::string reason;
  std::vector<uint8_t> retry;
  void on_handshake_done(quic::Connection&) override { up = true; }
  void on_datagram(quic::Connection&, const uint8_t*, size_t) override { datagrams++; }
  void on_closed(quic::Connection& c, Errc e, uint64_t code, const char* why) override {
    close_error = e;
    app_error = code;
    reason = why ? why : "";
    retry = c.ech_retry_configs();
    closed = true;
  }
};

// close_endpoint closes |ep| on |e|'s loop, waits for it, and drops it.
inline void close_endpoint(Engine& e, std::unique_ptr<quic::Endpoint>& ep) {
  if (!ep) return;
  std::atomic<bool> done{false};
  on_loop(e,
          [&] { ep->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done); });
  if (!wait_until([&] { return done.load(); }, std::chrono::milliseconds(10000))) {
    std::fprintf(stderr, "close_endpoint: the endpoint did not close\n");
    std::abort();
  }
  ep.reset();
}

// EchoStream writes back what it reads and half-closes after the peer's FIN.
struct EchoStream final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  bool closed = false;
  bool eof = false;
  explicit EchoStream(std::unique_ptr<quic::QuicStream> st) : s(std::move(st)) {
    s->set_handler(this);
    s->read_start();
  }
  void on_data(Slice&& d) override { (void)s->write(std::move(d)); }
  void on_eof() override {
    eof = true;
    (void)s->shutdown();
    maybe_close();
  }
  void on_error(Errc) override { finish(); }
  void on_write_high() override { s->read_stop(); }
  void on_write_low() override { s->read_start(); }
  void on_drained() override { maybe_close(); }
  void maybe_close() {
    if (eof && s->write_buffered() == 0) finish();
  }
  void finish() {
    if (closed) return;
    closed = true;
    s->set_handler(nullptr);
    auto* self = this;
    s->close([](void* u) { delete static_cast<EchoStream*>(u); }, self);
  }
};

// EchoServer accepts connections, echoes every stream and every datagram.
struct EchoServer final : quic::AcceptHandler, quic::ConnectionHandler {
  std::atomic<int> accepted{0};
  std::atomic<int> handshakes{0};
  std::atomic<int> closed{0};
  std::atomic<int> datagrams{0};
  Errc last_close = Errc::ok;
  quic::Connection* last = nullptr;  // the newest connection (loop thread; until it closes)
  void on_connection(quic::Connection& c) override {
    accepted++;
    last = &c;
    c.set_handler(this);
  }
  void on_handshake_done(quic::Connection&) override { handshakes++; }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    new EchoStream(std::move(s));
  }
  void on_datagram(quic::Connection& c, const uint8_t* d, size_t n) override {
    datagrams++;
    (void)c.send_datagram(d, n);
  }
  void on_closed(quic::Connection& c, Errc e, uint64_t, const char*) override {
    last_close = e;
    if (last == &c) last = nullptr;
    closed++;
  }
};

// Transfer sends |total| pattern bytes on a new stream, half-closes, and
// hashes what comes back; done() when the echo's FIN arrives.
struct Transfer final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  BufferPool* pool;
  Pattern gen;
  Digest sent{DigestAlgorithm::sha256};
  Digest got{DigestAlgorithm::sha256};
  size_t total, written = 0, received = 0;
  bool paused = false, eof = false, failed = false, finished_writing = false;
  std::function<void(Transfer*)> on_done;
  Transfer(std::unique_ptr<quic::QuicStream> st, BufferPool& p, size_t n, uint64_t seed)
      : s(std::move(st)), pool(&p), gen(seed), total(n) {
    s->set_handler(this);
    s->read_start();
    pump();
  }
  void pump() {
    while (!paused && written < total) {
      const size_t n = std::min<size_t>(16384, total - written);
      auto sl = pool->get(SizeClass::k16K);
      if (!sl) std::abort();
      uint8_t* p = sl->append(n);
      gen.fill(p, n);
      sent.update(p, n);
      written += n;
      if (!s->write(std::move(*sl))) {
        failed = true;
        return;
      }
    }
    if (written == total && !finished_writing) {
      finished_writing = true;
      (void)s->shutdown();
    }
  }
  void on_data(Slice&& d) override {
    received += d.size();
    got.update(d.data(), d.size());
  }
  void on_eof() override {
    eof = true;
    done();
  }
  void on_error(Errc) override {
    failed = true;
    done();
  }
  void on_write_high() override { paused = true; }
  void on_write_low() override {
    paused = false;
    pump();
  }
  bool ok() {
    uint8_t a[32], b[32];
    (void)sent.finish(a);
    (void)got.finish(b);
    return !failed && eof && received == total && std::memcmp(a, b, 32) == 0;
  }
  void done() {
    if (on_done) {
      auto f = std::move(on_done);
      on_done = nullptr;
      f(this);
    }
  }
};

// LossyRelay forwards UDP between one client and a server, dropping
// |drop_pct| percent of datagrams in each direction and swapping the order
// of every |reorder_every|-th pair.
struct LossyRelay {
  uv_udp_t udp{};
  sockaddr_in server{};
  sockaddr_storage client{};
  bool have_client = false;
  int drop_pct;
  int reorder_every;
  // max_size: datagrams longer than this are dropped, as by a path whose MTU
  // is max_size + 28 (IPv4 + UDP headers); 0 = no limit.
  size_t max_size = 0;
  std::mt19937 rng{12345};
  uint64_t forwarded = 0, dropped = 0, reordered = 0;
  struct Held {
    std::vector<uint8_t> data;
    sockaddr_storage to;
    bool valid = false;
  } held;
  uint8_t buf[65536];
  LossyRelay(uv_loop_t* loop, uint16_t server_port, int drop, int reorder)
      : drop_pct(drop), reorder_every(reorder) {
    uv_udp_init(loop, &udp);
    udp.data = this;
    sockaddr_in a{};
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_udp_bind(&udp, reinterpret_cast<sockaddr*>(&a), 0);
    uv_ip4_addr("127.0.0.1", server_port, &server);
    uv_udp_recv_start(
        &udp,
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* r = static_cast<LossyRelay*>(h->data);
          *b = uv_buf_init(reinterpret_cast<char*>(r->buf), sizeof r->buf);
        },
        [](uv_udp_t* u, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
          auto* r = static_cast<LossyRelay*>(u->data);
          if (n <= 0 || from == nullptr) return;
          r->forward(reinterpret_cast<const uint8_t*>(b->base), static_cast<size_t>(n), from);
        });
  }
  uint16_t port() {
    sockaddr_in a{};
    int len = sizeof a;
    uv_udp_getsockname(&udp, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  void send_to(const uint8_t* d, size_t n, const sockaddr* to) {
    uv_buf_t b =
        uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(d)), static_cast<unsigned>(n));
    (void)uv_udp_try_send(&udp, &b, 1, to);
  }
  void forward(const uint8_t* d, size_t n, const sockaddr* from) {
    const auto* f = reinterpret_cast<const sockaddr_in*>(from);
    sockaddr_storage to{};
    if (f->sin_port == server.sin_port) {
      if (!have_client) return;
      to = client;
    } else {
      std::memcpy(&client, from, sizeof(sockaddr_in));
      have_client = true;
      std::memcpy(&to, &server, sizeof server);
    }
    if (static_cast<int>(rng() % 100) < drop_pct || (max_size > 0 && n > max_size)) {
      dropped++;
      return;
    }
    forwarded++;
    if (held.valid) {
      // Release the held one after this one: the pair arrives swapped.
      send_to(d, n, reinterpret_cast<sockaddr*>(&to));
      send_to(held.data.data(), held.data.size(), reinterpret_cast<sockaddr*>(&held.to));
      held.valid = false;
      reordered++;
      return;
    }
    if (reorder_every > 0 && static_cast<int>(rng() % reorder_every) == 0) {
      held.data.assign(d, d + n);
      held.to = to;
      held.valid = true;
      return;
    }
    send_to(d, n, reinterpret_cast<sockaddr*>(&to));
  }
  void close(std::function<void()> done) {
    static std::function<void()> pending;
    pending = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&udp), [](uv_handle_t*) { pending(); });
  }
};

}  // namespace sluice::test

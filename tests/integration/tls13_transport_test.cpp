// Tls13Transport end to end on 127.0.0.1 with real sockets: sluice's own
// TLS 1.3 engine as the client of BoringSSL's TLS server (TlsEchoServer),
// and as the server of BoringSSL's client (TlsForwarder); hash-checked
// transfers, KeyUpdate forced mid-transfer, half-close, verification
// failures, a peer's alerts and hostile records with their specific errors.
#include <catch2/catch.hpp>

#include <openssl/aead.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>

#include "../unit/transport/tls_test_util.hpp"
#include "crypto/signature.hpp"
#include "crypto/tls_verify.hpp"
#include "tls_support.hpp"
#include "transport/forwarding_transport.hpp"
#include "transport/tls13_transport.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

// KeyUpdater requests a KeyUpdate on its Tls13Transport after every
// |every| bytes written, so updates land mid-transfer; it counts the updates
// it sent and the most the peer has sent back.
struct KeyUpdateCounts {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0};
};

class KeyUpdater final : public ForwardingTransport {
 public:
  KeyUpdater(std::unique_ptr<Tls13Transport> t, size_t every, KeyUpdateCounts* counts)
      : ForwardingTransport(nullptr), tls_(t.get()), every_(every), counts_(counts) {
    set_inner(std::move(t));
  }
  using Transport::write;
  Status write(Chain&& data) noexcept override {
    written_ += data.size();
    if (written_ >= every_) {
      written_ = 0;
      SLUICE_TRY(tls_->request_key_update());
      counts_->sent++;
    }
    const uint64_t in = tls_->records()->key_updates_received();
    if (in > counts_->received) counts_->received = in;
    return ForwardingTransport::write(std::move(data));
  }

 private:
  Tls13Transport* tls_;
  size_t every_;
  KeyUpdateCounts* counts_;
  size_t written_ = 0;
};

// Tls13Forwarder accepts plain TCP and carries each connection over a
// Tls13Dial (the utls path) to a TLS server through a Relay.
class Tls13Forwarder final : public EngineObject, public net::AcceptHandler {
 public:
  Tls13Forwarder(Engine& e, std::shared_ptr<const tls::TlsClientContext> ctx, uint16_t target,
                 std::string fingerprint = "chrome", size_t key_update_every = 0,
                 TlsDialOptions opts = {})
      : EngineObject(e),
        ctx_(std::move(ctx)),
        target_(target),
        fp_(std::move(fingerprint)),
        ku_every_(key_update_every),
        opts_(opts) {
    std::string reason;
    auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, &reason);
    if (!l) std::abort();
    listener_ = std::move(*l);
    port_ = listener_->port();
  }
  uint16_t port() const { return port_; }

  struct Result {
    Errc error = Errc::ok;
    std::string reason;
    TlsInfo info;
  };
  std::vector<Result> results() {
    std::lock_guard<std::mutex> l(mu_);
    return results_;
  }
  KeyUpdateCounts key_updates;

  struct Pending final : Tls13DialHandler {
    Tls13Forwarder* fwd;
    std::unique_ptr<net::TcpTransport> plain;
    Tls13Dial* dial = nullptr;
    void on_tls13_dial(sluice::Result<std::unique_ptr<Tls13Transport>> t,
                       const char* reason) override {
      dial = nullptr;
      Result r;
      r.error = t ? Errc::ok : t.error();
      r.reason = reason;
      if (t) r.info = (*t)->info();
      {
        std::lock_guard<std::mutex> l(fwd->mu_);
        fwd->results_.push_back(r);
      }
      auto& v = fwd->pending_;
      v.erase(std::find(v.begin(), v.end(), this));
      if (t) {
        std::unique_ptr<Transport> side;
        if (fwd->ku_every_ > 0) {
          side = std::make_unique<KeyUpdater>(std::move(*t), fwd->ku_every_, &fwd->key_updates);
        } else {
          side = std::move(*t);
        }
        Relay::start(fwd->engine(), std::move(plain), std::move(side), {}, nullptr);
      } else {
        close_and_delete(plain.release());
      }
      delete this;
    }
  };

  void engine_close() noexcept override {
    auto v = pending_;
    for (Pending* p : v) {
      if (p->dial) p->dial->cancel();
      close_and_delete(p->plain.release());
      delete p;
    }
    pending_.clear();
    listener_->close(
        [](void* u) {
          auto* s = static_cast<Tls13Forwarder*>(u);
          s->listener_.reset();
          s->detach_from_engine();
        },
        this);
  }

 private:
  void on_accept(std::unique_ptr<net::TcpTransport> t) override {
    auto* p = new Pending();
    p->fwd = this;
    p->plain = std::move(t);
    pending_.push_back(p);
    Tls13Dial* d = Tls13Dial::start(engine(), "127.0.0.1", target_, ctx_, fp_, opts_, p);
    if (std::find(pending_.begin(), pending_.end(), p) != pending_.end()) p->dial = d;
  }

  std::shared_ptr<const tls::TlsClientContext> ctx_;
  uint16_t target_;
  std::string fp_;
  size_t ku_every_;
  TlsDialOptions opts_;
  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Result> results_;
  std::vector<Pending*> pending_;
};

std::vector<uint8_t> der_of_pem(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  REQUIRE(x != nullptr);
  uint8_t* der = nullptr;
  const int n = i2d_X509(x, &der);
  X509_free(x);
  REQUIRE(n > 0);
  std::vector<uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

tls13::ServerConfig engine_server_config(const tls::KeyPairPem& leaf) {
  auto key = crypto::SigningKey::from_pem(leaf.private_key);
  REQUIRE(key);
  tls13::ServerConfig sc;
  sc.certificate_chain = {der_of_pem(leaf.certificate)};
  sc.key = std::make_shared<crypto::SigningKey>(std::move(*key));
  return sc;
}

// Tls13EchoServer terminates TLS with the engine server and echoes
// (half-closing after the peer's end-of-stream); it records how each
// connection's handshake and life ended.
class Tls13EchoServer final : public EngineObject, public net::AcceptHandler {
 public:
  Tls13EchoServer(Engine& e, tls13::ServerConfig cfg) : EngineObject(e), cfg_(std::move(cfg)) {
    std::string reason;
    auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, &reason);
    if (!l) std::abort();
    listener_ = std::move(*l);
    port_ = listener_->port();
  }
  uint16_t port() const { return port_; }

  struct Seen {
    Errc handshake = Errc::ok;
    std::string handshake_reason;
    Errc error = Errc::ok;  // on_error after the handshake
    std::string reason;
    uint64_t key_updates_in = 0;
  };
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

  struct Conn final : TransportHandler, TlsHandshakeHandler {
    Tls13EchoServer* server;
    size_t index;
    std::unique_ptr<Tls13Transport> t;
    bool got_eof = false;
    bool closed = false;

    void on_handshake(Errc e, const char* reason) override {
      {
        std::lock_guard<std::mutex> l(server->mu_);
        server->seen_[index].handshake = e;
        server->seen_[index].handshake_reason = reason;
      }
      if (e != Errc::ok) {
        close();
        return;
      }
      t->read_start();
    }
    void on_data(Slice&& data) override { (void)t->write(std::move(data)); }
    void on_eof() override {
      got_eof = true;
      (void)t->shutdown();
      maybe_done();
    }
    void on_error(Errc e) override {
      {
        std::lock_guard<std::mutex> l(server->mu_);
        server->seen_[index].error = e;
        server->seen_[index].reason = t->failure_reason();
      }
      close();
    }
    void on_write_high() override { t->read_stop(); }
    void on_write_low() override {
      if (!got_eof) t->read_start();
    }
    void on_drained() override { maybe_done(); }
    void maybe_done() {
      if (got_eof && t->write_buffered() == 0) close();
    }
    void close() {
      if (closed) return;
      closed = true;
      {
        std::lock_guard<std::mutex> l(server->mu_);
        if (t->records())
          server->seen_[index].key_updates_in = t->records()->key_updates_received();
      }
      t->set_handler(nullptr);
      t->close(
          [](void* u) {
            auto* c = static_cast<Conn*>(u);
            auto& v = c->server->conns_;
            v.erase(std::find(v.begin(), v.end(), c));
            delete c;
          },
          this);
    }
  };

  void engine_close() noexcept override {
    auto v = conns_;
    for (Conn* c : v) c->close();
    listener_->close(
        [](void* u) {
          auto* s = static_cast<Tls13EchoServer*>(u);
          s->listener_.reset();
          s->detach_from_engine();
        },
        this);
  }

 private:
  void on_accept(std::unique_ptr<net::TcpTransport> tcp) override {
    auto t =
        Tls13Transport::server(engine(), std::move(tcp), std::make_unique<tls13::Server>(cfg_));
    if (!t) return;
    auto* c = new Conn();
    c->server = this;
    {
      std::lock_guard<std::mutex> l(mu_);
      c->index = seen_.size();
      seen_.emplace_back();
    }
    c->t = std::move(*t);
    c->t->set_handler(c);
    conns_.push_back(c);
    c->t->start_handshake(c);
  }

  tls13::ServerConfig cfg_;
  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::vector<Conn*> conns_;
};

struct EngineRig {
  std::unique_ptr<Engine> engine = std::move(*Engine::create());
  ~EngineRig() {
    if (!engine) return;
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
  }
};

// Blocking engine client on the test thread (sans I/O over a socket), for
// sending hand-made records to the engine server.
struct RawClient {
  int fd;
  tls13::Client c;
  explicit RawClient(uint16_t port, const std::string& ca_pem)
      : fd(tcp_connect(port)), c(config(ca_pem)) {}
  ~RawClient() { ::close(fd); }
  static tls13::ClientConfig config(const std::string& ca_pem) {
    auto p = tls::VerifyPolicy::create(false, ca_pem, {}, {}, nullptr);
    REQUIRE(p);
    tls13::ClientConfig cfg;
    cfg.server_name = "localhost";
    cfg.verifier = tls13::policy_verifier(*p);
    return cfg;
  }
  void flush() {
    auto out = c.output();
    REQUIRE(send_all(fd, out.data(), out.size()));
    c.drain(out.size());
  }
  bool handshake() {
    if (!c.start()) return false;
    flush();
    while (!c.connected() && !c.failed()) {
      const std::string in = recv_some(fd);
      if (in.empty()) return false;
      (void)c.receive({reinterpret_cast<const uint8_t*>(in.data()), in.size()});
      flush();
    }
    return c.connected();
  }
  // send_record seals |content| as one record of |type| and sends it.
  void send_record(tls13::ContentType type, std::span<const uint8_t> content,
                   bool corrupt = false) {
    std::vector<uint8_t> buf(tls13::kRecordHeaderLen + content.size() + tls13::kSealOverhead);
    std::memcpy(buf.data() + tls13::kRecordHeaderLen, content.data(), content.size());
    auto n = c.write_protection().seal_span(buf, content.size(), type);
    REQUIRE(n);
    if (corrupt) buf[*n - 1] ^= 1;
    REQUIRE(send_all(fd, buf.data(), *n));
  }
  // read_until_failed feeds the server's bytes until the client fails or
  // the stream ends; returns the client's error.
  tls13::Outcome read_until_failed() {
    for (;;) {
      const std::string in = recv_some(fd);
      if (in.empty()) return c.error();
      (void)c.receive({reinterpret_cast<const uint8_t*>(in.data()), in.size()});
      if (c.failed()) return c.error();
    }
  }
};

void wait_for(const std::function<bool()>& pred) {
  for (int i = 0; i < 500 && !pred(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

TEST_CASE("engine client -> BoringSSL server: 1 B to 64 MiB hash-checked, with half-close",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), echo->port());
  REQUIRE(rig.engine->start());
  const size_t sizes[] = {1, 1000, 16384, 16385, 100000, 1u << 20, 64u << 20};
  uint64_t seed = 1;
  for (size_t n : sizes) {
    INFO("bytes " << n);
    int fd = tcp_connect(fwd->port());
    CHECK(echo_transfer(fd, n, seed++));
    CHECK(wait_eof(fd));  // BoringSSL's close_notify + FIN came back as EOF
    ::close(fd);
  }
  auto r = fwd->results();
  REQUIRE(r.size() == std::size(sizes));
  for (const auto& x : r) {
    CHECK(x.error == Errc::ok);
    CHECK(x.info.version == "TLSv1.3");
    CHECK(x.info.alpn.empty());  // the echo server offers no ALPN
    if (EVP_has_aes_hardware()) CHECK(x.info.cipher == "TLS_AES_128_GCM_SHA256");
  }
  REQUIRE(rig.engine->stop());
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine client: the peer's half-close, then the reply still arrives",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), echo->port());
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  REQUIRE(send_all(fd, "ping", 4));
  ::shutdown(fd, SHUT_WR);  // our close_notify goes to BoringSSL
  char buf[4];
  REQUIRE(recv_exact(fd, buf, 4));
  CHECK(std::string(buf, 4) == "ping");
  CHECK(wait_eof(fd));
  ::close(fd);
  REQUIRE(rig.engine->stop());
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine client: KeyUpdate forced every 1 MiB of a 16 MiB transfer",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), echo->port(),
      "chrome", 1u << 20);
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  CHECK(echo_transfer(fd, 16u << 20, 5));
  CHECK(wait_eof(fd));
  ::close(fd);
  REQUIRE(rig.engine->stop());
  CHECK(fwd->key_updates.sent >= 10);
  // BoringSSL answered the requests with KeyUpdates of its own, mid-stream.
  CHECK(fwd->key_updates.received >= 1);
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine client: a verification failure is cert_verify_failed with its reason",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  Pki other = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(other.ca.certificate, "localhost")), echo->port());
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::cert_verify_failed);
  CHECK_THAT(r[0].reason,
             Catch::Contains("does not lead to a trusted CA") && Catch::Contains("unknown_ca"));
  wait_for([&] { return !echo->seen().empty(); });
  auto s = echo->seen();
  REQUIRE(s.size() == 1);
  CHECK(s[0].error == Errc::tls_alert);  // BoringSSL heard our alert
  REQUIRE(rig.engine->stop());
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine client: a host name mismatch is refused", "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "example.com")), echo->port());
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::cert_verify_failed);
  CHECK_THAT(r[0].reason, Catch::Contains("bad_certificate"));
  REQUIRE(rig.engine->stop());
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine client: a server that never answers hits the dial deadline",
          "[integration][tls13]") {
  // A listener nobody accepts on: TCP connects (the backlog), TLS never starts.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(lfd, 4) == 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  Pki pki = make_pki("localhost");
  EngineRig rig;
  TlsDialOptions o;
  o.dial.connect_timeout_ms = 100;
  o.handshake_timeout_ms = 200;
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), ntohs(a.sin_port),
      "chrome", 0, o);
  REQUIRE(rig.engine->start());
  const auto t0 = std::chrono::steady_clock::now();
  int fd = tcp_connect(fwd->port());
  CHECK(wait_eof(fd));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  ::close(fd);
  auto r = fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::timed_out);
  CHECK(r[0].reason == "TLS connection to 127.0.0.1 timed out");
  CHECK(ms >= 250);
  CHECK(ms < 5000);
  REQUIRE(rig.engine->stop());
  fwd.reset();
  ::close(lfd);
}

TEST_CASE("utls: an unsupported fingerprint fails the dial naming the supported ones",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto echo = std::make_unique<TlsEchoServer>(*rig.engine, server_ctx(server_options(pki.leaf)));
  auto fwd = std::make_unique<Tls13Forwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), echo->port(),
      "firefox");
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::not_supported);
  CHECK(r[0].reason == "utls fingerprint \"firefox\" is not supported (supported: chrome)");
  REQUIRE(rig.engine->stop());
  fwd.reset();
  echo.reset();
}

TEST_CASE("engine server <- BoringSSL client: 1 B to 64 MiB hash-checked", "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto srv = std::make_unique<Tls13EchoServer>(*rig.engine, engine_server_config(pki.leaf));
  auto fwd = std::make_unique<TlsForwarder>(
      *rig.engine, client_ctx(client_options(pki.ca.certificate, "localhost")), srv->port());
  REQUIRE(rig.engine->start());
  const size_t sizes[] = {1, 16385, 1u << 20, 64u << 20};
  uint64_t seed = 40;
  for (size_t n : sizes) {
    INFO("bytes " << n);
    int fd = tcp_connect(fwd->port());
    CHECK(echo_transfer(fd, n, seed++));
    CHECK(wait_eof(fd));  // our close_notify + FIN reached BoringSSL
    ::close(fd);
  }
  auto r = fwd->results();
  REQUIRE(r.size() == std::size(sizes));
  for (const auto& x : r) {
    CHECK(x.error == Errc::ok);
    CHECK(x.info.version == "TLSv1.3");
  }
  REQUIRE(rig.engine->stop());
  for (const auto& s : srv->seen()) CHECK(s.handshake == Errc::ok);
  fwd.reset();
  srv.reset();
}

TEST_CASE("engine server: a client that distrusts it sends an alert; the reason names it",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  Pki other = make_pki("localhost");
  EngineRig rig;
  auto srv = std::make_unique<Tls13EchoServer>(*rig.engine, engine_server_config(pki.leaf));
  auto fwd = std::make_unique<TlsForwarder>(
      *rig.engine, client_ctx(client_options(other.ca.certificate, "localhost")), srv->port());
  REQUIRE(rig.engine->start());
  int fd = tcp_connect(fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  wait_for([&] { return !srv->seen().empty() && srv->seen()[0].handshake != Errc::ok; });
  auto s = srv->seen();
  REQUIRE(s.size() == 1);
  CHECK(s[0].handshake == Errc::tls_alert);
  CHECK_THAT(s[0].handshake_reason, Catch::StartsWith("tls13: the peer sent alert "));
  REQUIRE(rig.engine->stop());
  fwd.reset();
  srv.reset();
}

TEST_CASE("engine server: hostile records after the handshake get their specific alert",
          "[integration][tls13]") {
  Pki pki = make_pki("localhost");
  EngineRig rig;
  auto srv = std::make_unique<Tls13EchoServer>(*rig.engine, engine_server_config(pki.leaf));
  REQUIRE(rig.engine->start());
  auto last = [&] { return srv->seen().back(); };
  auto settled = [&] {
    wait_for([&] { return last().error != Errc::ok; });
    return last();
  };
  const uint8_t hello[] = {'h', 'i'};

  SECTION("a fatal alert from the peer") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t alert[] = {2, static_cast<uint8_t>(tls13::Alert::handshake_failure)};
    c.send_record(tls13::ContentType::alert, alert);
    auto s = settled();
    CHECK(s.error == Errc::tls_alert);
    CHECK(s.reason == "tls13: the peer sent alert handshake_failure");
  }
  SECTION("a record whose tag does not verify") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    c.send_record(tls13::ContentType::application_data, hello, true);
    auto s = settled();
    CHECK(s.error == Errc::decrypt_failed);
    CHECK(s.reason == "tls13: record authentication failed (alert bad_record_mac)");
    // The alert reached the client.
    tls13::Outcome o = c.read_until_failed();
    CHECK(o.alert() == tls13::Alert::bad_record_mac);
  }
  SECTION("a record longer than 2^14 + 256") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t hdr[] = {23, 3, 3, 0x41, 0x01};  // 16641 bytes
    REQUIRE(send_all(c.fd, hdr, sizeof hdr));
    auto s = settled();
    CHECK(s.error == Errc::frame_too_large);
    CHECK_THAT(s.reason, Catch::Contains("record_overflow"));
  }
  SECTION("a plaintext handshake record after the handshake") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t rec[] = {22, 3, 3, 0, 4, 24, 0, 0, 0};
    REQUIRE(send_all(c.fd, rec, sizeof rec));
    auto s = settled();
    CHECK(s.error == Errc::protocol_violation);
    CHECK(s.reason == "tls13: unprotected record after the handshake (alert unexpected_message)");
  }
  SECTION("a NewSessionTicket from a client") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t nst[] = {4, 0, 0, 14, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 1, 7, 0, 0};
    c.send_record(tls13::ContentType::handshake, nst);
    auto s = settled();
    CHECK(s.error == Errc::protocol_violation);
    CHECK_THAT(s.reason, Catch::Contains("unexpected post-handshake message"));
  }
  SECTION("a KeyUpdate with a bad value") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t ku[] = {24, 0, 0, 1, 7};
    c.send_record(tls13::ContentType::handshake, ku);
    auto s = settled();
    CHECK_THAT(s.reason, Catch::Contains("illegal_parameter"));
  }
  SECTION("the stream ends inside a record") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t part[] = {23, 3, 3, 0, 40, 1, 2, 3};
    REQUIRE(send_all(c.fd, part, sizeof part));
    ::shutdown(c.fd, SHUT_WR);
    auto s = settled();
    CHECK(s.error == Errc::malformed);
    CHECK_THAT(s.reason, Catch::Contains("the stream ended inside a TLS record"));
  }
  SECTION("a client KeyUpdate is followed: data under the new key is echoed") {
    RawClient c(srv->port(), pki.ca.certificate);
    REQUIRE(c.handshake());
    const uint8_t ku[] = {24, 0, 0, 1, 1};  // update_requested
    c.send_record(tls13::ContentType::handshake, ku);
    REQUIRE(c.c.write_protection().update());
    c.send_record(tls13::ContentType::application_data, hello);
    // The server answers with its own KeyUpdate, then the echo under it.
    std::vector<uint8_t> got;
    while (got.size() < 2) {
      const std::string in = recv_some(c.fd);
      REQUIRE_FALSE(in.empty());
      REQUIRE(c.c.receive({reinterpret_cast<const uint8_t*>(in.data()), in.size()}));
      auto d = c.c.take_application_data();
      got.insert(got.end(), d.begin(), d.end());
    }
    CHECK(std::string(got.begin(), got.end()) == "hi");
    ::shutdown(c.fd, SHUT_WR);
    wait_for([&] { return last().key_updates_in == 1; });
    CHECK(last().key_updates_in == 1);
  }
  REQUIRE(rig.engine->stop());
  srv.reset();
}

TEST_CASE("RecordProtection::seal_from equals seal_span and opens back", "[tls13][record]") {
  const tls13::CipherSuite* suite = tls13::find_cipher_suite(tls13::kTlsAes128GcmSha256);
  REQUIRE(suite);
  std::vector<uint8_t> secret(suite->hash_len(), 0x42);
  tls13::RecordProtection a, b, rd;
  REQUIRE(a.init(*suite, secret));
  REQUIRE(b.init(*suite, secret));
  REQUIRE(rd.init(*suite, secret));
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, tls13::kMaxPlaintext}) {
    INFO("content " << n);
    std::vector<uint8_t> content(n);
    Pattern(n).fill(content.data(), n);
    std::vector<uint8_t> inner = content;
    inner.push_back(static_cast<uint8_t>(tls13::ContentType::application_data));
    std::vector<uint8_t> from(tls13::kRecordHeaderLen + inner.size() + 16);
    auto r1 = a.seal_from(inner, from);
    REQUIRE(r1);
    CHECK(*r1 == from.size());
    std::vector<uint8_t> span(from.size());
    if (n > 0) std::memcpy(span.data() + tls13::kRecordHeaderLen, content.data(), n);
    auto r2 = b.seal_span(span, n, tls13::ContentType::application_data);
    REQUIRE(r2);
    CHECK(from == span);
    tls13::ContentType type;
    std::span<uint8_t> out;
    REQUIRE(rd.open_span(from, type, out));
    CHECK(type == tls13::ContentType::application_data);
    CHECK(std::vector<uint8_t>(out.begin(), out.end()) == content);
  }
  std::vector<uint8_t> big(tls13::kMaxPlaintext + 2, 1), out(big.size() + 32);
  CHECK(a.seal_from(big, out).error() == Errc::invalid_argument);  // over 2^14 + 1
  std::vector<uint8_t> small(4);
  const uint8_t one[] = {23};
  CHECK(a.seal_from(one, small).error() == Errc::buffer_too_small);
  CHECK(a.seal_from({}, out).error() == Errc::invalid_argument);
}

// TlsTransport end to end on 127.0.0.1: plain TCP -> TlsDial/Relay ->
// TLS server (TlsTransport) that echoes, with real sockets.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>

#include <openssl/aead.h>

#include "../unit/transport/tls_test_util.hpp"
#include "crypto/tls_ech.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

struct TlsRig {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TlsEchoServer> echo;
  std::unique_ptr<TlsForwarder> fwd;
  Pki pki = make_pki("localhost");

  explicit TlsRig(TlsClientOptions co = {}, bool use_pki = true) {
    engine = std::move(*Engine::create());
    if (use_pki) co = client_options(pki.ca.certificate, "localhost");
    echo = std::make_unique<TlsEchoServer>(*engine, server_ctx(server_options(pki.leaf)));
    fwd = std::make_unique<TlsForwarder>(*engine, client_ctx(co), echo->port());
    REQUIRE(engine->start());
  }
  ~TlsRig() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    fwd.reset();
    echo.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    engine.reset();
  }
};

size_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("64 MiB through TLS and back, hash-checked, with half-close", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  CHECK(echo_transfer(fd, 64u << 20, 11));
  CHECK(wait_eof(fd));  // the server's close_notify + FIN came back as EOF
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::ok);
  CHECK(r[0].info.version == "TLSv1.3");
  // With AES instructions both ends put AES-GCM first (ChaCha20 is for CPUs
  // without them).
  if (EVP_has_aes_hardware()) CHECK(r[0].info.cipher == "TLS_AES_128_GCM_SHA256");
}

TEST_CASE("one byte through TLS", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  CHECK(echo_transfer(fd, 1, 3));
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("half-close over TLS: the client ends, the reply still arrives", "[integration][tls]") {
  TlsRig rig;
  int fd = tcp_connect(rig.fwd->port());
  REQUIRE(send_all(fd, "ping", 4));
  ::shutdown(fd, SHUT_WR);
  char buf[4];
  REQUIRE(recv_exact(fd, buf, 4));
  CHECK(std::string(buf, 4) == "ping");
  CHECK(wait_eof(fd));
  ::close(fd);
}

TEST_CASE("resumption: the second connection uses a ticket", "[integration][tls]") {
  TlsRig rig;
  for (int i = 0; i < 3; ++i) {
    int fd = tcp_connect(rig.fwd->port());
    // Data from the server carries the tickets (BoringSSL sends them with
    // its first write), and a BoringSSL client drops tickets that arrive
    // after its own close_notify: answer first, then half-close.
    REQUIRE(send_all(fd, "hello", 5));
    char buf[5];
    REQUIRE(recv_exact(fd, buf, 5));
    ::shutdown(fd, SHUT_WR);
    CHECK(wait_eof(fd));
    ::close(fd);
  }
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 3);
  CHECK_FALSE(r[0].info.resumed);
  CHECK(r[1].info.resumed);
  CHECK(r[2].info.resumed);
  std::printf("tls handshake (loopback, client side): full %llu us, resumed %llu us\n",
              static_cast<unsigned long long>(r[0].info.handshake_us),
              static_cast<unsigned long long>(r[1].info.handshake_us));
  auto s = rig.echo->seen();
  REQUIRE(s.size() == 3);
  CHECK(s[2].resumed);
}

TEST_CASE("a verification failure reaches the dialer with its reason", "[integration][tls]") {
  Pki other = make_pki("localhost");
  TlsRig rig(client_options(other.ca.certificate, "localhost"), false);
  int fd = tcp_connect(rig.fwd->port());
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::cert_verify_failed);
  CHECK_THAT(r[0].reason, Catch::Contains("unable to get local issuer certificate"));
  for (int i = 0; i < 100 && rig.echo->seen().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto s = rig.echo->seen();
  REQUIRE(s.size() == 1);
  CHECK(s[0].error == Errc::tls_alert);
  CHECK_THAT(s[0].reason, Catch::Contains("bad certificate"));
}

TEST_CASE("200 concurrent TLS streams; idle memory per connection", "[integration][tls]") {
  TlsRig rig;
  constexpr int kStreams = 200;
  const size_t rss0 = rss_kib();
  const uint64_t pool0 =
      on_loop(*rig.engine, [&] { return rig.engine->stats().pool.bytes_outstanding; });
  std::vector<int> fds;
  for (int i = 0; i < kStreams; ++i) fds.push_back(tcp_connect(rig.fwd->port()));
  int ok = 0;
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    REQUIRE(send_all(fds[i], msg.data(), msg.size()));
  }
  for (int i = 0; i < kStreams; ++i) {
    const std::string msg = "stream " + std::to_string(i);
    std::string buf(msg.size(), '\0');
    if (recv_exact(fds[i], buf.data(), buf.size()) && buf == msg) ++ok;
  }
  CHECK(ok == kStreams);
  // Idle now: every tunnel is two TLS endpoints (client and server side of
  // this process) plus two plain sockets.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const size_t rss1 = rss_kib();
  const uint64_t pool1 =
      on_loop(*rig.engine, [&] { return rig.engine->stats().pool.bytes_outstanding; });
  std::printf(
      "idle TLS tunnels: %d, RSS +%zu KiB (%.1f KiB per tunnel = 2 TLS endpoints), pool "
      "bytes outstanding %llu\n",
      kStreams, rss1 - rss0, double(rss1 - rss0) / kStreams,
      static_cast<unsigned long long>(pool1 - pool0));
  CHECK(pool1 - pool0 == 0);  // idle connections hold no pool buffers
  for (int fd : fds) ::close(fd);
}

namespace {

// EchRig: a TLS echo server for "secret.test" with ECH keys whose public
// name is "public.test" (it also holds a certificate for that name, which a
// client whose ECH was rejected authenticates), behind a TcpTap, and a
// forwarder whose client offers |client_configs|.
struct EchRig {
  Pki pki = make_pki("secret.test");
  tls::KeyPairPem pub = make_cert("public.test", &pki.ca);
  tls::EchKeyPairPem keys = *tls::generate_ech_keypair("public.test", 3);
  std::unique_ptr<Engine> engine;
  std::unique_ptr<TlsEchoServer> echo;
  std::unique_ptr<TcpTap> tap;
  std::unique_ptr<TlsForwarder> fwd;

  // client_configs: the ECH configs the client offers (nullopt: the
  // server's current ones).
  EchRig(std::optional<std::string> client_configs, bool server_ech) {
    TlsServerOptions so = server_options(pki.leaf);
    TlsCertificateOptions p;
    p.server_name = {"public.test"};
    p.certificate = pub.certificate;
    p.key = pub.private_key;
    so.sni_certificates.push_back(p);
    if (server_ech) {
      so.ech.enabled = true;
      so.ech.key = keys.keys;
    }
    TlsClientOptions co = client_options(pki.ca.certificate, "secret.test");
    co.ech.enabled = true;
    co.ech.config = client_configs ? *client_configs : keys.configs;
    engine = std::move(*Engine::create());
    echo = std::make_unique<TlsEchoServer>(*engine, server_ctx(so));
    tap = std::make_unique<TcpTap>(echo->port());
    fwd = std::make_unique<TlsForwarder>(*engine, client_ctx(co), tap->port());
    REQUIRE(engine->start());
  }
  ~EchRig() {
    REQUIRE(engine->stop());
    fwd.reset();
    tap.reset();
    echo.reset();
    engine.reset();
  }
  EngineStats stats() {
    return on_loop(*engine, [&] { return engine->stats(); });
  }
};

}  // namespace

TEST_CASE("ECH: rotated server keys -> rejected with retry configs -> one retry, accepted",
          "[integration][tls][ech]") {
  // The client still has the configs of the server's previous keys.
  const tls::EchKeyPairPem old_keys = *tls::generate_ech_keypair("public.test", 3);
  EchRig rig(old_keys.configs, true);
  int fd = tcp_connect(rig.fwd->port());
  REQUIRE(send_all(fd, "over ECH", 8));
  char buf[8];
  REQUIRE(recv_exact(fd, buf, 8));
  CHECK(std::string(buf, 8) == "over ECH");
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);

  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);  // one dial, two TCP connections inside it
  CHECK(r[0].error == Errc::ok);
  CHECK(r[0].info.ech_accepted);
  // Exactly two TCP connections reached the server: the rejected attempt
  // and the retry.
  CHECK(rig.tap->connections() == 2);
  for (const std::string& wire : rig.tap->client_bytes()) {
    CHECK(wire.find("secret.test") == std::string::npos);  // never in clear
    CHECK(wire.find("public.test") != std::string::npos);  // the outer SNI
  }
  const EngineStats st = rig.stats();
  CHECK(st.ech_rejected == 1);
  CHECK(st.ech_retried == 1);
  CHECK(st.ech_accepted == 1);
  // The server saw two handshakes: the outer one for the public name with
  // ECH not accepted (its side completes before the client's Finished; the
  // client then aborts it with an alert), and the retry, accepted, with the
  // real name inside.
  std::vector<TlsEchoServer::Seen> seen;
  for (int i = 0; i < 200 && (seen = rig.echo->seen()).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].server_name == "public.test");
  CHECK_FALSE(seen[0].ech_accepted);
  CHECK(seen[1].error == Errc::ok);
  CHECK(seen[1].ech_accepted);
  CHECK(seen[1].server_name == "secret.test");
}

TEST_CASE("ECH: current keys are accepted on the first connection", "[integration][tls][ech]") {
  EchRig rig(std::nullopt, true);
  int fd = tcp_connect(rig.fwd->port());
  REQUIRE(send_all(fd, "hi", 2));
  char buf[2];
  REQUIRE(recv_exact(fd, buf, 2));
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::ok);
  CHECK(r[0].info.ech_accepted);
  CHECK(rig.tap->connections() == 1);
  const EngineStats st = rig.stats();
  CHECK(st.ech_accepted == 1);
  CHECK(st.ech_rejected == 0);
  CHECK(st.ech_retried == 0);
}

TEST_CASE("ECH rejected without retry configs: a clear error, no retry, no SNI in clear",
          "[integration][tls][ech]") {
  // The server has ECH turned off: it completes the outer handshake as
  // public.test and sends no retry configs.
  EchRig rig(std::nullopt, false);
  int fd = tcp_connect(rig.fwd->port());
  CHECK(wait_eof(fd));  // the forwarder gives up and closes the plain side
  ::close(fd);
  auto r = rig.fwd->results();
  REQUIRE(r.size() == 1);
  CHECK(r[0].error == Errc::ech_rejected);
  CHECK_THAT(r[0].reason, Catch::Contains("without retry configs"));
  CHECK_THAT(r[0].reason, Catch::Contains("not retrying with the real server name"));
  const EngineStats st = rig.stats();
  CHECK(st.ech_rejected == 1);
  CHECK(st.ech_retried == 0);
  CHECK(st.ech_accepted == 0);
  CHECK(rig.tap->connections() == 1);
  const auto wire = rig.tap->client_bytes();
  REQUIRE(wire.size() == 1);
  CHECK(wire[0].find("secret.test") == std::string::npos);
  CHECK(wire[0].find("public.test") != std::string::npos);
}

namespace {

std::string chain_text(const Chain& c) {
  std::string s(c.size(), '\0');
  c.copy_out(s.data(), s.size());
  return s;
}

// SwitchServer: a TLS server that reads one record at a time, answers
// "hello" over TLS, and at a "SWITCH" record leaves TLS with detach()
// (the VLESS Vision move): from then on it collects the raw bytes (those
// detach() handed back, then the socket's) and, at end-of-stream, sends
// "raw:" + them back in clear and half-closes.
struct SwitchServer final : EngineObject,
                            net::AcceptHandler,
                            TransportHandler,
                            TlsHandshakeHandler {
  struct RawSide final : TransportHandler {
    SwitchServer* s = nullptr;
    std::string collected;
    void on_data(Slice&& d) override { collected.append(d.view()); }
    void on_eof() override {
      const std::string reply = "raw:" + collected;
      auto sl = s->engine().pool().copy_from(reply.data(), reply.size());
      if (sl) (void)s->raw->write(std::move(*sl));
      (void)s->raw->shutdown();
    }
    void on_error(Errc) override {}
    void on_write_high() override {}
    void on_write_low() override {}
    void on_drained() override {}
  };

  std::shared_ptr<tls::TlsServerContext> ctx;
  std::unique_ptr<net::TcpListener> listener;
  std::unique_ptr<TlsTransport> tls;
  std::unique_ptr<Transport> raw;
  RawSide raw_side;
  uint16_t port = 0;
  std::mutex mu;
  std::vector<std::string> records;  // what TLS delivered, one per on_data
  std::string detached_plaintext, detached_raw;
  Errc detach_result = Errc::invalid_state;

  SwitchServer(Engine& e, std::shared_ptr<tls::TlsServerContext> c)
      : EngineObject(e), ctx(std::move(c)) {
    raw_side.s = this;
    auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, nullptr);
    REQUIRE(l);
    listener = std::move(*l);
    port = listener->port();
  }
  void on_accept(std::unique_ptr<net::TcpTransport> t) override {
    if (tls || raw) return;  // one connection per test
    auto r = TlsTransport::server(engine(), std::move(t), ctx);
    if (!r) return;
    tls = std::move(*r);
    tls->set_handler(this);
    tls->set_one_record_reads(true);
    tls->start_handshake(this);
  }
  void on_handshake(Errc e, const char*) override {
    if (e == Errc::ok) tls->read_start();
  }
  void on_data(Slice&& d) override {
    const std::string text(d.view());
    {
      std::lock_guard<std::mutex> l(mu);
      records.push_back(text);
    }
    if (text == "hello") {
      (void)tls->write(std::move(d));
      return;
    }
    if (text != "SWITCH") return;
    tls->read_stop();
    auto det = tls->detach();
    std::lock_guard<std::mutex> l(mu);
    detach_result = det ? Errc::ok : det.error();
    if (!det) return;
    detached_plaintext = chain_text(det->plaintext);
    detached_raw = chain_text(det->raw);
    raw_side.collected = detached_plaintext + detached_raw;
    raw = std::move(det->inner);
    raw->set_handler(&raw_side);
    raw->read_start();
  }
  void on_eof() override {}
  void on_error(Errc) override {}
  void on_write_high() override {}
  void on_write_low() override {}
  void on_drained() override {}
  void engine_close() noexcept override {
    if (tls) close_and_delete(tls.release());
    if (raw) close_and_delete(raw.release());
    listener->close([](void* u) { static_cast<SwitchServer*>(u)->detach_from_engine(); }, this);
  }
};

// pump_handshake drives a client TlsConnection over a blocking socket.
bool pump_handshake(tls::TlsConnection& c, BufferPool& pool, int fd) {
  for (int i = 0; i < 20; ++i) {
    const tls::HandshakeProgress p = c.handshake();
    Chain out = c.take_output();
    while (!out.empty()) {
      Slice s = out.pop_front();
      if (!send_all(fd, s.data(), s.size())) return false;
    }
    if (p == tls::HandshakeProgress::done) return true;
    if (p == tls::HandshakeProgress::failed) return false;
    const std::string in = recv_some(fd);
    if (in.empty()) return false;
    auto s = pool.copy_from(in.data(), in.size());
    if (!s || !c.feed(std::move(*s))) return false;
  }
  return false;
}

}  // namespace

TEST_CASE("detach at a record boundary: the bytes after it come out raw, in order",
          "[integration][tls]") {
  Pki pki = make_pki("localhost");
  auto engine = std::move(*Engine::create());
  auto server = std::make_unique<SwitchServer>(*engine, server_ctx(server_options(pki.leaf)));
  REQUIRE(engine->start());

  BufferPool pool;
  auto client = tls::TlsConnection::client(
      client_ctx(client_options(pki.ca.certificate, "localhost")), pool, {});
  REQUIRE(client);
  tls::TlsConnection& c = **client;
  int fd = tcp_connect(server->port);
  REQUIRE(pump_handshake(c, pool, fd));
  // One round trip over TLS first (it also carries the session tickets).
  REQUIRE(c.write({reinterpret_cast<const uint8_t*>("hello"), 5}));
  Chain out = c.take_output();
  while (!out.empty()) {
    Slice s = out.pop_front();
    REQUIRE(send_all(fd, s.data(), s.size()));
  }
  std::string echoed;
  while (echoed != "hello") {
    auto r = c.read();
    REQUIRE(r);
    if (!r->empty()) {
      echoed += std::string(r->view());
      continue;
    }
    const std::string in = recv_some(fd);
    REQUIRE_FALSE(in.empty());
    REQUIRE(c.feed(*pool.copy_from(in.data(), in.size())));
  }
  CHECK(c.raw_unconsumed().empty());
  // The "SWITCH" record and, in the same send, bytes that are not TLS.
  REQUIRE(c.write({reinterpret_cast<const uint8_t*>("SWITCH"), 6}));
  std::string wire;
  Chain sw = c.take_output();
  while (!sw.empty()) wire += std::string(sw.pop_front().view());
  const std::string tail = "RAW-TAIL: not a TLS record";
  wire += tail;
  REQUIRE(send_all(fd, wire.data(), wire.size()));
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  for (std::string part; !(part = recv_some(fd)).empty();) reply += part;
  ::close(fd);
  CHECK(reply == "raw:" + tail);

  REQUIRE(engine->stop());
  {
    std::lock_guard<std::mutex> l(server->mu);
    CHECK(server->detach_result == Errc::ok);
    CHECK(server->records == std::vector<std::string>{"hello", "SWITCH"});
    CHECK(server->detached_plaintext.empty());  // one-record reads: nothing opened past SWITCH
    // Whatever of the tail had arrived when SWITCH was read was still raw.
    CHECK(tail.rfind(server->detached_raw, 0) == 0);
  }
  server.reset();
  engine.reset();
}

TEST_CASE("KeyUpdate mid-transfer: the TLS transport answers and keeps echoing",
          "[integration][tls][inplace]") {
  Pki pki = make_pki("localhost");
  auto engine = std::move(*Engine::create());
  auto echo = std::make_unique<TlsEchoServer>(*engine, server_ctx(server_options(pki.leaf)));
  REQUIRE(engine->start());

  BufferPool pool;
  auto client = tls::TlsConnection::client(
      client_ctx(client_options(pki.ca.certificate, "localhost")), pool, {});
  REQUIRE(client);
  tls::TlsConnection& c = **client;
  int fd = tcp_connect(echo->port());
  REQUIRE(pump_handshake(c, pool, fd));
  REQUIRE(c.in_place());
  // 1 MiB in 64 KiB writes; after the eighth the client updates its key and
  // asks the server (a TlsTransport on the in-place path) to update too.
  std::string sent, got;
  for (int i = 0; i < 16; ++i) {
    std::string block(65536, '\0');
    for (size_t j = 0; j < block.size(); ++j) block[j] = static_cast<char>((j * 7 + i) & 0xff);
    if (i == 8) REQUIRE(c.key_update(true));
    REQUIRE(c.write({reinterpret_cast<const uint8_t*>(block.data()), block.size()}));
    sent += block;
    Chain out = c.take_output();
    while (!out.empty()) {
      Slice s = out.pop_front();
      REQUIRE(send_all(fd, s.data(), s.size()));
    }
    // Read the echo as it comes so neither side's buffers fill up.
    while (got.size() + 65536 <= sent.size()) {
      auto r = c.read();
      REQUIRE(r);
      if (!r->empty()) {
        got += std::string(r->view());
        continue;
      }
      const std::string in = recv_some(fd);
      REQUIRE_FALSE(in.empty());
      REQUIRE(c.feed(*pool.copy_from(in.data(), in.size())));
    }
  }
  REQUIRE(c.send_close_notify());
  Chain out = c.take_output();
  while (!out.empty()) {
    Slice s = out.pop_front();
    REQUIRE(send_all(fd, s.data(), s.size()));
  }
  for (;;) {
    auto r = c.read();
    if (!r) {
      CHECK(r.error() == Errc::eof);
      break;
    }
    if (!r->empty()) {
      got += std::string(r->view());
      continue;
    }
    const std::string in = recv_some(fd);
    if (in.empty()) {
      c.feed_eof();
      continue;
    }
    REQUIRE(c.feed(*pool.copy_from(in.data(), in.size())));
  }
  ::close(fd);
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
  CHECK(c.record_stats().key_updates_sent == 1);
  CHECK(c.record_stats().key_updates_received == 1);  // the server's answer
  REQUIRE(engine->stop());
  echo.reset();
  engine.reset();
}

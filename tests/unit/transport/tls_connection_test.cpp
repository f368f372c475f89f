// TlsConnection, sans I/O: a client and a server joined in memory.
#include <openssl/ssl.h>

#include <cstring>

#include "crypto/tls_session_cache.hpp"
#include "crypto/tls_verify.hpp"
#include "tls_test_util.hpp"

using namespace sluice;
using namespace sluice::test;
using tls::HandshakeProgress;

namespace {

std::string read_all(tls::TlsConnection& c) {
  std::string out;
  for (;;) {
    auto r = c.read();
    if (!r || r->empty()) break;
    out.append(r->view());
  }
  return out;
}

void send(tls::TlsConnection& from, tls::TlsConnection& to, std::string_view text) {
  REQUIRE(from.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
  move_output(from, to);
}

struct Fail {
  Errc errc;
  std::string reason;
};

Fail client_failure(Pair& p) {
  auto [pc, ps] = p.handshake();
  CHECK(pc == HandshakeProgress::failed);
  return {p.client->error(), p.client->failure_reason()};
}

}  // namespace

TEST_CASE("handshake against a CA-issued certificate, data both ways", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  auto so = server_options(pki.leaf);
  so.alpn = {"h2", "http/1.1"};
  auto co = client_options(pki.ca.certificate, "localhost");
  co.alpn = {"http/1.1", "h2"};
  Pair p(client_ctx(co), server_ctx(so));
  auto [pc, ps] = p.handshake();
  REQUIRE(pc == HandshakeProgress::done);
  REQUIRE(ps == HandshakeProgress::done);
  CHECK(p.client->alpn() == "h2");  // the server's preference wins
  CHECK(p.server->server_name() == "localhost");
  CHECK(std::string(p.client->version()) == "TLSv1.3");
  // SNI is in the ClientHello in clear (no ECH here).
  CHECK(p.client_hello.find("localhost") != std::string::npos);

  send(*p.client, *p.server, "hello server");
  CHECK(read_all(*p.server) == "hello server");
  send(*p.server, *p.client, "hello client");
  CHECK(read_all(*p.client) == "hello client");
}

TEST_CASE("records are opened one at a time; the rest stays raw", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  // Three records in one feed.
  for (const char* m : {"first", "second record", "third"})
    REQUIRE(p.server->write({reinterpret_cast<const uint8_t*>(m), std::strlen(m)}));
  Chain wire = p.server->take_output();
  const size_t total = wire.size();
  while (!wire.empty()) REQUIRE(p.client->feed(wire.pop_front()));
  // Session tickets precede the data; read() skips them.
  auto r = p.client->read();
  REQUIRE(r);
  CHECK(r->view() == "first");
  CHECK(p.client->pending_plaintext() == 0);
  // Exactly the two later records (5-byte header + 13/5 bytes + 17 of
  // TLS 1.3 overhead each) remain as raw bytes.
  CHECK(p.client->raw_unconsumed().size() == (5 + 13 + 17) + (5 + 5 + 17));
  CHECK(total > p.client->raw_unconsumed().size());
  r = p.client->read();
  REQUIRE(r);
  CHECK(r->view() == "second record");
  Chain rest = p.client->take_raw_unconsumed();
  CHECK(rest.size() == 5 + 5 + 17);
  uint8_t hdr[3];
  rest.copy_out(hdr, 3);
  CHECK(hdr[0] == 23);  // application_data
  CHECK(hdr[1] == 3);
}

TEST_CASE("a big write becomes 16 KiB records in pool chunks", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  std::vector<uint8_t> big(200000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  REQUIRE(p.client->write(big));
  move_output(*p.client, *p.server);
  std::vector<uint8_t> got;
  for (;;) {
    auto r = p.server->read();
    REQUIRE(r);
    if (r->empty()) break;
    CHECK(r->size() <= 16384);
    got.insert(got.end(), r->data(), r->data() + r->size());
  }
  CHECK(got == big);
}

TEST_CASE("read_into opens every complete record into one buffer", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  std::vector<uint8_t> big(50000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 13 + 1);
  REQUIRE(p.client->write(big));  // four records: 3 x 16384 + 848
  Chain wire = p.client->take_output();
  // Hold back the last 10 bytes: the fourth record is incomplete.
  // Nothing fed yet: nothing to read, and no chunk needs to be taken for it.
  CHECK_FALSE(p.server->record_ready());
  auto head = wire.split_to(wire.size() - 10);
  REQUIRE(head);
  while (!head->empty()) REQUIRE(p.server->feed(head->pop_front()));
  CHECK(p.server->record_ready());
  std::vector<uint8_t> out(65536);
  auto n = p.server->read_into(out);
  REQUIRE(n);
  CHECK(*n == 3 * 16384);  // the three complete records, in one call
  CHECK(std::memcmp(out.data(), big.data(), *n) == 0);
  n = p.server->read_into(out);
  REQUIRE(n);
  CHECK(*n == 0);  // the fourth needs more bytes
  while (!wire.empty()) REQUIRE(p.server->feed(wire.pop_front()));
  CHECK(p.server->record_ready());
  // A buffer smaller than the record: the rest stays pending.
  n = p.server->read_into({out.data(), 800});
  REQUIRE(n);
  CHECK(*n == 800);
  CHECK(p.server->pending_plaintext() == 48);
  CHECK(p.server->record_ready());
  n = p.server->read_into(out);
  REQUIRE(n);
  CHECK(*n == 48);
  CHECK(std::memcmp(out.data(), big.data() + 3 * 16384 + 800, 48) == 0);
}

TEST_CASE("read_into returns the data before a close_notify, then eof", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  REQUIRE(p.client->write({reinterpret_cast<const uint8_t*>("last words"), 10}));
  REQUIRE(p.client->send_close_notify());
  move_output(*p.client, *p.server);
  std::vector<uint8_t> out(1024);
  auto n = p.server->read_into(out);
  REQUIRE(n);
  CHECK(std::string(reinterpret_cast<const char*>(out.data()), *n) == "last words");
  n = p.server->read_into(out);
  REQUIRE_FALSE(n);
  CHECK(n.error() == Errc::eof);
  CHECK_FALSE(p.server->truncated());
}

TEST_CASE("read_into: a corrupted record after good ones fails on the next call",
          "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  REQUIRE(p.client->write({reinterpret_cast<const uint8_t*>("good"), 4}));
  Chain good = p.client->take_output();
  REQUIRE(p.client->write({reinterpret_cast<const uint8_t*>("bad!"), 4}));
  Chain bad = p.client->take_output();
  Slice b = bad.pop_front();
  REQUIRE(b.unique());
  b.mutable_data()[b.size() - 1] ^= 0x40;  // flip a tag bit
  while (!good.empty()) REQUIRE(p.server->feed(good.pop_front()));
  REQUIRE(p.server->feed(std::move(b)));
  std::vector<uint8_t> out(1024);
  auto n = p.server->read_into(out);
  REQUIRE(n);
  CHECK(std::string(reinterpret_cast<const char*>(out.data()), *n) == "good");
  n = p.server->read_into(out);
  REQUIRE_FALSE(n);
  CHECK(n.error() == Errc::decrypt_failed);
  CHECK_THAT(p.server->failure_reason(), Catch::Contains("bad decrypt"));
}

TEST_CASE("verification failures carry the reason", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  auto sctx = server_ctx(server_options(pki.leaf));

  SECTION("unknown CA") {
    Pki other = make_pki("localhost");
    Pair p(client_ctx(client_options(other.ca.certificate, "localhost")), sctx);
    Fail f = client_failure(p);
    CHECK(f.errc == Errc::cert_verify_failed);
    CHECK_THAT(f.reason, Catch::Contains("certificate verify failed"));
    CHECK_THAT(f.reason, Catch::Contains("issuer"));
  }
  SECTION("hostname mismatch") {
    Pair p(client_ctx(client_options(pki.ca.certificate, "other.example")), sctx);
    Fail f = client_failure(p);
    CHECK(f.errc == Errc::cert_verify_failed);
    CHECK_THAT(f.reason, Catch::Contains("hostname mismatch"));
  }
  SECTION("expired") {
    tls::KeyPairPem old = make_cert("localhost", &pki.ca, false, -7200, -3600);
    Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
           server_ctx(server_options(old)));
    Fail f = client_failure(p);
    CHECK(f.errc == Errc::cert_verify_failed);
    CHECK_THAT(f.reason, Catch::Contains("certificate has expired"));
    // The server hears why, as an alert.
    CHECK(p.server->error() == Errc::tls_alert);
    CHECK_THAT(p.server->failure_reason(), Catch::Contains("expired"));
  }
  SECTION("self-signed, not trusted through the system store") {
    tls::KeyPairPem self = make_cert("localhost");
    TlsClientOptions co;
    co.server_name = "localhost";  // no certificate: the system bundle
    Pair p(client_ctx(co), server_ctx(server_options(self)));
    Fail f = client_failure(p);
    CHECK(f.errc == Errc::cert_verify_failed);
    CHECK_THAT(f.reason, Catch::Contains("unable to get local issuer certificate"));
  }
  SECTION("insecure accepts anything") {
    TlsClientOptions co;
    co.server_name = "whatever.example";
    co.insecure = true;
    Pair p(client_ctx(co), sctx);
    CHECK(p.handshake().first == HandshakeProgress::done);
  }
}

TEST_CASE("pins: certificate SHA-256 hex and SPKI SHA-256 base64", "[transport][tls]") {
  tls::KeyPairPem self = make_cert("pinned.example");
  auto pins = tls::leaf_pins_pem(self.certificate);
  REQUIRE(pins);
  auto sctx = server_ctx(server_options(self));
  TlsClientOptions co;
  co.server_name = "anything.example";  // a pin replaces name checks
  SECTION("certificate hash matches") {
    co.certificate_sha256 = {pins->first};
    Pair p(client_ctx(co), sctx);
    CHECK(p.handshake().first == HandshakeProgress::done);
  }
  SECTION("SPKI hash matches") {
    co.certificate_public_key_sha256 = {pins->second};
    Pair p(client_ctx(co), sctx);
    CHECK(p.handshake().first == HandshakeProgress::done);
  }
  SECTION("mismatch") {
    co.certificate_sha256 = {std::string(64, 'a')};
    Pair p(client_ctx(co), sctx);
    Fail f = client_failure(p);
    CHECK(f.errc == Errc::pin_mismatch);
    CHECK_THAT(f.reason, Catch::Contains("pin mismatch"));
    CHECK_THAT(f.reason, Catch::Contains(pins->first));
  }
}

TEST_CASE("a peer alert is reported in words", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  auto so = server_options(pki.leaf);
  so.min_version = "1.3";
  auto co = client_options(pki.ca.certificate, "localhost");
  co.max_version = "1.2";
  Pair p(client_ctx(co), server_ctx(so));
  Fail f = client_failure(p);
  CHECK(f.errc == Errc::tls_alert);
  CHECK_THAT(f.reason, Catch::Contains("protocol version"));
}

TEST_CASE("the server picks its certificate by SNI", "[transport][tls]") {
  Pki pki = make_pki("default.test");
  tls::KeyPairPem a = make_cert("a.test", &pki.ca);
  tls::KeyPairPem wild = make_cert("x.wild.test", &pki.ca);
  auto so = server_options(pki.leaf);
  TlsCertificateOptions ca_opts;
  ca_opts.server_name = {"a.test"};
  ca_opts.certificate = a.certificate;
  ca_opts.key = a.private_key;
  so.sni_certificates.push_back(ca_opts);
  TlsCertificateOptions w;
  w.server_name = {"*.wild.test"};
  w.certificate = wild.certificate;
  w.key = wild.private_key;
  so.sni_certificates.push_back(w);
  auto sctx = server_ctx(so);
  for (const char* name : {"a.test", "default.test", "x.wild.test"}) {
    Pair p(client_ctx(client_options(pki.ca.certificate, name)), sctx);
    INFO(name << ": " << p.client->failure_reason());
    CHECK(p.handshake().first == HandshakeProgress::done);
  }
}

TEST_CASE("server key must match its certificate", "[transport][tls]") {
  tls::KeyPairPem a = make_cert("a.test");
  tls::KeyPairPem b = make_cert("b.test");
  TlsServerOptions so;
  so.certificate.certificate = a.certificate;
  so.certificate.key = b.private_key;
  std::string why;
  auto r = tls::TlsServerContext::create(so, &why);
  CHECK(!r);
  CHECK_THAT(why, Catch::Contains("does not match"));
  so.certificate.key.clear();
  so.certificate.key_path = "/nonexistent/key.pem";
  r = tls::TlsServerContext::create(so, &why);
  CHECK(r.error() == Errc::config_io);
  CHECK_THAT(why, Catch::Contains("/nonexistent/key.pem"));
}

TEST_CASE("session tickets: the second connection resumes", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  auto sctx = server_ctx(server_options(pki.leaf));
  auto cctx = client_ctx(client_options(pki.ca.certificate, "localhost"));
  tls::TlsSessionCache cache;
  const std::string key =
      tls::TlsSessionCache::key("127.0.0.1", 443, "localhost", {}, cctx->policy().id());
  auto params = [&] {
    tls::TlsClientParams prm;
    prm.cache = &cache;
    prm.cache_key = key;
    prm.now_ms = 1000;
    return prm;
  };
  {
    Pair p(cctx, sctx, params());
    REQUIRE(p.handshake().first == HandshakeProgress::done);
    CHECK_FALSE(p.client->session_reused());
    // A BoringSSL server sends its TLS 1.3 tickets with its first write
    // after the handshake; the client's read processes them.
    send(*p.server, *p.client, "x");
    CHECK(read_all(*p.client) == "x");
    CHECK(cache.tickets() == 2);  // BoringSSL servers send two
  }
  {
    Pair p(cctx, sctx, params());
    REQUIRE(p.handshake().first == HandshakeProgress::done);
    CHECK(p.client->session_reused());
  }
  // Another trust policy never sees those tickets.
  TlsClientOptions co = client_options(pki.ca.certificate, "localhost");
  co.insecure = true;
  auto other = client_ctx(co);
  CHECK(other->policy().id() != cctx->policy().id());
}

TEST_CASE("ticket cache bounds: per key, keys, age", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  auto sctx = server_ctx(server_options(pki.leaf));
  auto cctx = client_ctx(client_options(pki.ca.certificate, "localhost"));
  tls::TlsSessionCacheLimits lim;
  lim.max_keys = 2;
  lim.max_age_ms = 5000;
  tls::TlsSessionCache cache(lim);
  for (int i = 0; i < 3; ++i) {
    tls::TlsClientParams prm;
    prm.cache = &cache;
    prm.cache_key = "k" + std::to_string(i);
    prm.now_ms = 1000;
    Pair p(cctx, sctx, std::move(prm));
    REQUIRE(p.handshake().first == HandshakeProgress::done);
    send(*p.server, *p.client, "x");
    CHECK(read_all(*p.client) == "x");
  }
  CHECK(cache.keys() == 2);  // k0 evicted
  CHECK(cache.take("k0", 1000) == nullptr);
  CHECK(cache.take("k1", 1000 + 6000) == nullptr);  // too old
  SSL_SESSION* s = cache.take("k2", 2000);
  CHECK(s != nullptr);
  SSL_SESSION_free(s);
}

TEST_CASE("half-close: close_notify one way, data the other", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  send(*p.client, *p.server, "request");
  REQUIRE(p.client->send_close_notify());
  move_output(*p.client, *p.server);
  CHECK(read_all(*p.server) == "request");
  auto r = p.server->read();
  CHECK(r.error() == Errc::eof);
  CHECK_FALSE(p.server->truncated());
  // The server still answers after the client's close_notify.
  send(*p.server, *p.client, "response");
  CHECK(read_all(*p.client) == "response");
}

TEST_CASE("a raw end-of-stream without close_notify is a truncated EOF", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  Pair p(client_ctx(client_options(pki.ca.certificate, "localhost")),
         server_ctx(server_options(pki.leaf)));
  REQUIRE(p.handshake().first == HandshakeProgress::done);
  send(*p.client, *p.server, "x");
  p.server->feed_eof();
  CHECK(read_all(*p.server) == "x");
  auto r = p.server->read();
  CHECK(r.error() == Errc::eof);
  CHECK(p.server->truncated());
}

TEST_CASE("garbage instead of a handshake fails the server cleanly", "[transport][tls]") {
  Pki pki = make_pki("localhost");
  BufferPool pool;
  auto s = tls::TlsConnection::server(server_ctx(server_options(pki.leaf)), pool);
  REQUIRE(s);
  const char* http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE((*s)->feed(*pool.copy_from(http, std::strlen(http))));
  CHECK((*s)->handshake() == HandshakeProgress::failed);
  CHECK((*s)->error() == Errc::tls_handshake_failed);
  CHECK_FALSE((*s)->failure_reason().empty());
}

// tls_test_util.hpp: certificates and in-memory client/server pairs for the
// TLS unit tests.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "crypto/tls_connection.hpp"
#include "crypto/tls_context.hpp"
#include "crypto/tls_keypair.hpp"

namespace sluice::test {

// Pki is a CA and a leaf it issued for |name|.
struct Pki {
  tls::KeyPairPem ca;
  tls::KeyPairPem leaf;
};

inline tls::KeyPairPem make_cert(const std::string& name, const tls::KeyPairPem* issuer = nullptr,
                                 bool ca = false, int64_t not_before = -3600,
                                 int64_t not_after = 86400) {
  tls::CertificateRequest req;
  req.name = name;
  req.is_ca = ca;
  req.not_before_s = not_before;
  req.not_after_s = not_after;
  if (issuer) {
    req.issuer_cert_pem = issuer->certificate;
    req.issuer_key_pem = issuer->private_key;
  }
  auto r = tls::generate_certificate(req);
  REQUIRE(r);
  return *r;
}

inline Pki make_pki(const std::string& name) {
  Pki p;
  p.ca = make_cert("sluice test CA", nullptr, true);
  p.leaf = make_cert(name, &p.ca);
  return p;
}

inline TlsServerOptions server_options(const tls::KeyPairPem& kp) {
  TlsServerOptions o;
  o.enabled = true;
  o.certificate.certificate = kp.certificate;
  o.certificate.key = kp.private_key;
  return o;
}

inline TlsClientOptions client_options(const std::string& ca_pem, const std::string& name) {
  TlsClientOptions o;
  o.enabled = true;
  o.server_name = name;
  o.certificate = ca_pem;
  return o;
}

inline std::shared_ptr<tls::TlsServerContext> server_ctx(const TlsServerOptions& o) {
  std::string why;
  auto r = tls::TlsServerContext::create(o, &why);
  INFO(why);
  REQUIRE(r);
  return *r;
}

inline std::shared_ptr<tls::TlsClientContext> client_ctx(const TlsClientOptions& o,
                                                         const std::string& server = "127.0.0.1") {
  std::string why;
  auto r = tls::TlsClientContext::create(o, server, {}, &why);
  INFO(why);
  REQUIRE(r);
  return *r;
}

// move_output feeds everything |from| queued into |to|; returns the bytes.
inline size_t move_output(tls::TlsConnection& from, tls::TlsConnection& to,
                          std::string* capture = nullptr) {
  Chain c = from.take_output();
  const size_t n = c.size();
  while (!c.empty()) {
    Slice s = c.pop_front();
    if (capture) capture->append(s.view());
    REQUIRE(to.feed(std::move(s)));
  }
  return n;
}

// Pair is a client and a server connection joined in memory.
struct Pair {
  BufferPool pool;
  std::unique_ptr<tls::TlsConnection> client;
  std::unique_ptr<tls::TlsConnection> server;
  std::string client_hello;  // the client's first flight, as sent

  Pair(std::shared_ptr<const tls::TlsClientContext> cc, std::shared_ptr<tls::TlsServerContext> sc,
       tls::TlsClientParams params = {}) {
    auto c = tls::TlsConnection::client(std::move(cc), pool, std::move(params));
    REQUIRE(c);
    client = std::move(*c);
    auto s = tls::TlsConnection::server(std::move(sc), pool);
    REQUIRE(s);
    server = std::move(*s);
  }

  // handshake runs both sides until neither moves; returns the client's and
  // the server's final progress.
  std::pair<tls::HandshakeProgress, tls::HandshakeProgress> handshake() {
    tls::HandshakeProgress pc = client->handshake();
    move_output(*client, *server, &client_hello);
    tls::HandshakeProgress ps = tls::HandshakeProgress::in_progress;
    for (int i = 0; i < 20; ++i) {
      ps = server->handshake();
      const size_t a = move_output(*server, *client);
      pc = client->handshake();
      const size_t b = move_output(*client, *server);
      if (a == 0 && b == 0) break;
    }
    ps = server->handshake();
    return {pc, ps};
  }
};

}  // namespace sluice::test

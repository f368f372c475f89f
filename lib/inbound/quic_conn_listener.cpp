// inbound/quic_conn_listener.cpp: a QUIC server Endpoint with one handler
// object per connection.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/quic_conn_listener.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "crypto/tls_pem.hpp"

namespace sluice {

Result<quic::QuicTlsOptions> quic_server_tls(const TlsServerOptions& t, std::string* why) {
  quic::QuicTlsOptions q;
  auto cert = tls::pem_or_path(t.certificate.certificate, t.certificate.certificate_path, why);
  if (!cert) return cert.error();
  auto key = tls::pem_or_path(t.certificate.key, t.certificate.key_path, why);
  if (!key) return key.error();
  if (cert->empty() || key->empty()) {
    if (why) *why = "tls: a certificate and its key are required";
    return Errc::config_invalid;
  }
  q.cert_pem = std::move(*cert);
  q.key_pem = std::move(*key);
  q.alpn = t.alpn;
  if (t.ech.enabled) {
    auto k = tls::pem_or_path(t.ech.key, t.ech.key_path, why);
    if (!k) return k.error();
    q.ech_keys_pem = std::move(*k);
  }
  return q;
}

QuicConnListener::~QuicConnListener() {
  for (auto& [c, s] : conns_) {
    (void)c;
    delete s;
  }
}

Status QuicConnListener::open(Engine& e, const quic::EndpointOptions& o,
                              std::shared_ptr<quic::QuicTlsContext> tls) {
  auto ep = quic::Endpoint::create(e, o, std::move(tls), this);
  if (!ep) return ep.error();
  ep_ = std::move(*ep);
  return {};
}

void QuicConnListener::close(CloseCallback cb, void* user) noexcept {
  closing_ = true;
  ep_->close(cb, user);
}

void QuicConnListener::forget(quic::Connection* c) noexcept {
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  QuicServerConn* s = it->second;
  conns_.erase(it);
  delete s;
}

const char* QuicConnListener::admit(const sockaddr* from) noexcept {
  if (admitter_ == nullptr) return nullptr;
  return admitter_->admit_connection(from, &pending_);
}

void QuicConnListener::on_connection(quic::Connection& c) {
  ConnectionAdmission admission = std::move(pending_);
  if (closing_) {
    c.close(close_ok_);
    return;
  }
  QuicServerConn* s = factory_.make_conn(c, *this);
  if (s == nullptr) {
    c.close(close_error_);
    return;
  }
  s->admission_ = std::move(admission);
  const ngtcp2_path* path = ngtcp2_conn_get_path(c.native());
  std::memcpy(&s->info_.peer, path->remote.addr,
              std::min<size_t>(path->remote.addrlen, sizeof s->info_.peer));
  s->info_.in_admitted_connection = true;
  try {
    conns_.emplace(&c, s);
  } catch (...) {
    delete s;
    c.close(close_error_);
    return;
  }
  accepted_++;
  c.set_handler(s);
  s->start();
}

}  // namespace sluice

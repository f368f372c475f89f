// inbound/quic_conn_listener.cpp: a QUIC server Endpoint with one handler
// object per connection.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/quic_conn_listener.hpp"

#include <new>

namespace sluice {

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

void QuicConnListener::on_connection(quic::Connection& c) {
  if (closing_) {
    c.close(close_ok_);
    return;
  }
  QuicServerConn* s = factory_.make_conn(c, *this);
  if (s == nullptr) {
    c.close(close_error_);
    return;
  }
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

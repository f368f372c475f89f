// inbound/source.cpp: the TCP listener source.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/source.hpp"

#include <uv.h>

#include <new>

namespace sluice {

Result<std::unique_ptr<TcpSource>> TcpSource::create(Engine& e, std::string_view host,
                                                     uint16_t port, const net::ListenOptions& o,
                                                     Sink* sink, std::string* reason) {
  std::unique_ptr<TcpSource> s(new (std::nothrow) TcpSource(sink));
  if (!s) return Errc::no_memory;
  auto l = net::TcpListener::create(e, host, port, o, s.get(), reason);
  if (!l) return l.error();
  s->listener_ = std::move(*l);
  return s;
}

uint16_t TcpSource::port() const noexcept { return listener_ ? listener_->port() : 0; }

void TcpSource::on_accept(std::unique_ptr<net::TcpTransport> t) {
  if (sink_ == nullptr) {  // closing
    close_and_delete(t.release());
    return;
  }
  AcceptInfo info;
  int len = sizeof info.peer;
  if (uv_tcp_getpeername(t->handle(), reinterpret_cast<sockaddr*>(&info.peer), &len) != 0)
    info.peer.ss_family = 0;
  sink_->on_accepted(std::move(t), info);
}

void TcpSource::on_accept_error(Errc e) {
  if (sink_ != nullptr) sink_->on_accept_error(e);
}

void TcpSource::close(CloseCallback cb, void* user) noexcept {
  sink_ = nullptr;
  listener_->close(cb, user);
}

}  // namespace sluice

// vless_connect.cpp: dial and request header of one VLESS connection.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_connect.hpp"

#include <string>

namespace sluice {

void VlessConnect::start(Engine& e, std::shared_ptr<const VlessTarget> t,
                         const vless::Request& request) {
  engine_ = &e;
  target_ = std::move(t);
  request_ = request;
  answered_ = false;
  const VlessSessionOptions& o = target_->opts;
  // Either dial may answer inside start, and the owner may delete this
  // object in that answer: keep the dial only if neither happened.
  std::shared_ptr<bool> alive = alive_;
  if (target_->ctx) {
    TlsDial* d = TlsDial::start(e, o.server, o.server_port, target_->ctx, o.dial, this);
    if (*alive && !answered_) tls_dial_ = d;
  } else {
    net::Dial* d = net::Dial::start(e, o.server, o.server_port, o.dial.dial, this);
    if (*alive && !answered_) tcp_dial_ = d;
  }
}

void VlessConnect::cancel() noexcept {
  if (tls_dial_) tls_dial_->cancel();
  if (tcp_dial_) tcp_dial_->cancel();
  tls_dial_ = nullptr;
  tcp_dial_ = nullptr;
}

void VlessConnect::on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) {
  answered_ = true;
  tls_dial_ = nullptr;
  if (!t) {
    failed(t.error(), reason);
    return;
  }
  if (request_.addons.flow() == vless::Flow::vision) {
    connected_vision(std::move(*t));
    return;
  }
  connected(std::unique_ptr<Transport>(t->release()));
}

void VlessConnect::on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) {
  answered_ = true;
  tcp_dial_ = nullptr;
  if (!t) {
    failed(t.error(), reason);
    return;
  }
  connected(std::unique_ptr<Transport>(t->release()));
}

void VlessConnect::failed(Errc e, const char* reason) {
  const std::string why = "vless server " + target_->opts.server + ": " + reason;
  on_connected(e, why.c_str());
}

Result<Slice> VlessConnect::request_buffer(bool* oom) {
  auto buf = engine_->pool().get(vless::kMaxRequestSize);
  *oom = !buf;
  if (!buf) return buf.error();
  const size_t n = vless::request_size(request_);
  auto w = vless::encode_request(request_, {buf->append(n), n});
  if (!w) return w.error();
  return buf;
}

void VlessConnect::connected(std::unique_ptr<Transport> t) {
  bool oom = false;
  auto buf = request_buffer(&oom);
  if (oom) {
    close_and_delete(t.release());
    on_connected(buf.error(), "out of memory");
    return;
  }
  Status st = buf ? t->write(std::move(*buf)) : Status{buf.error()};
  if (!st) {
    const std::string why = std::string("vless request: ") + t->failure_reason();
    close_and_delete(t.release());
    on_connected(st.error(), why.c_str());
    return;
  }
  on_connected(std::unique_ptr<Transport>(
                   std::make_unique<VlessStream>(std::move(t), VlessStream::Role::client)),
               "");
}

void VlessConnect::connected_vision(std::unique_ptr<TlsTransport> t) {
  // vless.md 7.1: Vision needs the outer layer to be TLS 1.3.
  if (t->info().version != "TLSv1.3") {
    const std::string why = "vless server " + target_->opts.server +
                            ": flow xtls-rprx-vision needs TLS 1.3, got " + t->info().version;
    close_and_delete(t.release());
    on_connected(Errc::not_supported, why.c_str());
    return;
  }
  bool oom = false;
  auto buf = request_buffer(&oom);
  if (!buf) {
    close_and_delete(t.release());
    on_connected(buf.error(), oom ? "out of memory" : "vless request");
    return;
  }
  auto s = VisionStream::create(*engine_, std::move(t), VisionStream::Role::client, request_.user,
                                std::move(*buf), Chain{}, nullptr);
  if (!s) {
    on_connected(s.error(), "vless vision: cannot take over the TLS connection");
    return;
  }
  on_connected(std::unique_ptr<Transport>(s->release()), "");
}

}  // namespace sluice

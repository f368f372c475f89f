// vless_session.cpp: the vless outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_session.hpp"

#include <algorithm>

#include "session/vless_connect.hpp"
#include "session/vless_udp_flow.hpp"
#include "session/vless_xudp_flow.hpp"
#include "sluice/config.hpp"

namespace sluice {

struct VlessSession::Pending final : VlessConnect {
  VlessSession* session = nullptr;
  OpenHandler* handler = nullptr;

  void on_connected(Result<std::unique_ptr<Transport>> s, const char* reason) override {
    OpenHandler* h = handler;
    session->forget(this);  // deletes this
    if (!s) {
      h->on_open(s.error(), reason);
      return;
    }
    h->on_open(std::unique_ptr<Stream>(s->release()), "");
  }
};

VlessSession::VlessSession(Engine& e, std::string tag, std::shared_ptr<const VlessTarget> target)
    : Session(e, std::move(tag)), target_(std::move(target)) {}

Result<std::unique_ptr<VlessSession>> VlessSession::create(Engine& e, std::string tag,
                                                           const VlessSessionOptions& o,
                                                           const TlsClientOptions& tls,
                                                           std::string* why) {
  if (o.flow == vless::Flow::other) {
    if (why) *why = "unknown flow (only \"\" or xtls-rprx-vision)";
    return Errc::invalid_argument;
  }
  if (o.flow == vless::Flow::vision && !tls.enabled) {
    if (why) *why = "flow xtls-rprx-vision needs TLS";
    return Errc::invalid_argument;
  }
  auto target = std::make_shared<VlessTarget>();
  target->opts = o;
  if (tls.enabled) {
    std::string w;
    auto ctx = tls::TlsClientContext::create(tls, o.server, {}, &w);
    if (!ctx) {
      if (why) *why = "tls: " + w;
      return ctx.error();
    }
    target->ctx = std::move(*ctx);
  }
  return std::unique_ptr<VlessSession>(new VlessSession(e, std::move(tag), std::move(target)));
}

VlessSession::~VlessSession() = default;  // Pending cancels its dial when destroyed

void VlessSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (!target_->opts.tcp) {
    h->on_open(Errc::not_supported, "vless outbound: network has no tcp");
    return;
  }
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  vless::Request req;
  req.user = target_->opts.user;
  req.addons = vless::Addons::with_flow(target_->opts.flow);
  req.command = vless::Command::tcp;
  req.target = *t;
  auto p = std::make_unique<Pending>();
  p->session = this;
  p->handler = h;
  Pending* raw = p.get();
  pending_.push_back(std::move(p));
  raw->start(engine(), target_, req);
}

void VlessSession::forget(Pending* p) noexcept {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [p](const std::unique_ptr<Pending>& q) { return q.get() == p; });
  if (it != pending_.end()) pending_.erase(it);
}

void VlessSession::cancel_open(OpenHandler* h) noexcept {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [h](const std::unique_ptr<Pending>& q) { return q->handler == h; });
  if (it != pending_.end()) pending_.erase(it);
}

Result<std::unique_ptr<DatagramFlow>> VlessSession::open_datagram(DatagramHandler* h) noexcept {
  if (!target_->opts.udp) return Errc::not_supported;
  if (target_->opts.xudp)
    return std::unique_ptr<DatagramFlow>(new VlessXudpFlow(engine(), target_, h));
  return std::unique_ptr<DatagramFlow>(new VlessUdpFlow(engine(), target_, h));
}

void VlessSession::engine_close() noexcept {
  std::vector<std::unique_ptr<Pending>> pending = std::move(pending_);
  pending_.clear();
  for (auto& p : pending) {
    p->cancel();
    if (p->handler) p->handler->on_open(Errc::canceled, "engine stopping");
  }
  detach_from_engine();
}

}  // namespace sluice

// vless_session.cpp: the vless outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_session.hpp"

#include <algorithm>

#include "net/engine_internal.hpp"
#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "session/reality_dial.hpp"
#include "session/stream_datagram_flow.hpp"
#include "session/vless_connect.hpp"
#include "sluice/config.hpp"

namespace sluice {
namespace {

// VlessOpen is one VLESS connection made for a datagram flow.
class VlessOpen final : public DatagramCarrier::Open, ConnectHandler {
 public:
  VlessOpen(Engine& e, const VlessTarget& t, const vless::Request& req, CarrierHandler* h) noexcept
      : protocol_(e, req, t.opts.server), handler_(h) {}
  void start(Engine& e, const VlessTarget& t) noexcept {
    connect_.start(e, vless_dial_target(t), &protocol_, this,
                   "vless server " + t.opts.server + ": ");
  }

 private:
  void on_connected(Result<std::unique_ptr<Transport>> s, const char* reason) override {
    handler_->on_carrier(std::move(s), reason);  // may delete this
  }
  VlessProtocol protocol_;
  CarrierHandler* handler_;
  ClientConnect connect_;
};

// VlessCarrier: UDP as XUDP (command 0x03, Mux.Cool session 0, one
// connection for every destination; Vision carries it too) or with command
// 0x02 (one connection per destination, sent without flow as sing-box does).
class VlessCarrier final : public DatagramCarrier {
 public:
  VlessCarrier(Engine& e, std::shared_ptr<const VlessTarget> t) noexcept
      : engine_(e), target_(std::move(t)) {}

  std::unique_ptr<Open> open(const TargetAddress* first, CarrierHandler* h) noexcept override {
    if (first == nullptr) {  // not an eager carrier: the request needs the target
      h->on_carrier(Errc::invalid_argument, "vless: a datagram stream needs its first target");
      return nullptr;
    }
    vless::Request req;
    req.user = target_->opts.user;
    if (target_->opts.xudp) {
      req.addons = vless::Addons::with_flow(target_->opts.flow);
      req.command = vless::Command::mux;
    } else {
      req.command = vless::Command::udp;
    }
    req.target = *first;  // Mux requests carry no address: not sent for XUDP
    auto o = std::unique_ptr<VlessOpen>(new (std::nothrow) VlessOpen(engine_, *target_, req, h));
    if (!o) {
      h->on_carrier(Errc::no_memory, "out of memory");
      return nullptr;
    }
    o->start(engine_, *target_);  // may answer at once
    return o;
  }
  std::unique_ptr<DatagramFraming> framing(const TargetAddress& first) noexcept override {
    if (target_->opts.xudp)
      return std::unique_ptr<DatagramFraming>(
          new (std::nothrow) vless::XudpFraming(vless::XudpFraming::client(first)));
    return std::unique_ptr<DatagramFraming>(new (std::nothrow) vless::UdpFraming(first));
  }

 private:
  Engine& engine_;
  std::shared_ptr<const VlessTarget> target_;
};

}  // namespace

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
    if (Status st = utls_check(tls, &w); !st) {
      if (why) *why = "tls: " + w;
      return st.error();
    }
    target->opts.dial.utls = utls_fingerprint(tls);  // the engine client instead of libssl
    if (tls.reality.enabled) {
      auto r = reality_client_options(tls.reality, &w);
      if (!r) {
        if (why) *why = "tls: " + w;
        return r.error();
      }
      target->opts.dial.reality = std::move(*r);
    }
    auto ctx = tls::TlsClientContext::create(tls, o.server, {}, &w);
    if (!ctx) {
      if (why) *why = "tls: " + w;
      return ctx.error();
    }
    target->ctx = std::move(*ctx);
  }
  return std::unique_ptr<VlessSession>(new VlessSession(e, std::move(tag), std::move(target)));
}

VlessSession::~VlessSession() = default;  // pending_ cancels its opens

void VlessSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
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
  auto p = std::unique_ptr<ConnectProtocol>(new (std::nothrow)
                                                VlessProtocol(engine(), req, target_->opts.server));
  if (!p) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  pending_.open(engine(), vless_dial_target(*target_), std::move(p), h,
                "vless server " + target_->opts.server + ": ");
}

void VlessSession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

Result<std::unique_ptr<DatagramFlow>> VlessSession::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  if (!target_->opts.udp) return Errc::not_supported;
  auto c = std::unique_ptr<DatagramCarrier>(new (std::nothrow) VlessCarrier(engine(), target_));
  if (!c) return Errc::no_memory;
  StreamDatagramFlowOptions o;
  // 0x02 names one target per connection; XUDP carries every destination.
  o.stream_per_target = !target_->opts.xudp;
  o.max_streams = kVlessUdpMaxStreams;
  o.send_empty = false;  // Xray neither sends nor delivers empty datagrams
  o.max_payload = vless::kMaxUdpPayload;
  o.connect_queue = kVlessUdpConnectQueue;
  o.write_queue = kVlessUdpWriteQueue;
  o.name = target_->opts.xudp ? "vless xudp" : "vless udp";
  auto f = StreamDatagramFlow::create(engine(), std::move(c), o, h);
  if (!f) return f.error();
  return std::unique_ptr<DatagramFlow>(f->release());
}

void VlessSession::close(CloseCallback cb, void* user) noexcept {
  if (close_begun()) return;
  pending_.fail_all(Errc::canceled,
                    net::closing_all(engine()) ? "engine stopping" : "outbound closing");
  Session::close(cb, user);  // detaches; |cb| on the next loop turn
}

}  // namespace sluice

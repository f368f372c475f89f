// vless_udp_flow.cpp: UDP through a vless outbound with command 0x02.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_udp_flow.hpp"

#include <algorithm>

#include "session/vless_connect.hpp"
#include "proto/vless/udp_framing.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct VlessUdpFlow::Leg final : VlessConnect, TransportHandler {
  VlessUdpFlow* flow = nullptr;
  Endpoint dest;
  std::unique_ptr<Transport> stream;  // once connected
  Chain queued;                       // framed datagrams sent while connecting
  Chain in;                           // received, not yet a whole datagram
  bool done = false;                  // failed or ended: being closed

  void on_connected(Result<std::unique_ptr<Transport>> s, const char* reason) override {
    if (!s) {
      SLUICE_LOG_DEBUG("vless udp to %s:%u: %s", dest.host.c_str(), dest.port, reason);
      flow->stats_.dropped += queued.count();
      queued.clear();
      flow->leg_done(this);  // deletes this
      return;
    }
    stream = std::move(*s);
    stream->set_handler(this);
    stream->read_start();
    if (!queued.empty() && !stream->write(std::move(queued))) {
      flow->leg_done(this);
      return;
    }
  }

  void on_data(Slice&& data) override {
    if (!in.push_back(std::move(data))) {
      flow->leg_done(this);
      return;
    }
    vless::deframe_udp(in, flow->engine_.pool(), &flow->stats_.dropped, [this](Slice&& d) {
      flow->stats_.received++;
      flow->handler_->on_datagram(dest, std::move(d));
      return !done && !flow->closing_;
    });
  }
  void on_eof() override { flow->leg_done(this); }
  void on_error(Errc e) override {
    SLUICE_LOG_DEBUG("vless udp to %s:%u: %s", dest.host.c_str(), dest.port, errc_message(e));
    flow->leg_done(this);
  }
};

VlessUdpFlow::VlessUdpFlow(Engine& e, std::shared_ptr<const VlessTarget> target,
                           DatagramHandler* h) noexcept
    : engine_(e), target_(std::move(target)), handler_(h) {}

VlessUdpFlow::~VlessUdpFlow() = default;

Status VlessUdpFlow::frame(Slice&& payload, Chain* out) noexcept {
  return vless::frame_udp(engine_.pool(), std::move(payload), out);
}

Status VlessUdpFlow::send(const Endpoint& to, Slice&& payload) noexcept {
  if (closing_) return Errc::closed;
  if (payload.empty() || payload.size() > vless::kMaxUdpPayload) {
    stats_.dropped++;
    return {};
  }
  auto it = std::find_if(legs_.begin(), legs_.end(), [&](const std::unique_ptr<Leg>& l) {
    return !l->done && l->dest.port == to.port && l->dest.host == to.host;
  });
  Leg* leg = it == legs_.end() ? nullptr : it->get();
  if (leg == nullptr) {
    auto t = TargetAddress::from_host(to.host, to.port);
    if (!t || legs_.size() >= kMaxLegs) {
      stats_.dropped++;
      return {};
    }
    auto l = std::make_unique<Leg>();
    l->flow = this;
    l->dest = to;
    leg = l.get();
    legs_.push_back(std::move(l));
    Chain c;
    if (!frame(std::move(payload), &c)) {
      stats_.dropped++;
      return {};
    }
    (void)leg->queued.append(std::move(c));
    stats_.sent++;
    vless::Request req;
    req.user = target_->opts.user;
    req.command = vless::Command::udp;
    req.target = *t;
    leg->start(engine_, target_, req);  // may fail at once and forget the leg
    return {};
  }
  Chain c;
  if (!frame(std::move(payload), &c)) {
    stats_.dropped++;
    return {};
  }
  if (!leg->stream) {
    if (leg->queued.size() + c.size() > kMaxQueued || !leg->queued.append(std::move(c))) {
      stats_.dropped++;
      return {};
    }
    stats_.sent++;
    return {};
  }
  if (leg->stream->write_buffered() > kMaxBuffered) {
    stats_.dropped++;
    return {};
  }
  if (!leg->stream->write(std::move(c))) {
    stats_.dropped++;
    leg_done(leg);
    return {};
  }
  stats_.sent++;
  return {};
}

void VlessUdpFlow::leg_done(Leg* l) noexcept {
  if (l->done) return;
  l->done = true;
  l->cancel();
  l->queued.clear();
  l->in.clear();
  if (!l->stream) {
    auto it = std::find_if(legs_.begin(), legs_.end(),
                           [l](const std::unique_ptr<Leg>& q) { return q.get() == l; });
    if (it != legs_.end()) legs_.erase(it);
    if (closing_) leg_closed(nullptr);
    return;
  }
  l->stream->close(
      [](void* u) {
        auto* leg = static_cast<Leg*>(u);
        leg->flow->leg_closed(leg);
      },
      l);
}

void VlessUdpFlow::leg_closed(Leg* l) noexcept {
  if (l != nullptr) {
    auto it = std::find_if(legs_.begin(), legs_.end(),
                           [l](const std::unique_ptr<Leg>& q) { return q.get() == l; });
    if (it != legs_.end()) legs_.erase(it);  // deletes the leg and its stream
  }
  if (!closing_) return;
  if (closing_legs_ > 0) --closing_legs_;
  if (closing_legs_ > 0) return;
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (cb) cb(close_user_);  // may delete this
}

void VlessUdpFlow::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  // Count every leg first: each one's close may finish inside this loop.
  closing_legs_ = legs_.size() + 1;
  std::vector<Leg*> legs;
  for (auto& l : legs_) legs.push_back(l.get());
  for (Leg* l : legs) {
    if (l->done) continue;  // already closing: its callback counts it
    leg_done(l);
  }
  leg_closed(nullptr);  // the +1 above
}

}  // namespace sluice

// vless_xudp_flow.cpp: UDP through a vless outbound as XUDP.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/vless_xudp_flow.hpp"

#include <algorithm>

#include "proto/vless/udp.hpp"
#include "proto/vless/xudp.hpp"
#include "session/vless_connect.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct VlessXudpFlow::Conn final : VlessConnect, TransportHandler {
  VlessXudpFlow* flow = nullptr;
  vless::XudpClient xudp;
  std::unique_ptr<Transport> stream;  // once connected
  Chain queued;                       // frames sent while connecting
  Chain in;                           // received, not yet a whole frame
  bool done = false;                  // failed or ended: being closed

  explicit Conn(const TargetAddress& first) : xudp(first) {}

  void on_connected(Result<std::unique_ptr<Transport>> s, const char* reason) override {
    if (!s) {
      SLUICE_LOG_DEBUG("vless xudp: %s", reason);
      flow->stats_.dropped += queued.count();
      queued.clear();
      flow->conn_done(this);  // deletes this
      return;
    }
    stream = std::move(*s);
    stream->set_handler(this);
    stream->read_start();
    if (!queued.empty() && !stream->write(std::move(queued))) flow->conn_done(this);
  }

  void on_data(Slice&& data) override {
    if (!in.push_back(std::move(data))) {
      flow->conn_done(this);
      return;
    }
    bool end = false;
    Status st =
        vless::deframe_mux(in, flow->engine_.pool(), [&](const vless::MuxFrame& f, Slice&& d) {
          auto ev = xudp.on_frame(f);
          if (!ev || ev->kind == vless::XudpEvent::end) {
            end = true;
            return false;
          }
          if (ev->kind == vless::XudpEvent::datagram && !d.empty()) {
            flow->stats_.received++;
            flow->handler_->on_datagram(Endpoint{ev->addr.host(), ev->addr.port()}, std::move(d));
          }
          return !done && !flow->closing_;
        });
    if (!st || end) {
      if (!st && st.error() != Errc::eof)
        SLUICE_LOG_DEBUG("vless xudp: bad frame from the server: %s", errc_message(st.error()));
      flow->conn_done(this);
    }
  }
  void on_eof() override { flow->conn_done(this); }
  void on_error(Errc e) override {
    SLUICE_LOG_DEBUG("vless xudp: %s", errc_message(e));
    flow->conn_done(this);
  }
};

VlessXudpFlow::VlessXudpFlow(Engine& e, std::shared_ptr<const VlessTarget> target,
                             DatagramHandler* h) noexcept
    : engine_(e), target_(std::move(target)), handler_(h) {}

VlessXudpFlow::~VlessXudpFlow() = default;

Status VlessXudpFlow::send(const Endpoint& to, Slice&& payload) noexcept {
  if (closing_) return Errc::closed;
  auto dest = TargetAddress::from_host(to.host, to.port);
  if (!dest || payload.empty() || payload.size() > vless::kMaxUdpPayload) {
    stats_.dropped++;
    return {};
  }
  Conn* c = conns_.empty() || conns_.back()->done ? nullptr : conns_.back().get();
  const bool fresh = c == nullptr;
  if (fresh) {
    auto n = std::make_unique<Conn>(*dest);
    n->flow = this;
    c = n.get();
    conns_.push_back(std::move(n));
  }
  if (c->stream && c->stream->write_buffered() > kMaxBuffered) {
    stats_.dropped++;
    return {};
  }
  if (!c->stream && c->queued.size() + payload.size() > kMaxQueued) {
    stats_.dropped++;
    return {};
  }
  Chain frame;
  const size_t len = payload.size();
  Status st = vless::prepend_header(
      engine_.pool(), std::move(payload), c->xudp.header_size(*dest),
      [&](std::span<uint8_t> out) { return c->xudp.encode_header(*dest, len, out); }, &frame);
  if (!st) {
    stats_.dropped++;
    if (fresh) conn_done(c);
    return {};
  }
  stats_.sent++;
  if (!c->stream) {
    (void)c->queued.append(std::move(frame));
  } else if (!c->stream->write(std::move(frame))) {
    conn_done(c);
    return {};
  }
  if (fresh) {
    vless::Request req;
    req.user = target_->opts.user;
    req.addons = vless::Addons::with_flow(target_->opts.flow);  // Vision carries XUDP too
    req.command = vless::Command::mux;
    req.target = *dest;               // not sent: Mux requests carry no address
    c->start(engine_, target_, req);  // may fail at once and forget c
  }
  return {};
}

void VlessXudpFlow::conn_done(Conn* c) noexcept {
  if (c->done) return;
  c->done = true;
  c->cancel();
  c->queued.clear();
  c->in.clear();
  if (!c->stream) {
    conn_closed(c);
    return;
  }
  ++open_closes_;
  c->stream->close(
      [](void* u) {
        auto* conn = static_cast<Conn*>(u);
        VlessXudpFlow* f = conn->flow;
        --f->open_closes_;
        f->conn_closed(conn);
      },
      c);
}

void VlessXudpFlow::conn_closed(Conn* c) noexcept {
  auto it = std::find_if(conns_.begin(), conns_.end(),
                         [c](const std::unique_ptr<Conn>& q) { return q.get() == c; });
  if (it != conns_.end()) conns_.erase(it);
  if (!closing_ || open_closes_ > 0) return;
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (cb) cb(close_user_);  // may delete this
}

void VlessXudpFlow::close(CloseCallback cb, void* user) noexcept {
  if (closing_) return;
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  ++open_closes_;  // held across the loop: closes may finish inside it
  std::vector<Conn*> cs;
  for (auto& c : conns_) cs.push_back(c.get());
  for (Conn* c : cs) conn_done(c);
  --open_closes_;
  conn_closed(nullptr);
}

}  // namespace sluice

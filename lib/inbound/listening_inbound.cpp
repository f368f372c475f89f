// listening_inbound.cpp: the listener and connection-set lifecycle of inbounds.
#include "inbound/listening_inbound.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace sluice {

ListeningInbound::~ListeningInbound() { SLUICE_CHECK(listener_ == nullptr || listener_closed_); }

Status ListeningInbound::listen(std::string_view host, uint16_t port, const net::ListenOptions& o,
                                std::string* reason) {
  auto l = net::TcpListener::create(engine(), host, port, o, this, reason);
  if (!l) {
    closing_ = true;
    listener_closed_ = true;
    closed_ = true;
    detach_from_engine();
    return l.error();
  }
  listener_ = std::move(*l);
  port_ = listener_->port();
  return {};
}

void ListeningInbound::track(TrackedConn* c) { conns_.push_back(c); }

void ListeningInbound::conn_closed(TrackedConn* c) noexcept {
  auto it = std::find(conns_.begin(), conns_.end(), c);
  if (it != conns_.end()) conns_.erase(it);
  delete c;
  maybe_closed();
}

void ListeningInbound::close(CloseCallback cb, void* user) noexcept {
  if (closing_) {
    // Already closing (e.g. the Engine stopped first): this caller still
    // hears about the end, at once if it already happened.
    if (!cb) return;
    if (closed_) {
      cb(user);
    } else if (!close_cb_) {
      close_cb_ = cb;
      close_user_ = user;
    }
    return;
  }
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  std::vector<TrackedConn*> live = conns_;
  for (TrackedConn* c : live) c->close_now();
  listener_->close(
      [](void* u) {
        auto* self = static_cast<ListeningInbound*>(u);
        self->listener_closed_ = true;
        self->maybe_closed();
      },
      this);
}

void ListeningInbound::maybe_closed() noexcept {
  if (!closing_ || !listener_closed_ || !conns_.empty() || closed_) return;
  closed_ = true;
  detach_from_engine();
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (cb) cb(close_user_);
}

}  // namespace sluice

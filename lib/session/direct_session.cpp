// direct_session.cpp: the direct outbound.
#include "session/direct_session.hpp"

#include <algorithm>

#include "net/udp_flow.hpp"

namespace sluice {

DirectSession::DirectSession(Engine& e, std::string tag, const net::DialOptions& o)
    : Session(e, std::move(tag)), opts_(o) {}

DirectSession::~DirectSession() {
  for (auto& p : pending_)
    if (p->dial) p->dial->cancel();
}

void DirectSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  auto p = std::make_unique<Pending>();
  p->session = this;
  p->handler = h;
  Pending* raw = p.get();
  pending_.push_back(std::move(p));
  // The dial may complete synchronously (bad address): the callback then
  // removes raw from pending_ before start returns.
  net::Dial* d = net::Dial::start(engine(), host, port, opts_, raw);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [raw](const std::unique_ptr<Pending>& q) { return q.get() == raw; });
  if (it != pending_.end()) raw->dial = d;
}

void DirectSession::Pending::on_dial(Result<std::unique_ptr<net::TcpTransport>> t,
                                     const char* reason) {
  OpenHandler* h = handler;
  DirectSession* s = session;
  dial = nullptr;
  s->forget(this);  // deletes this
  if (t) {
    std::unique_ptr<Stream> st(t->release());
    h->on_open(std::move(st), "");
  } else {
    h->on_open(t.error(), reason);
  }
}

void DirectSession::forget(Pending* p) noexcept {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [p](const std::unique_ptr<Pending>& q) { return q.get() == p; });
  if (it != pending_.end()) pending_.erase(it);
}

void DirectSession::cancel_open(OpenHandler* h) noexcept {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if ((*it)->handler == h) {
      if ((*it)->dial) (*it)->dial->cancel();
      pending_.erase(it);
      return;
    }
  }
}

Result<std::unique_ptr<DatagramFlow>> DirectSession::open_datagram(DatagramHandler* h) noexcept {
  return net::UdpFlow::create(engine(), h);
}

void DirectSession::engine_close() noexcept {
  // Pending opens are failed, not forgotten: their handlers may hold data
  // (a client's first bytes) that must be reported lost.
  std::vector<std::unique_ptr<Pending>> pending = std::move(pending_);
  pending_.clear();
  for (auto& p : pending) {
    if (p->dial) p->dial->cancel();
    p->dial = nullptr;
    if (p->handler) p->handler->on_open(Errc::canceled, "engine stopping");
  }
  detach_from_engine();  // owned by its creator, which deletes it
}

}  // namespace sluice

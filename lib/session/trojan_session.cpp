// trojan_session.cpp: the trojan outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/trojan_session.hpp"

#include <algorithm>

namespace sluice {

struct TrojanSession::Pending final : TlsDialHandler {
  TrojanSession* session = nullptr;
  OpenHandler* handler = nullptr;
  TargetAddress target;
  TlsDial* dial = nullptr;

  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    dial = nullptr;
    OpenHandler* h = handler;
    TrojanSession* s = session;
    const TargetAddress tgt = target;
    s->forget(this);  // deletes this
    if (!t) {
      std::string why = std::string("trojan server ") + s->opts_.server + ": " + reason;
      h->on_open(t.error(), why.c_str());
      return;
    }
    std::unique_ptr<TlsTransport> tls = std::move(*t);
    auto buf = s->engine().pool().get(trojan::kMaxRequestSize);
    if (!buf) {
      close_and_delete(tls.release());
      h->on_open(buf.error(), "out of memory");
      return;
    }
    const size_t n = trojan::request_size(tgt);
    uint8_t* p = buf->append(n);
    auto w = trojan::encode_request(s->hash_, trojan::Command::connect, tgt, {p, n});
    Status st = w ? tls->write(std::move(*buf)) : Status{w.error()};
    if (!st) {
      const std::string why = tls->failure_reason();
      close_and_delete(tls.release());
      h->on_open(st.error(), why.c_str());
      return;
    }
    h->on_open(std::unique_ptr<Stream>(tls.release()), "");
  }
};

TrojanSession::TrojanSession(Engine& e, std::string tag, const TrojanSessionOptions& o,
                             std::shared_ptr<tls::TlsClientContext> ctx)
    : Session(e, std::move(tag)),
      opts_(o),
      hash_(trojan::hash_password(o.password)),
      ctx_(std::move(ctx)) {}

Result<std::unique_ptr<TrojanSession>> TrojanSession::create(Engine& e, std::string tag,
                                                             const TrojanSessionOptions& o,
                                                             const TlsClientOptions& tls,
                                                             std::string* why) {
  std::string w;
  auto ctx = tls::TlsClientContext::create(tls, o.server, {}, &w);
  if (!ctx) {
    if (why) *why = "tls: " + w;
    return ctx.error();
  }
  return std::unique_ptr<TrojanSession>(new TrojanSession(e, std::move(tag), o, std::move(*ctx)));
}

TrojanSession::~TrojanSession() {
  for (auto& p : pending_)
    if (p->dial) p->dial->cancel();
}

void TrojanSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  auto p = std::make_unique<Pending>();
  p->session = this;
  p->handler = h;
  p->target = *t;
  Pending* raw = p.get();
  pending_.push_back(std::move(p));
  TlsDial* d = TlsDial::start(engine(), opts_.server, opts_.server_port, ctx_, opts_.dial, raw);
  // The dial may have finished inside start (and freed raw).
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [raw](const std::unique_ptr<Pending>& q) { return q.get() == raw; });
  if (it != pending_.end()) raw->dial = d;
}

void TrojanSession::forget(Pending* p) noexcept {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [p](const std::unique_ptr<Pending>& q) { return q.get() == p; });
  if (it != pending_.end()) pending_.erase(it);
}

void TrojanSession::cancel_open(OpenHandler* h) noexcept {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if ((*it)->handler == h) {
      if ((*it)->dial) (*it)->dial->cancel();
      pending_.erase(it);
      return;
    }
  }
}

void TrojanSession::engine_close() noexcept {
  std::vector<std::unique_ptr<Pending>> pending = std::move(pending_);
  pending_.clear();
  for (auto& p : pending) {
    if (p->dial) p->dial->cancel();
    p->dial = nullptr;
    if (p->handler) p->handler->on_open(Errc::canceled, "engine stopping");
  }
  detach_from_engine();
}

}  // namespace sluice

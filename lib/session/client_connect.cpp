// client_connect.cpp: the client connector and the pending-open list.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/client_connect.hpp"

#include <algorithm>

#include "net/tcp_transport.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

Result<std::unique_ptr<Transport>> ConnectProtocol::wrap(std::unique_ptr<Transport> t, bool tls,
                                                         Slice&& request,
                                                         std::string* why) noexcept {
  (void)tls;
  if (!request.empty()) {
    Status st = t->write(std::move(request));
    if (!st) {
      *why = t->failure_reason();
      close_and_delete(t.release());
      return st.error();
    }
  }
  return t;
}

ClientConnect::~ClientConnect() {
  *alive_ = false;
  cancel();
}

void ClientConnect::start(Engine& e, const DialTarget& to, ConnectProtocol* p, ConnectHandler* h,
                          std::string what) noexcept {
  engine_ = &e;
  protocol_ = p;
  handler_ = h;
  what_ = std::move(what);
  answered_ = false;
  if (const uint64_t ms = p->deadline_ms(); ms > 0) {
    deadline_.emplace(e);
    deadline_->start(ms, on_deadline, this);
  }
  // Either dial may answer inside start, and the owner may delete this
  // object in that answer: keep the dial only if neither happened.
  std::shared_ptr<bool> alive = alive_;
  if (to.strategy == DialTarget::Strategy::tls && to.tls.reality) {
    RealityDial* d = RealityDial::start(e, to.host, to.port, to.tls_ctx, to.tls, this);
    if (*alive && !answered_) reality_dial_ = d;
  } else if (to.strategy == DialTarget::Strategy::tls && !to.tls.utls.empty()) {
    Tls13Dial* d = Tls13Dial::start(e, to.host, to.port, to.tls_ctx, to.tls.utls, to.tls, this);
    if (*alive && !answered_) tls13_dial_ = d;
  } else if (to.strategy == DialTarget::Strategy::tls) {
    TlsDial* d = TlsDial::start(e, to.host, to.port, to.tls_ctx, to.tls, this);
    if (*alive && !answered_) tls_dial_ = d;
  } else {
    net::Dial* d = net::Dial::start(e, to.host, to.port, to.tcp, this);
    if (*alive && !answered_) tcp_dial_ = d;
  }
}

void ClientConnect::cancel() noexcept {
  if (tls_dial_) tls_dial_->cancel();
  if (tls13_dial_) tls13_dial_->cancel();
  if (reality_dial_) reality_dial_->cancel();
  if (tcp_dial_) tcp_dial_->cancel();
  tls_dial_ = nullptr;
  tls13_dial_ = nullptr;
  reality_dial_ = nullptr;
  tcp_dial_ = nullptr;
  if (deadline_) deadline_->stop();
  if (conn_) close_and_delete(conn_.release());
  in_.clear();
}

void ClientConnect::on_deadline(void* self) {
  auto* c = static_cast<ClientConnect*>(self);
  c->cancel();
  c->failed(Errc::timed_out, "handshake timed out");  // may delete c
}

void ClientConnect::on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) {
  answered_ = true;
  tcp_dial_ = nullptr;
  if (!t) {
    failed(t.error(), reason);
    return;
  }
  conn_tls_ = false;
  dialed(std::unique_ptr<Transport>(t->release()), false);
}

void ClientConnect::on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) {
  answered_ = true;
  tls_dial_ = nullptr;
  if (!t) {
    failed(t.error(), reason);
    return;
  }
  conn_tls_ = true;
  dialed(std::unique_ptr<Transport>(t->release()), true);
}

void ClientConnect::on_tls13_dial(Result<std::unique_ptr<Tls13Transport>> t, const char* reason) {
  answered_ = true;
  tls13_dial_ = nullptr;
  reality_dial_ = nullptr;
  if (!t) {
    failed(t.error(), reason);
    return;
  }
  conn_tls_ = true;
  dialed(std::unique_ptr<Transport>(t->release()), true);
}

void ClientConnect::failed(Errc e, const char* reason) noexcept {
  if (deadline_) deadline_->stop();
  if (what_.empty()) {
    handler_->on_connected(e, reason);  // may delete this
    return;
  }
  const std::string why = what_ + reason;
  handler_->on_connected(e, why.c_str());  // may delete this
}

void ClientConnect::dialed(std::unique_ptr<Transport> t, bool tls) noexcept {
  std::string why;
  auto req = protocol_->request(engine_->pool(), &why);
  if (!req) {
    close_and_delete(t.release());
    if (why.empty()) why = req.error() == Errc::no_memory ? "out of memory" : "bad request";
    if (deadline_) deadline_->stop();
    handler_->on_connected(req.error(), why.c_str());  // a protocol's words: may delete this
    return;
  }
  if (!protocol_->reply_phase()) {
    hand_over(std::move(t), std::move(*req));
    return;
  }
  // Reply phase: send the request, then read until the protocol is done.
  conn_ = std::move(t);
  conn_tls_ = tls;
  conn_->set_handler(this);
  if (!req->empty()) {
    Status st = conn_->write(std::move(*req));
    if (!st) {
      close_and_delete(conn_.release());
      failed(st.error(), "handshake could not be sent");  // may delete this
      return;
    }
  }
  conn_->read_start();
}

void ClientConnect::hand_over(std::unique_ptr<Transport> t, Slice&& request) noexcept {
  if (deadline_) deadline_->stop();
  std::string why;
  auto s = protocol_->wrap(std::move(t), conn_tls_, std::move(request), &why);
  if (!s) {
    handler_->on_connected(s.error(), why.c_str());  // may delete this
    return;
  }
  handler_->on_connected(std::move(*s), "");  // may delete this
}

void ClientConnect::on_data(Slice&& data) {
  if (!in_.push_back_compact(std::move(data))) {
    cancel();
    failed(Errc::no_memory, "out of memory");  // may delete this
    return;
  }
  Chain out;
  ConnectProtocol::ReplyStep step = protocol_->on_reply(in_, engine_->pool(), &out);
  if (!out.empty() && step.kind != ConnectProtocol::ReplyStep::fail) {
    Status st = conn_->write(std::move(out));
    if (!st) step = {ConnectProtocol::ReplyStep::fail, st.error(), ""};
  }
  switch (step.kind) {
    case ConnectProtocol::ReplyStep::need_more:
      return;
    case ConnectProtocol::ReplyStep::fail: {
      cancel();
      // The protocol's own words stand as they are (no |what| prefix).
      const std::string why = step.reason.empty() ? errc_message(step.error) : step.reason;
      handler_->on_connected(step.error, why.c_str());  // may delete this
      return;
    }
    case ConnectProtocol::ReplyStep::done:
      break;
  }
  // Done: the bytes after the reply belong to the stream.
  std::unique_ptr<Transport> t = std::move(conn_);
  t->read_stop();
  t->set_handler(nullptr);
  if (!in_.empty()) (void)t->unread(std::move(in_));
  in_.clear();
  hand_over(std::move(t), Slice{});  // may delete this
}

void ClientConnect::on_eof() {
  cancel();
  failed(Errc::eof, "closed the connection during the handshake");  // may delete this
}

void ClientConnect::on_error(Errc e) {
  const std::string why =
      std::string("connection failed: ") + (conn_ ? conn_->failure_reason() : "");
  cancel();
  failed(e, why.c_str());  // may delete this
}

namespace {

// ConnectOpen: an open_stream answered by a ClientConnect.
struct ConnectOpen final : PendingOpen, ConnectHandler {
  PendingOpens* list = nullptr;
  std::unique_ptr<ConnectProtocol> protocol;
  ClientConnect connect;

  void on_connected(Result<std::unique_ptr<Transport>> t, const char* reason) override {
    OpenHandler* h = handler;
    list->finish(this).reset();  // deletes this (ClientConnect allows it here)
    if (!t) {
      h->on_open(t.error(), reason);
      return;
    }
    h->on_open(std::unique_ptr<Stream>(t->release()), "");
  }
};

}  // namespace

PendingOpens::~PendingOpens() { clear(); }

void PendingOpens::open(Engine& e, const DialTarget& to, std::unique_ptr<ConnectProtocol> p,
                        OpenHandler* h, std::string what) noexcept {
  auto c = std::unique_ptr<ConnectOpen>(new (std::nothrow) ConnectOpen());
  if (!c) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  c->handler = h;
  c->list = this;
  c->protocol = std::move(p);
  ConnectOpen* raw = c.get();
  entries_.push_back(std::move(c));
  // No protocol: a plain connection (nothing written, nothing wrapped).
  static ConnectProtocol plain;  // stateless, so shared by every Engine
  ConnectProtocol* proto = raw->protocol ? raw->protocol.get() : &plain;
  raw->connect.start(e, to, proto, raw, std::move(what));  // may answer at once
}

PendingOpen* PendingOpens::add(std::unique_ptr<PendingOpen> p) noexcept {
  entries_.push_back(std::move(p));
  return entries_.back().get();
}

std::unique_ptr<PendingOpen> PendingOpens::finish(PendingOpen* p) noexcept {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [p](const std::unique_ptr<PendingOpen>& q) { return q.get() == p; });
  if (it == entries_.end()) return nullptr;
  std::unique_ptr<PendingOpen> out = std::move(*it);
  entries_.erase(it);
  return out;
}

void PendingOpens::cancel(OpenHandler* h) noexcept {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [h](const std::unique_ptr<PendingOpen>& q) { return q->handler == h; });
  if (it == entries_.end()) return;
  std::unique_ptr<PendingOpen> gone = std::move(*it);
  entries_.erase(it);  // |gone| cancels as it is destroyed, after the list is consistent
}

void PendingOpens::fail_all(Errc e, const char* reason) noexcept {
  // Failed, not forgotten: a handler may hold data (a client's first bytes)
  // that must be reported lost.
  std::vector<std::unique_ptr<PendingOpen>> all = std::move(entries_);
  entries_.clear();
  for (auto& p : all) {
    OpenHandler* h = p->handler;
    p.reset();  // cancels its work first: nothing else answers
    if (h) h->on_open(e, reason);
  }
}

void PendingOpens::clear() noexcept {
  std::vector<std::unique_ptr<PendingOpen>> all = std::move(entries_);
  entries_.clear();
  all.clear();
}

bool PendingOpens::contains(const PendingOpen* p) const noexcept {
  return std::any_of(entries_.begin(), entries_.end(),
                     [p](const std::unique_ptr<PendingOpen>& q) { return q.get() == p; });
}

}  // namespace sluice

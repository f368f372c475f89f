#include "tls_support.hpp"

#include <algorithm>
#include <cstdlib>

namespace sluice::test {

struct TlsEchoServer::Conn final : TransportHandler, TlsHandshakeHandler {
  TlsEchoServer* server;
  std::unique_ptr<TlsTransport> t;
  bool got_eof = false;
  bool closed = false;

  void on_handshake(Errc e, const char* reason) override {
    Seen s;
    s.error = e;
    s.reason = reason;
    if (e == Errc::ok) {
      s.server_name = t->info().server_name;
      s.alpn = t->info().alpn;
      s.ech_accepted = t->info().ech_accepted;
      s.resumed = t->info().resumed;
    }
    server->record(s);
    if (e != Errc::ok) {
      close();
      return;
    }
    t->read_start();
  }
  void on_data(Slice&& data) override { (void)t->write(std::move(data)); }
  void on_eof() override {
    got_eof = true;
    (void)t->shutdown();
    maybe_done();
  }
  void on_error(Errc) override { close(); }
  void on_write_high() override { t->read_stop(); }
  void on_write_low() override {
    if (!got_eof) t->read_start();
  }
  void on_drained() override { maybe_done(); }
  void maybe_done() {
    if (got_eof && t->write_buffered() == 0) close();
  }
  void close() {
    if (closed) return;
    closed = true;
    t->set_handler(nullptr);
    t->close(
        [](void* u) {
          auto* c = static_cast<Conn*>(u);
          auto& v = c->server->conns_;
          v.erase(std::find(v.begin(), v.end(), c));
          delete c;
        },
        this);
  }
};

TlsEchoServer::TlsEchoServer(Engine& e, std::shared_ptr<tls::TlsServerContext> ctx)
    : EngineObject(e), ctx_(std::move(ctx)) {
  std::string reason;
  auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, &reason);
  if (!l) std::abort();
  listener_ = std::move(*l);
  port_ = listener_->port();
}
TlsEchoServer::~TlsEchoServer() = default;

void TlsEchoServer::on_accept(std::unique_ptr<net::TcpTransport> tcp) {
  auto t = TlsTransport::server(engine(), std::move(tcp), ctx_);
  if (!t) return;
  auto* c = new Conn();
  c->server = this;
  c->t = std::move(*t);
  c->t->set_handler(c);
  conns_.push_back(c);
  c->t->start_handshake(c);
}

void TlsEchoServer::engine_close() noexcept {
  auto v = conns_;
  for (Conn* c : v) c->close();
  listener_->close(
      [](void* u) {
        auto* s = static_cast<TlsEchoServer*>(u);
        s->listener_.reset();
        s->detach_from_engine();
      },
      this);
}

struct TlsForwarder::Pending final : TlsDialHandler {
  TlsForwarder* fwd;
  std::unique_ptr<net::TcpTransport> plain;
  TlsDial* dial = nullptr;
  void on_tls_dial(sluice::Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    dial = nullptr;
    Result r;
    r.error = t ? Errc::ok : t.error();
    r.reason = reason;
    if (t) r.info = (*t)->info();
    fwd->record(r);
    auto& v = fwd->pending_;
    v.erase(std::find(v.begin(), v.end(), this));
    if (t) {
      Relay::start(fwd->engine(), std::move(plain), std::move(*t), {}, nullptr);
    } else {
      close_and_delete(plain.release());
    }
    delete this;
  }
};

TlsForwarder::TlsForwarder(Engine& e, std::shared_ptr<const tls::TlsClientContext> ctx,
                           uint16_t target_port, TlsDialOptions o)
    : EngineObject(e), ctx_(std::move(ctx)), target_port_(target_port), opts_(o) {
  std::string reason;
  auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, &reason);
  if (!l) std::abort();
  listener_ = std::move(*l);
  port_ = listener_->port();
}
TlsForwarder::~TlsForwarder() = default;

void TlsForwarder::on_accept(std::unique_ptr<net::TcpTransport> t) {
  auto* p = new Pending();
  p->fwd = this;
  p->plain = std::move(t);
  pending_.push_back(p);
  TlsDial* d = TlsDial::start(engine(), "127.0.0.1", target_port_, ctx_, opts_, p);
  if (std::find(pending_.begin(), pending_.end(), p) != pending_.end()) p->dial = d;
}

void TlsForwarder::engine_close() noexcept {
  auto v = pending_;
  for (Pending* p : v) {
    if (p->dial) p->dial->cancel();
    close_and_delete(p->plain.release());
    delete p;
  }
  pending_.clear();
  listener_->close(
      [](void* u) {
        auto* s = static_cast<TlsForwarder*>(u);
        s->listener_.reset();
        s->detach_from_engine();
      },
      this);
}

}  // namespace sluice::test

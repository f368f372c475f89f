#include "tls_support.hpp"

#include <fcntl.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "../unit/transport/tls_test_util.hpp"

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
  c->t->set_one_record_reads(false);  // an echo relays in bulk
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

// --- TcpTap ----------------------------------------------------------------

struct TcpTap::Link {
  int client = -1;
  int server = -1;
  size_t index = 0;         // into sent_
  bool client_eof = false;  // the client half-closed (passed on)
  bool server_eof = false;
};

TcpTap::TcpTap(uint16_t target_port) : target_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::pipe(stop_) != 0)
    std::abort();
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpTap::~TcpTap() {
  const char x = 0;
  (void)!::write(stop_[1], &x, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_[0]);
  ::close(stop_[1]);
}

size_t TcpTap::connections() {
  std::lock_guard<std::mutex> l(mu_);
  return sent_.size();
}

std::vector<std::string> TcpTap::client_bytes() {
  std::lock_guard<std::mutex> l(mu_);
  return sent_;
}

void TcpTap::run() {
  std::vector<Link> links;
  std::vector<uint8_t> buf(64 * 1024);
  for (;;) {
    std::vector<pollfd> fds = {{stop_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Link& k : links) {
      fds.push_back({k.client, static_cast<short>(k.client_eof ? 0 : POLLIN), 0});
      fds.push_back({k.server, static_cast<short>(k.server_eof ? 0 : POLLIN), 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) {
        Link k;
        k.client = c;
        k.server = tcp_connect(target_);
        std::lock_guard<std::mutex> l(mu_);
        k.index = sent_.size();
        sent_.emplace_back();
        links.push_back(k);
      }
    }
    for (size_t i = 0; i < links.size() && 2 + 2 * i + 1 < fds.size(); ++i) {
      Link& k = links[i];
      for (int side = 0; side < 2; ++side) {
        if (!(fds[2 + 2 * i + side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = side == 0 ? k.client : k.server;
        const int to = side == 0 ? k.server : k.client;
        const ssize_t n = ::read(from, buf.data(), buf.size());
        if (n > 0) {
          if (side == 0) {
            std::lock_guard<std::mutex> l(mu_);
            sent_[k.index].append(reinterpret_cast<const char*>(buf.data()), size_t(n));
          }
          if (!send_all(to, buf.data(), size_t(n))) k.client_eof = k.server_eof = true;
        } else {
          (side == 0 ? k.client_eof : k.server_eof) = true;
          ::shutdown(to, SHUT_WR);
        }
      }
    }
    // Drop links whose both directions ended.
    for (size_t i = 0; i < links.size();) {
      if (links[i].client_eof && links[i].server_eof) {
        ::close(links[i].client);
        ::close(links[i].server);
        links.erase(links.begin() + static_cast<ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  for (const Link& k : links) {
    ::close(k.client);
    ::close(k.server);
  }
}

void check_tls_prober_echoed(const std::string& ca_pem, const std::string& server_name,
                             uint16_t port) {
  auto eng = std::move(*Engine::create());
  auto fwd =
      std::make_unique<TlsForwarder>(*eng, client_ctx(client_options(ca_pem, server_name)), port);
  REQUIRE(eng->start());
  int fd = tcp_connect(fwd->port());
  const std::string probe = "GET /index.html HTTP/1.1\r\nHost: " + server_name + "\r\n\r\n";
  REQUIRE(send_all(fd, probe.data(), probe.size()));
  std::string got(probe.size(), '\0');
  REQUIRE(recv_exact(fd, got.data(), got.size()));
  CHECK(got == probe);
  ::shutdown(fd, SHUT_WR);
  CHECK(wait_eof(fd));
  ::close(fd);
  REQUIRE(eng->stop());
  fwd.reset();
  eng.reset();
}

}  // namespace sluice::test

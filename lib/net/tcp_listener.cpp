// tcp_listener.cpp: bind, listen and accept (see tcp_listener.hpp).
#include "net/tcp_listener.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/check.hpp"
#include "net/engine_internal.hpp"
#include "net/uv_error.hpp"

namespace sluice::net {

Result<std::unique_ptr<TcpListener>> TcpListener::create(Engine& e, std::string_view host,
                                                         uint16_t port, const ListenOptions& o,
                                                         AcceptHandler* h, std::string* reason) {
  sockaddr_storage ss{};
  std::string hs(host);
  if (hs.size() > 2 && hs.front() == '[' && hs.back() == ']') hs = hs.substr(1, hs.size() - 2);
  if (hs.empty()) hs = "0.0.0.0";
  if (uv_ip4_addr(hs.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(hs.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    if (reason) *reason = "listen address is not an IP literal: " + hs;
    return Errc::invalid_argument;
  }
  std::unique_ptr<TcpListener> l(new (std::nothrow) TcpListener(e, h));
  if (!l) return Errc::no_memory;
  l->opts_ = o;
  auto fail = [&](int err, const char* what) -> Errc {
    if (reason) *reason = hs + ":" + std::to_string(port) + ": " + what + ": " + uv_strerror(-err);
    // Nothing is on the loop yet: close the socket and drop the listener.
    if (l->fd_ >= 0) ::close(l->fd_);
    l->fd_ = -1;
    l->closer_.begin(nullptr, nullptr);
    l->closer_.arm(e);
    return errc_from_uv(-err);
  };
  l->fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->fd_ < 0) {
    const int err = errno;
    if (reason) *reason = std::string("socket: ") + uv_strerror(-err);
    return errc_from_uv(-err);
  }
  // As uv_tcp_bind does: a restarted server can bind while old connections
  // linger in TIME_WAIT.
  int one = 1;
  ::setsockopt(l->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (o.reuse_port) ::setsockopt(l->fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  const socklen_t alen = ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(l->fd_, reinterpret_cast<const sockaddr*>(&ss), alen) != 0) return fail(errno, "bind");
  if (::listen(l->fd_, o.backlog) != 0) return fail(errno, "listen");
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(l->fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int rc = uv_poll_init_socket(e.loop(), &l->poll_, l->fd_);
  if (rc != 0) return fail(-rc, "poll");
  l->poll_open_ = true;
  l->poll_.data = l.get();
  rc = uv_poll_start(&l->poll_, UV_READABLE, on_readable);
  if (rc != 0) {
    if (reason) *reason = hs + ":" + std::to_string(port) + ": poll: " + uv_strerror(rc);
    TcpListener* raw = l.release();
    raw->close([](void* u) { delete static_cast<TcpListener*>(u); }, raw);
    return errc_from_uv(rc);
  }
  return l;
}

TcpListener::~TcpListener() { SLUICE_CHECK(closer_.closing()); }

void TcpListener::on_readable(uv_poll_t* p, int status, int) {
  auto* l = static_cast<TcpListener*>(p->data);
  if (l->closer_.closing()) return;
  if (status != 0) {
    net::count_accept_error(l->engine_);
    if (l->handler_) l->handler_->on_accept_error(errc_from_uv(status));
    return;
  }
  l->accept_some();
}

void TcpListener::accept_some() noexcept {
  for (int i = 0; i < kMaxAcceptsPerWake && !closer_.closing(); ++i) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      backoff_ms_ = 0;
      accepted(fd);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that one is gone
    net::count_accept_error(engine_);
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: the connection stays in the backlog.
      // Polling now would wake at once, forever; pause instead.
      backoff_ms_ = backoff_ms_ == 0 ? kBackoffMinMs : std::min(backoff_ms_ * 2, kBackoffMaxMs);
      uv_poll_stop(&poll_);
      backoff_.start(backoff_ms_, on_backoff, this);
    }
    if (handler_) handler_->on_accept_error(errc_from_uv(-err));
    return;
  }
}

void TcpListener::on_backoff(void* self) {
  auto* l = static_cast<TcpListener*>(self);
  if (l->closer_.closing()) return;
  uv_poll_start(&l->poll_, UV_READABLE, on_readable);
  // Level-triggered: a backlog still waiting wakes the poll at once.
}

void TcpListener::accepted(int fd) noexcept {
  auto tr = TcpTransport::create(engine_, AF_UNSPEC);
  if (!tr) {
    ::close(fd);
    net::count_accept_error(engine_);
    if (handler_) handler_->on_accept_error(tr.error());
    return;
  }
  std::unique_ptr<TcpTransport> t = std::move(*tr);
  const int rc = uv_tcp_open(t->handle(), fd);
  if (rc != 0) {
    ::close(fd);
    close_and_delete(t.release());
    net::count_accept_error(engine_);
    if (handler_) handler_->on_accept_error(errc_from_uv(rc));
    return;
  }
  t->set_options(opts_.nodelay, 0);
  net::count_accept(engine_);
  if (handler_)
    handler_->on_accept(std::move(t));
  else
    close_and_delete(t.release());
}

void TcpListener::close(CloseCallback cb, void* user) noexcept {
  if (!closer_.begin(cb, user)) return;
  handler_ = nullptr;
  backoff_.stop();
  if (!poll_open_) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    closer_.arm(engine_);
    return;
  }
  // The socket closes after the poll handle (libuv must stop watching it
  // first); hold the close until then.
  closer_.hold();
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* l = static_cast<TcpListener*>(h->data);
    if (l->fd_ >= 0) ::close(l->fd_);
    l->fd_ = -1;
    l->closer_.release();
  });
  closer_.arm(engine_);
}

}  // namespace sluice::net

// tcp_listener.cpp: bind, listen and accept.
#include "net/tcp_listener.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

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
  int rc = uv_tcp_init_ex(e.loop(), &l->tcp_, ss.ss_family);
  if (rc != 0) {
    if (reason) *reason = std::string("socket: ") + uv_strerror(rc);
    return errc_from_uv(rc);
  }
  l->tcp_.data = l.get();
  auto fail = [&](int code, const char* what) -> Errc {
    if (reason) *reason = hs + ":" + std::to_string(port) + ": " + what + ": " + uv_strerror(code);
    // The handle is registered: close it, and free the listener afterwards.
    TcpListener* raw = l.release();
    raw->close([](void* u) { delete static_cast<TcpListener*>(u); }, raw);
    return errc_from_uv(code);
  };
  if (o.reuse_port) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&l->tcp_), &fd) == 0) {
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
  }
  rc = uv_tcp_bind(&l->tcp_, reinterpret_cast<const sockaddr*>(&ss), 0);
  if (rc != 0) return fail(rc, "bind");
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp_), o.backlog, on_connection);
  if (rc != 0) return fail(rc, "listen");
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&l->tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return l;
}

TcpListener::~TcpListener() { SLUICE_CHECK(closer_.closing()); }

void TcpListener::on_connection(uv_stream_t* s, int status) {
  auto* l = static_cast<TcpListener*>(s->data);
  if (l->closer_.closing()) return;
  if (status != 0) {
    if (l->handler_) l->handler_->on_accept_error(errc_from_uv(status));
    return;
  }
  auto tr = TcpTransport::create(l->engine_, AF_UNSPEC);
  if (!tr) {
    if (l->handler_) l->handler_->on_accept_error(tr.error());
    return;
  }
  std::unique_ptr<TcpTransport> t = std::move(*tr);
  int rc = uv_accept(s, reinterpret_cast<uv_stream_t*>(t->handle()));
  if (rc != 0) {
    close_and_delete(t.release());
    if (l->handler_) l->handler_->on_accept_error(errc_from_uv(rc));
    return;
  }
  t->set_options(l->opts_.nodelay, 0);
  net::count_accept(l->engine_);
  if (l->handler_)
    l->handler_->on_accept(std::move(t));
  else
    close_and_delete(t.release());
}

void TcpListener::close(CloseCallback cb, void* user) noexcept {
  if (!closer_.begin(cb, user)) return;
  handler_ = nullptr;
  closer_.close_handle<&TcpListener::closer_>(&tcp_);
  closer_.arm(engine_);
}

}  // namespace sluice::net

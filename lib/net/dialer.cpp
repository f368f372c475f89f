// dialer.cpp: DNS resolution and Happy Eyeballs connection racing.
#include "net/dialer.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "core/check.hpp"
#include "net/host_hooks.hpp"
#include "net/resolve.hpp"
#include "net/timer.hpp"
#include "net/uv_error.hpp"
#include "sluice/log.hpp"

namespace sluice::net {

struct Dial::Impl {
  struct Attempt {
    Impl* owner;
    std::unique_ptr<TcpTransport> t;
    uv_connect_t req{};
    sockaddr_storage addr{};
    bool done = false;
  };

  Engine& engine;
  Dial facade{this};
  std::string host;
  uint16_t port;
  DialOptions opts;
  DialHandler* handler;
  Resolution resolution;
  Timer timeout;          // the whole dial
  Timer stagger;          // the next attempt (RFC 8305 §5)
  bool finished = false;  // result delivered or cancelled
  bool starting = false;  // inside Dial::start: not freed before it returns
  int pending_connects = 0;
  std::vector<sockaddr_storage> addrs;
  size_t next_addr = 0;
  std::vector<std::unique_ptr<Attempt>> attempts;
  std::string last_error;
  int last_status = UV_ECONNREFUSED;
  bool hook_refused = false;  // the last failure: the host's socket hook refused

  Impl(Engine& e, std::string_view h, uint16_t p, const DialOptions& o, DialHandler* hd)
      : engine(e), host(h), port(p), opts(o), handler(hd), timeout(e), stagger(e) {}

  void begin() {
    timeout.start(opts.connect_timeout_ms, on_timeout, this);
    // An IP literal answers at once (no lookup).
    int rc = resolution.start(engine.loop(), host, port, SOCK_STREAM, on_resolved, this);
    if (rc != 0) fail(rc, "resolve");
  }

  static void on_resolved(void* user, int status, std::vector<sockaddr_storage>&& addrs) {
    auto* self = static_cast<Impl*>(user);
    if (self->finished) {
      self->maybe_free();
      return;
    }
    if (status != 0) {
      self->fail(status, "resolve");
      return;
    }
    self->addrs = std::move(addrs);  // RFC 8305 §4 order
    self->next_attempt();
  }

  void next_attempt() {
    while (!finished && next_addr < addrs.size()) {
      const sockaddr_storage& ss = addrs[next_addr++];
      int uv_rc = UV_ENOMEM;
      auto tr = TcpTransport::create(engine, ss.ss_family, &uv_rc);
      if (!tr) {
        last_status = uv_rc;
        hook_refused = false;
        last_error = std::string("socket: ") + uv_strerror(uv_rc);
        continue;
      }
      auto a = std::make_unique<Attempt>();
      a->owner = this;
      a->t = std::move(*tr);
      a->addr = ss;
      if (opts.fast_open) {
#ifdef TCP_FASTOPEN_CONNECT
        uv_os_fd_t fd;
        if (uv_fileno(reinterpret_cast<uv_handle_t*>(a->t->handle()), &fd) == 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof one);
        }
#endif
      }
      if (!socket_created(engine, reinterpret_cast<const uv_handle_t*>(a->t->handle()),
                          SocketKind::tcp, ss.ss_family)) {
        hook_refused = true;
        last_error = describe_refused(ss);
        close_and_delete(a->t.release());
        continue;
      }
      a->req.data = a.get();
      int rc = uv_tcp_connect(&a->req, a->t->handle(), reinterpret_cast<const sockaddr*>(&a->addr),
                              on_connect);
      if (rc != 0) {
        last_status = rc;
        hook_refused = false;
        last_error = describe(ss, rc);
        close_and_delete(a->t.release());
        continue;
      }
      pending_connects++;
      attempts.push_back(std::move(a));
      if (next_addr < addrs.size()) stagger.start(opts.attempt_delay_ms, on_stagger, this);
      return;
    }
    if (!finished && pending_connects == 0) fail(last_status, nullptr);
  }

  static void on_stagger(void* self) { static_cast<Impl*>(self)->next_attempt(); }

  static void on_connect(uv_connect_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    Impl* self = a->owner;
    a->done = true;
    self->pending_connects--;
    if (self->finished || status == UV_ECANCELED) {
      self->maybe_free();
      return;
    }
    if (status != 0) {
      self->last_status = status;
      self->hook_refused = false;
      self->last_error = describe(a->addr, status);
      // Close this one now; start the next without waiting for the stagger.
      for (auto& p : self->attempts)
        if (p.get() == a && p->t) close_and_delete(p->t.release());
      self->stagger.stop();
      self->next_attempt();
      return;
    }
    std::unique_ptr<TcpTransport> winner = std::move(a->t);
    winner->set_options(self->opts.nodelay, self->opts.keepalive_s);
    self->finish_ok(std::move(winner));
  }

  static std::string describe(const sockaddr_storage& ss, int status) {
    char ip[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET6)
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), ip, sizeof ip);
    else
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), ip, sizeof ip);
    return std::string(ip) + ": " + uv_strerror(status);
  }

  static std::string describe_refused(const sockaddr_storage& ss) {
    char ip[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET6)
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), ip, sizeof ip);
    else
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), ip, sizeof ip);
    return std::string(ip) + ": " + errc_message(Errc::socket_refused);
  }

  static void on_timeout(void* self) { static_cast<Impl*>(self)->fail(UV_ETIMEDOUT, "connect"); }

  void finish_ok(std::unique_ptr<TcpTransport> t) {
    DialHandler* h = handler;
    stop_all();
    if (h) h->on_dial(std::move(t), "");
    maybe_free();
  }

  void fail(int status, const char* what) {
    if (finished) return;
    std::string reason = host + ":" + std::to_string(port) + ": ";
    if (what) {
      reason += std::string(what) + ": " + uv_strerror(status);
    } else if (hook_refused) {
      reason += last_error;
    } else if (last_error.empty() || addrs.size() == 1) {
      reason += uv_strerror(status);  // one address: it is the host itself
    } else {
      reason += last_error;  // several: say which failed last
    }
    DialHandler* h = handler;
    stop_all();
    // Every attempt refused by the host's hook: say so, not "refused".
    const Errc e = !what && hook_refused ? Errc::socket_refused : errc_from_uv(status);
    if (h) h->on_dial(e, reason.c_str());
    maybe_free();
  }

  // stop_all marks the dial finished, cancels DNS, stops timers, closes losers.
  void stop_all() {
    finished = true;
    handler = nullptr;
    resolution.cancel();
    timeout.stop();
    stagger.stop();
    for (auto& a : attempts)
      if (a->t) close_and_delete(a->t.release());  // pending connects get ECANCELED
  }

  // maybe_free frees the dial once nothing of it is in flight (a lookup or
  // a connect request still calls back) and Dial::start has returned.
  void maybe_free() {
    if (finished && !starting && !resolution.busy() && pending_connects == 0) delete this;
  }
};

Dial* Dial::start(Engine& e, std::string_view host, uint16_t port, const DialOptions& o,
                  DialHandler* h) noexcept {
  auto* impl = new (std::nothrow) Impl(e, host, port, o, h);
  if (!impl) {
    h->on_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  Dial* d = &impl->facade;
  impl->starting = true;  // an answer inside begin() must not free impl yet
  if (port == 0 || host.empty()) {
    // Still go through the normal path so the callback and freeing are uniform.
    impl->begin();
    impl->fail(UV_EINVAL, "invalid address");
  } else {
    impl->begin();
  }
  impl->starting = false;
  if (!impl->finished) return d;
  impl->maybe_free();
  return nullptr;
}

void Dial::cancel() noexcept {
  impl_->stop_all();
  impl_->maybe_free();
}

}  // namespace sluice::net

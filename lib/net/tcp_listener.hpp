// tcp_listener.hpp: TcpListener, a listening TCP socket handing out TcpTransports.
//
// The listener accepts itself (accept4 on a uv_poll_t) rather than through
// uv_listen, because of what happens when descriptors run out: libuv then
// accepts and closes everything waiting in the backlog (its reserved
// descriptor trick) without telling the application. Here an EMFILE or
// ENFILE is reported (AcceptHandler::on_accept_error, counted in
// EngineStats::accept_errors) and accepting backs off: polling stops and a
// timer retries after kBackoffMinMs, doubling up to kBackoffMaxMs while
// accept keeps failing. Waiting connections stay in the kernel's backlog and
// are served once a descriptor is free; nothing spins meanwhile.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/tcp_transport.hpp"
#include "net/timer.hpp"
#include "sluice/engine.hpp"

namespace sluice::net {

struct ListenOptions {
  int backlog = 511;
  bool reuse_port = false;  // SO_REUSEPORT: one listener per Engine on the same port
  bool nodelay = true;
};

class AcceptHandler {
 public:
  virtual ~AcceptHandler() = default;
  // on_accept hands over a connected, not yet reading transport.
  virtual void on_accept(std::unique_ptr<TcpTransport> t) = 0;
  // on_accept_error: accept failed (e.g. out of descriptors); listening goes
  // on (after a back-off for EMFILE/ENFILE).
  virtual void on_accept_error(Errc e) { (void)e; }
};

class TcpListener {
 public:
  // Back-off bounds while accept fails for lack of descriptors or memory.
  static constexpr uint64_t kBackoffMinMs = 10;
  static constexpr uint64_t kBackoffMaxMs = 1000;
  // kMaxAcceptsPerWake bounds one wake-up's accepts, so a connection flood
  // cannot starve the rest of the loop.
  static constexpr int kMaxAcceptsPerWake = 64;

  // create binds host:port (port 0 = ephemeral) and listens. |reason| gets
  // the detail on failure.
  static Result<std::unique_ptr<TcpListener>> create(Engine& e, std::string_view host,
                                                     uint16_t port, const ListenOptions& o,
                                                     AcceptHandler* h, std::string* reason);
  ~TcpListener();
  uint16_t port() const noexcept { return port_; }
  // close: exactly one callback; the owner deletes the listener in or after it.
  void close(CloseCallback cb, void* user) noexcept;
  // backing_off: accepting is paused after an EMFILE/ENFILE (for tests).
  bool backing_off() const noexcept { return backoff_.armed(); }

 private:
  TcpListener(Engine& e, AcceptHandler* h) : engine_(e), handler_(h), backoff_(e) {}
  static void on_readable(uv_poll_t* p, int status, int events);
  static void on_backoff(void* self);
  void accept_some() noexcept;
  void accepted(int fd) noexcept;

  Engine& engine_;
  AcceptHandler* handler_;
  ListenOptions opts_;
  int fd_ = -1;  // the listening socket (owned; closed after the poll handle)
  uv_poll_t poll_{};
  bool poll_open_ = false;   // poll_ initialized (must be closed)
  Timer backoff_;            // armed while accepting is paused
  uint64_t backoff_ms_ = 0;  // the current pause (0 = not backing off)
  uint16_t port_ = 0;
  Closer closer_;
};

}  // namespace sluice::net

// tcp_listener.hpp: TcpListener, a listening TCP socket handing out TcpTransports.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/tcp_transport.hpp"
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
  // on_accept_error: accept failed (e.g. out of descriptors); listening goes on.
  virtual void on_accept_error(Errc e) { (void)e; }
};

class TcpListener {
 public:
  // create binds host:port (port 0 = ephemeral) and listens. |reason| gets
  // the detail on failure.
  static Result<std::unique_ptr<TcpListener>> create(Engine& e, std::string_view host,
                                                     uint16_t port, const ListenOptions& o,
                                                     AcceptHandler* h, std::string* reason);
  ~TcpListener();
  uint16_t port() const noexcept { return port_; }
  // close: exactly one callback; the owner deletes the listener in or after it.
  void close(CloseCallback cb, void* user) noexcept;

 private:
  TcpListener(Engine& e, AcceptHandler* h) : engine_(e), handler_(h) {}
  static void on_connection(uv_stream_t* s, int status);

  Engine& engine_;
  AcceptHandler* handler_;
  ListenOptions opts_;
  uv_tcp_t tcp_{};
  uint16_t port_ = 0;
  Closer closer_;
};

}  // namespace sluice::net

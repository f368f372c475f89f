// listening_inbound.hpp: ListeningInbound, what every inbound shares: a
// listener, the set of connections still in their handshake, and the
// asynchronous close.
//
// A concrete inbound (ProxyInbound, TrojanInbound, ...) calls listen() once,
// track()s each accepted connection it creates and answers on_accept. A
// connection that ends calls conn_closed(), which deletes it. close() stops
// listening and closes every tracked connection (relayed ones belong to
// their Relays); exactly one callback per caller, at once for a caller who
// arrives after the close finished. The Engine calls it at stop. The owner
// deletes the inbound only after the callback.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp_listener.hpp"
#include "sluice/engine.hpp"

namespace sluice {

class ListeningInbound : public EngineObject, protected net::AcceptHandler {
 public:
  // TrackedConn is a connection the inbound closes when it closes.
  class TrackedConn {
   public:
    virtual ~TrackedConn() = default;
    // close_now starts closing; the connection calls conn_closed() when done.
    virtual void close_now() noexcept = 0;
  };

  ~ListeningInbound() override;

  uint16_t port() const noexcept { return port_; }
  void close(CloseCallback cb, void* user) noexcept;
  void engine_close() noexcept override { close(nullptr, nullptr); }

  // conn_closed: |c| has finished closing; deletes it.
  void conn_closed(TrackedConn* c) noexcept;

 protected:
  explicit ListeningInbound(Engine& e) noexcept : EngineObject(e) {}
  // listen binds host:port; on failure the inbound is marked closed and detached.
  Status listen(std::string_view host, uint16_t port, const net::ListenOptions& o,
                std::string* reason);
  void track(TrackedConn* c);
  bool closing() const noexcept { return closing_; }

 private:
  void maybe_closed() noexcept;

  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::vector<TrackedConn*> conns_;  // connections not yet handed to a Relay
  bool closing_ = false;
  bool listener_closed_ = false;
  bool closed_ = false;  // the close finished (callback delivered)
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
};

}  // namespace sluice

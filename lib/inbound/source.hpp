// inbound/source.hpp: TransportSource, where a server's connections come
// from, and TcpSource, the TCP listener one.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A source hands every accepted Transport to its Sink (the server driver)
// with what it knows about the peer. TCP listeners, a QUIC connection's
// incoming streams (inbound/quic_source.hpp), later SSH channels: every
// protocol server is "a core + a source" on the one driver.
//
// Closing: close() stops accepting; exactly one callback; delete after it.
// Transports already handed over are the sink's.
// Threads: the Engine's loop thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/tcp_listener.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice {

// AcceptInfo is what a source knows about an accepted Transport.
struct AcceptInfo {
  sockaddr_storage peer{};  // the peer's address (ss_family 0 if unknown)
  // in_admitted_connection: a stream of a connection the inbound admitted
  // already (QUIC: ServerDriver::admit_connection), so the connection
  // limits do not count it again; the pool cap still does.
  bool in_admitted_connection = false;
};

class TransportSource {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void on_accepted(std::unique_ptr<Transport> t, const AcceptInfo& info) = 0;
    // on_accept_error: accepting failed (EMFILE, ENFILE, ...); the source
    // goes on accepting.
    virtual void on_accept_error(Errc e) { (void)e; }
  };
  virtual ~TransportSource() = default;
  // port: the local port it accepts on (0 where that means nothing).
  virtual uint16_t port() const noexcept = 0;
  virtual void close(CloseCallback cb, void* user) noexcept = 0;
};

class TcpSource final : public TransportSource, private net::AcceptHandler {
 public:
  static Result<std::unique_ptr<TcpSource>> create(Engine& e, std::string_view host, uint16_t port,
                                                   const net::ListenOptions& o, Sink* sink,
                                                   std::string* reason);
  uint16_t port() const noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;

 private:
  explicit TcpSource(Sink* s) noexcept : sink_(s) {}
  void on_accept(std::unique_ptr<net::TcpTransport> t) override;
  void on_accept_error(Errc e) override;

  Sink* sink_;
  std::unique_ptr<net::TcpListener> listener_;
};

}  // namespace sluice

// inbound/quic_conn_listener.hpp: QuicConnListener, a QUIC server Endpoint
// whose connections each get a handler object of the inbound's making
// (Hysteria v1 and v2: the per-connection authentication, streams and UDP
// sessions live in that object).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Admission: with an |admitter| (the inbound's ServerDriver) a new
// connection is admitted before its first Initial makes any state
// (ServerDriver::admit_connection: the connection limits, the pool cap); a
// refused client gets CONNECTION_REFUSED (quic/endpoint.hpp). The handler
// holds the admission for the connection's life (the pool reservation only
// until the handshake is done) and hands its streams to the driver with
// stream_info() (the client's address; not counted under the limits again).
//
// For each new connection the Factory makes a QuicServerConn; the listener
// owns it, installs it as the connection's handler and calls its start().
// The handler calls forget() from its on_closed, which deletes it. After
// close() new connections are closed at once with |close_ok|; a connection
// the factory cannot serve (no memory) is closed with |close_error|.
// Destroying the listener deletes the handlers that remain.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <unordered_map>

#include "inbound/server_driver.hpp"
#include "inbound/source.hpp"
#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_tls.hpp"
#include "sluice/config.hpp"

namespace sluice {

// quic_server_tls converts an inbound's "tls" section into QUIC server
// options: the certificate and key (text or path, both required), alpn and
// ECH keys; config_invalid or config_io with |why|.
Result<quic::QuicTlsOptions> quic_server_tls(const TlsServerOptions& t, std::string* why);

// QuicServerConn: the handler of one accepted connection.
class QuicServerConn : public quic::ConnectionHandler {
 public:
  // start: the connection is accepted and this is its handler.
  virtual void start() noexcept {}
  // on_handshake_done ends the admission's pool reservation, then calls
  // handshake_done.
  void on_handshake_done(quic::Connection& c) final {
    admission_.handshake_done();
    handshake_done(c);
  }

 protected:
  virtual void handshake_done(quic::Connection& c) { (void)c; }
  // stream_info: the AcceptInfo for this connection's streams.
  const AcceptInfo& stream_info() const noexcept { return info_; }

 private:
  friend class QuicConnListener;
  ConnectionAdmission admission_;
  AcceptInfo info_;
};

class QuicConnListener final : public TransportSource, private quic::AcceptHandler {
 public:
  class Factory {
   public:
    virtual ~Factory() = default;
    // make_conn: the handler of |c| (nullptr: no memory).
    virtual QuicServerConn* make_conn(quic::Connection& c, QuicConnListener& l) noexcept = 0;
  };

  QuicConnListener(Factory& f, uint64_t close_ok, uint64_t close_error,
                   ServerDriver* admitter = nullptr) noexcept
      : factory_(f), close_ok_(close_ok), close_error_(close_error), admitter_(admitter) {}
  ~QuicConnListener() override;

  // open binds the Endpoint (o.bind_host:o.bind_port) with |tls|.
  Status open(Engine& e, const quic::EndpointOptions& o, std::shared_ptr<quic::QuicTlsContext> tls);
  uint16_t port() const noexcept override { return ep_ ? ep_->port() : 0; }
  void close(CloseCallback cb, void* user) noexcept override;
  quic::Endpoint& endpoint() noexcept { return *ep_; }
  // forget deletes the handler of |c| (from its on_closed).
  void forget(quic::Connection* c) noexcept;
  // accepted: connections handed to a handler so far.
  uint64_t accepted() const noexcept { return accepted_; }

 private:
  const char* admit(const sockaddr* from) noexcept override;
  void admit_dropped() noexcept override { pending_.reset(); }
  void on_connection(quic::Connection& c) override;

  Factory& factory_;
  uint64_t close_ok_;
  uint64_t close_error_;
  ServerDriver* admitter_;
  // pending_: what admit() took for the connection on_connection() makes next.
  ConnectionAdmission pending_;
  std::unique_ptr<quic::Endpoint> ep_;
  std::unordered_map<quic::Connection*, QuicServerConn*> conns_;
  uint64_t accepted_ = 0;
  bool closing_ = false;
};

}  // namespace sluice

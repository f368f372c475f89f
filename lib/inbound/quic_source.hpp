// inbound/quic_source.hpp: QuicStreamSource, the bidirectional streams
// clients open on a QUIC server Endpoint's connections as accepted
// Transports, for the ServerDriver (Hysteria, TUIC and the like: "a core +
// this source").
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// QUIC brings its own TLS, so a driver fed by this source runs without its
// TLS layer. Each peer-opened bidirectional stream (a QuicStream) goes to
// the sink; unidirectional streams are not this source's business and are
// reset (dropped). The source owns the Endpoint: close() closes it and with
// it every connection (streams already handed over then see on_error and
// are closed by their owners, as QuicStream documents).
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>

#include "inbound/source.hpp"
#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_tls.hpp"

namespace sluice {

class QuicStreamSource final : public TransportSource,
                               private quic::AcceptHandler,
                               private quic::ConnectionHandler {
 public:
  // create opens a server Endpoint on o.bind_host:o.bind_port with |tls|
  // (a server context with a certificate).
  static Result<std::unique_ptr<QuicStreamSource>> create(Engine& e, const quic::EndpointOptions& o,
                                                          std::shared_ptr<quic::QuicTlsContext> tls,
                                                          Sink* sink);
  ~QuicStreamSource() override;

  uint16_t port() const noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  quic::Endpoint& endpoint() noexcept { return *endpoint_; }
  uint64_t streams_accepted() const noexcept { return streams_; }

 private:
  explicit QuicStreamSource(Sink* s) noexcept : sink_(s) {}
  void on_connection(quic::Connection& c) override;
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override;

  Sink* sink_;
  std::unique_ptr<quic::Endpoint> endpoint_;
  uint64_t streams_ = 0;
};

}  // namespace sluice

// inbound/quic_source.cpp: QUIC streams as accepted Transports.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/quic_source.hpp"

#include <new>

#include "quic/quic_stream.hpp"

namespace sluice {

Result<std::unique_ptr<QuicStreamSource>> QuicStreamSource::create(
    Engine& e, const quic::EndpointOptions& o, std::shared_ptr<quic::QuicTlsContext> tls,
    Sink* sink) {
  std::unique_ptr<QuicStreamSource> s(new (std::nothrow) QuicStreamSource(sink));
  if (!s) return Errc::no_memory;
  auto ep = quic::Endpoint::create(e, o, std::move(tls), s.get());
  if (!ep) return ep.error();
  s->endpoint_ = std::move(*ep);
  return s;
}

QuicStreamSource::~QuicStreamSource() = default;

uint16_t QuicStreamSource::port() const noexcept { return endpoint_ ? endpoint_->port() : 0; }

void QuicStreamSource::on_connection(quic::Connection& c) { c.set_handler(this); }

void QuicStreamSource::on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) {
  // Unidirectional streams, and any after close(), are refused (reset).
  if (sink_ == nullptr || !s->bidi()) {
    quic::ConnectionHandler::on_stream(c, std::move(s));
    return;
  }
  streams_++;
  sink_->on_accepted(std::unique_ptr<Transport>(s.release()), AcceptInfo{});
}

void QuicStreamSource::close(CloseCallback cb, void* user) noexcept {
  sink_ = nullptr;
  endpoint_->close(cb, user);
}

}  // namespace sluice

// vless_connect.hpp: VlessConnect, one outgoing VLESS connection: dial
// (TLS or plain TCP), then the request header as the first bytes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A VlessConnect is embedded in whatever waits for the connection (an open
// of VlessSession, a destination of its datagram flow). start() dials;
// on_connected() hears exactly once, unless cancel() comes first, with the
// connection as a Transport whose request header is already on its way
// (reading stopped) — a client VlessStream, or for flow xtls-rprx-vision a
// client VisionStream (TLS 1.3 required) — or the error and a reason naming
// the server.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>

#include "net/dialer.hpp"
#include "proto/vless/header.hpp"
#include "session/vless_session.hpp"
#include "session/vless_stream.hpp"
#include "session/vless_vision_stream.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

class VlessConnect : private TlsDialHandler, private net::DialHandler {
 public:
  ~VlessConnect() override {
    *alive_ = false;
    cancel();
  }

  // start dials |t|'s server and sends |request|. on_connected may run
  // before start returns (and may delete this object).
  void start(Engine& e, std::shared_ptr<const VlessTarget> t, const vless::Request& request);
  void cancel() noexcept;
  bool connecting() const noexcept { return tls_dial_ != nullptr || tcp_dial_ != nullptr; }

 protected:
  virtual void on_connected(Result<std::unique_ptr<Transport>> s, const char* reason) = 0;

 private:
  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override;
  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override;
  void connected(std::unique_ptr<Transport> t);
  void connected_vision(std::unique_ptr<TlsTransport> t);
  void failed(Errc e, const char* reason);
  // request_buffer encodes the request into a pool Slice; on failure |*oom|
  // says whether the pool was out of memory (else the encoding failed).
  Result<Slice> request_buffer(bool* oom);

  Engine* engine_ = nullptr;
  std::shared_ptr<const VlessTarget> target_;
  vless::Request request_;
  TlsDial* tls_dial_ = nullptr;
  net::Dial* tcp_dial_ = nullptr;
  bool answered_ = false;
  // alive_ tells start() whether the owner was deleted by an early answer.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice

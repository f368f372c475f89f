// vless_connect.hpp: VlessProtocol, what the client connector does for one
// outgoing VLESS connection, and the DialTarget of a VLESS server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The connection is dialed with TLS (TlsDial: ticket cache, ECH with its
// single retry) or, with TLS disabled (security "none"), plain TCP. The
// request header (lib/proto/vless) goes out as the first bytes and the
// connection is handed over at once as a client VlessStream, which strips
// the server's response header before the first downstream byte (nothing
// waits for it, vless.md section 4); for flow xtls-rprx-vision (TLS 1.3
// required, vless.md 7.1) as a client VisionStream that sends the header
// with its first padded block.
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>

#include "proto/vless/header.hpp"
#include "session/client_connect.hpp"
#include "session/vless_session.hpp"

namespace sluice {

// vless_dial_target: how to reach |t|'s server.
DialTarget vless_dial_target(const VlessTarget& t);

class VlessProtocol final : public ConnectProtocol {
 public:
  // |server| names the server in reasons.
  VlessProtocol(Engine& e, const vless::Request& request, std::string server) noexcept
      : engine_(e), request_(request), server_(std::move(server)) {}

  Result<Slice> request(BufferPool& pool, std::string* why) noexcept override;
  Result<std::unique_ptr<Transport>> wrap(std::unique_ptr<Transport> t, bool tls, Slice&& request,
                                          std::string* why) noexcept override;

 private:
  Engine& engine_;
  vless::Request request_;
  std::string server_;
};

}  // namespace sluice

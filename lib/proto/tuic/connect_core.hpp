// proto/tuic/connect_core.hpp: tuic::ConnectCore, the server side of one
// TUIC bidirectional stream (a Connect command), as a ServerCore for the
// server driver.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A client's bidirectional stream must start with Connect (05 01 ADDR);
// the TCP bytes follow directly and no reply is ever sent. The stream
// reaches the driver only once its connection has authenticated (the TUIC
// source holds it until then), so the core has no credentials to check:
//   Connect                             open {ADDR}
//   any other valid command, bad VER,
//   unknown TYPE or ADDR                reject (the stream is reset)
//   deadline / end of stream first      reject
// There is no fallback: TUIC runs inside QUIC, whose handshake already
// required the right ALPN and whose connection required authentication.
//
// Threads: one stream's object.
#pragma once

#include "proto/server_handshake.hpp"
#include "proto/tuic/tuic.hpp"

namespace sluice::tuic {

class ConnectCore final : public sluice::ServerCore {
 public:
  const char* name() const noexcept override { return "tuic"; }
  size_t max_header() const noexcept override { return 2 + kMaxAddressSize; }
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
};

}  // namespace sluice::tuic

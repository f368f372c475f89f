// proto/hysteria2/server.hpp: hysteria2::ServerCore, the server side of one
// proxied TCP stream (TCPRequest in, TCPResponse out), sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Only streams of an authenticated connection whose first varint is 0x401
// reach this core (the inbound keeps everything else for HTTP/3), so there
// is no fallback: a request that does not parse is a protocol error and the
// stream is closed (the official server closes it too).
//
//   a whole request                      open {target}
//   malformed address or padding         reject (malformed)
//   deadline / end of stream before it   reject
//
// answer() queues the TCPResponse: status 0 "Connected" (the official
// text) when the target was opened, else status 1 with the error's text.
// Both carry random padding of the official length.
//
// Threads: one stream's object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/server_handshake.hpp"

namespace sluice::hysteria2 {

class ServerCore final : public sluice::ServerCore {
 public:
  // |user|: the name the connection authenticated as (copied: the stream
  // may outlive its connection's bookkeeping).
  explicit ServerCore(std::string user) noexcept : user_(std::move(user)) {}

  const char* name() const noexcept override { return "hysteria2"; }
  size_t max_header() const noexcept override;
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  void answer(Errc result, const TargetAddress& bound) noexcept override;
  std::span<const uint8_t> output() const noexcept override { return out_; }
  void clear_output() noexcept override { out_.clear(); }

 private:
  std::string user_;
  std::vector<uint8_t> out_;
};

}  // namespace sluice::hysteria2

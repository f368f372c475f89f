// proto/socks5/server_core.hpp: socks5::ServerCore, the SOCKS5 server
// handshake (socks5::ServerHandshake) in the ServerCore shape.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Decisions: CONNECT is open {target}; UDP ASSOCIATE is datagram, socket
// (the driver binds the UDP relay and answers with its address), or reject
// with REP 0x07 when UDP is disabled; RFC 1929 credentials are checked
// against the configured users (none configured: no authentication), a
// mismatch is reject, auth. answer() queues the final reply (REP from the
// open's error). The deadline and an early end of stream are reject.
//
// Threads: one connection's object (the users are shared read-only).
#pragma once

#include <span>

#include "proto/server_handshake.hpp"
#include "proto/socks5/handshake.hpp"

namespace sluice::socks5 {

// check_user compares |username|/|password| with every entry of |users| in
// constant time per byte.
bool check_user(std::span<const UserPass> users, std::string_view username,
                std::string_view password) noexcept;

class ServerCore final : public sluice::ServerCore {
 public:
  ServerCore(std::span<const UserPass> users, bool allow_udp) noexcept
      : users_(users), udp_(allow_udp), hs_(!users.empty()) {}

  const char* name() const noexcept override { return "socks5"; }
  size_t max_header() const noexcept override;
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  void answer(Errc result, const TargetAddress& bound) noexcept override;
  std::span<const uint8_t> output() const noexcept override { return hs_.output(); }
  void clear_output() noexcept override { hs_.clear_output(); }

 private:
  std::span<const UserPass> users_;
  bool udp_;
  ServerHandshake hs_;
  size_t offset_ = 0;  // bytes consumed by the greeting and authentication
};

}  // namespace sluice::socks5

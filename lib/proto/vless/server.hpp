// proto/vless/server.hpp: vless::ServerCore, the VLESS server handshake
// (request header, user id, flow rules, command), sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Decisions (vless.md section 5; Xray's inbound):
//   version byte not 0                          fallback, not_protocol
//   unknown user id                             fallback, auth
//   a known user, the rest malformed            reject, malformed (the parse error)
//   flow other than "" or the user's flow       reject, policy
//   a Vision user's TCP or Mux without flow     reject, policy
//   Vision with UDP (0x02)                      reject, policy (not_supported)
//   Vision without an outer TLS 1.3             reject, policy (not_supported)
//   reverse proxy (0x04)                        reject, policy (not_supported)
//   TCP (0x01)                                  open {target}
//   UDP (0x02)                                  datagram, stream_framed (one target)
//   Mux (0x03)                                  datagram, mux (XUDP)
//   deadline or end of stream: a stranger's bytes go to the fallback, an
//   authenticated client stalled inside its header is refused.
// The user is identified as soon as 17 bytes are in, before the rest of the
// header arrives, so a stranger never waits for a header it cannot finish.
// The response header (VER, 0) is the inbound's to send in front of the
// first reply byte (VlessStream or VisionStream), so output() stays empty.
//
// Threads: one connection's object (the users are shared read-only).
#pragma once

#include <span>
#include <string>

#include "proto/server_handshake.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/header.hpp"
#include "proto/vless/user_id.hpp"

namespace sluice::vless {

struct ServerUser {
  std::string name;
  UserId id{};
  Flow flow = Flow::none;
};

// find_user compares |id| (16 bytes) with every user in constant time.
const ServerUser* find_user(std::span<const ServerUser> users, const uint8_t* id) noexcept;

class ServerCore final : public sluice::ServerCore {
 public:
  // |outer_tls13|: the connection is TLS 1.3 (Vision needs it).
  ServerCore(std::span<const ServerUser> users, bool outer_tls13) noexcept
      : users_(users), tls13_(outer_tls13) {}

  const char* name() const noexcept override { return "vless"; }
  size_t max_header() const noexcept override { return kMaxRequestSize; }
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;

  // user: the authenticated user (nullptr before the id arrived or if unknown).
  const ServerUser* user() const noexcept { return user_; }
  // vision: the request asked for (and may use) xtls-rprx-vision.
  bool vision() const noexcept { return vision_; }
  // decided: a request header was accepted (open or datagram).
  bool decided() const noexcept { return decided_; }

 private:
  ServerDecision refuse(Errc e, const char* why, RefusalCause c) const noexcept;

  std::span<const ServerUser> users_;
  bool tls13_;
  const ServerUser* user_ = nullptr;
  bool vision_ = false;
  bool decided_ = false;
};

}  // namespace sluice::vless

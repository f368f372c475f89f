// proto/vless/server.cpp: the VLESS server handshake core.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/server.hpp"

#include "sluice/cipher.hpp"

namespace sluice::vless {

const ServerUser* find_user(std::span<const ServerUser> users, const uint8_t* id) noexcept {
  const ServerUser* found = nullptr;
  for (const ServerUser& u : users)
    if (constant_time_equal({u.id.data(), u.id.size()}, {id, kUserIdSize})) found = &u;
  return found;
}

ServerDecision ServerCore::refuse(Errc e, const char* why, RefusalCause c) const noexcept {
  ServerDecision d = ServerDecision::refuse(ServerDecision::reject, e, why, c);
  if (user_) d.user = user_->name;
  return d;
}

ServerDecision ServerCore::feed(std::span<const uint8_t> in) noexcept {
  if (in.empty()) return ServerDecision::more();
  // Authenticate first: a stranger (wrong version, unknown id) is told
  // nothing, it is handed to the fallback (vless.md section 5).
  if (in[0] != kVersion)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::unsupported_version,
                                  "request version is not 0", RefusalCause::not_protocol);
  if (in.size() < 1 + kUserIdSize) return ServerDecision::more();
  if (user_ == nullptr) {
    user_ = find_user(users_, in.data() + 1);
    if (user_ == nullptr)
      return ServerDecision::refuse(ServerDecision::fallback, Errc::auth_failed, "unknown user id",
                                    RefusalCause::auth);
  }
  auto r = parse_request(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed()) {
    const char* what = r.error == Errc::unknown_command            ? "unknown command"
                       : r.error == Errc::unsupported_address_type ? "unknown address type"
                       : r.error == Errc::malformed                ? "malformed addons or address"
                                                                   : "malformed request";
    return refuse(r.error, what, RefusalCause::malformed);
  }
  const Request& req = r.value;
  // Flow rules (Xray's inbound): the request flow must be "" or the user's
  // flow; a Vision user may not do TCP or Mux without it.
  const Flow rf = req.addons.flow();
  if (rf == Flow::other)
    return refuse(Errc::protocol_violation, "unknown flow", RefusalCause::policy);
  if (rf != Flow::none && rf != user_->flow)
    return refuse(Errc::protocol_violation, "flow not allowed for this user", RefusalCause::policy);
  if (user_->flow == Flow::vision && rf == Flow::none && req.command != Command::udp)
    return refuse(Errc::protocol_violation, "flow-less request for a Vision user",
                  RefusalCause::policy);
  if (rf == Flow::vision) {
    if (req.command == Command::udp)
      return refuse(Errc::not_supported, "Vision does not carry UDP (0x02)", RefusalCause::policy);
    // vless.md 9 step 3: Vision only over TLS 1.3.
    if (!tls13_)
      return refuse(Errc::not_supported, "Vision needs the outer TLS to be 1.3",
                    RefusalCause::policy);
  }
  if (req.command == Command::rvs)
    return refuse(Errc::not_supported, "reverse proxy is not supported", RefusalCause::policy);
  vision_ = rf == Flow::vision;
  decided_ = true;
  ServerDecision d;
  d.consumed = r.consumed;
  d.target = req.target;
  d.command = static_cast<uint8_t>(req.command);
  d.user = user_->name;
  if (req.command == Command::tcp) {
    d.kind = ServerDecision::open;
  } else {
    d.kind = ServerDecision::datagram;
    d.mode = req.command == Command::udp ? DatagramMode::stream_framed : DatagramMode::mux;
  }
  return d;
}

ServerDecision ServerCore::expired(size_t buffered) noexcept {
  // An authenticated client that stalls inside its header is closed; a
  // stranger that sent something sees the fallback.
  if (user_ == nullptr && buffered > 0)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::timed_out, "request timed out",
                                  RefusalCause::timeout);
  return refuse(Errc::timed_out, "no complete request header before the deadline",
                RefusalCause::timeout);
}

ServerDecision ServerCore::eof(size_t buffered) noexcept {
  if (buffered == 0)
    return refuse(Errc::closed, "closed before sending a request", RefusalCause::closed);
  if (user_ == nullptr)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::truncated,
                                  "end of stream inside the request", RefusalCause::truncated);
  return refuse(Errc::truncated, "end of stream inside the request header",
                RefusalCause::truncated);
}

}  // namespace sluice::vless

// proto/http_connect/proxy_core.cpp: the HTTP proxy and mixed handshake cores.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/http_connect/proxy_core.hpp"

#include "sluice/buffer.hpp"

namespace sluice::http {

// What the proxy server always looked at: past kMaxHeadSize the head
// parser has already failed (431), so a longer look never changes a decision.
size_t ProxyServerCore::max_header() const noexcept { return kClassPayload[2]; }

ServerDecision ProxyServerCore::feed(std::span<const uint8_t> in) noexcept {
  auto r = parse_proxy_request(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed()) {
    out_ = build_response(status_for_error(r.error));
    return ServerDecision::refuse(ServerDecision::reject, r.error, "http proxy request",
                                  RefusalCause::malformed);
  }
  req_ = std::move(r.value);
  if (!users_.empty()) {
    bool ok = false;
    for (const UserPass& u : users_) ok |= check_basic_auth(req_, u.username, u.password);
    if (!ok) {
      out_ = build_response(407);
      return ServerDecision::refuse(ServerDecision::reject, Errc::auth_failed,
                                    "http proxy authentication", RefusalCause::auth);
    }
  }
  if (!req_.connect) prefix_ = build_forward_head(req_);
  ServerDecision d;
  d.kind = ServerDecision::open;
  d.consumed = r.consumed;
  d.target = req_.target;
  return d;
}

ServerDecision ProxyServerCore::expired(size_t) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out, "handshake timed out",
                                RefusalCause::timeout);
}

ServerDecision ProxyServerCore::eof(size_t buffered) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, buffered ? Errc::truncated : Errc::closed,
                                "end of stream inside the request head",
                                buffered ? RefusalCause::truncated : RefusalCause::closed);
}

void ProxyServerCore::answer(Errc result, const TargetAddress&) noexcept {
  if (result != Errc::ok)
    out_ = build_response(status_for_open_error(result));
  else if (req_.connect)
    out_ = build_response(200);
}

ServerDecision MixedServerCore::feed(std::span<const uint8_t> in) noexcept {
  if (inner_ == nullptr) {
    if (in.empty()) return ServerDecision::more();
    if (in[0] == 0x05)
      inner_ = &socks_.emplace(users_, udp_);
    else
      inner_ = &http_.emplace(users_);
  }
  return inner_->feed(in);
}

ServerDecision MixedServerCore::expired(size_t buffered) noexcept {
  if (inner_) return inner_->expired(buffered);
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out, "handshake timed out",
                                RefusalCause::timeout);
}

ServerDecision MixedServerCore::eof(size_t buffered) noexcept {
  if (inner_) return inner_->eof(buffered);
  return ServerDecision::refuse(ServerDecision::reject, Errc::closed,
                                "closed before sending a request", RefusalCause::closed);
}

void MixedServerCore::answer(Errc result, const TargetAddress& bound) noexcept {
  if (inner_) inner_->answer(result, bound);
}

}  // namespace sluice::http

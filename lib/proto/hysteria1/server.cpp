// proto/hysteria1/server.cpp: Hysteria v1 server cores.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria1/server.hpp"

#include "sluice/cipher.hpp"

namespace sluice::hysteria1 {

ControlCore::Decision ControlCore::feed(std::span<const uint8_t> in) {
  Decision d;
  auto r = parse_client_hello(in);
  if (r.need_more()) return d;
  if (r.failed()) {
    d.kind = Decision::close;
    d.close_code = kCloseProtocolError;
    d.reason = kReasonProtocolError;
    d.error = r.error;
    return d;
  }
  hello_ = std::move(r.value);
  const std::span<const uint8_t> auth{reinterpret_cast<const uint8_t*>(hello_.auth.data()),
                                      hello_.auth.size()};
  for (size_t i = 0; i < auths_.size(); ++i) {
    const std::string& a = auths_[i];
    if (a.size() == auth.size() &&
        constant_time_equal({reinterpret_cast<const uint8_t*>(a.data()), a.size()}, auth) &&
        !d.accepted) {
      d.accepted = true;
      d.user = i;
    }
  }
  d.kind = Decision::answer;
  if (d.accepted) {
    d.rates = server_rates(hello_, up_, down_);
    out_.resize(server_hello_size(0));
    (void)encode_server_hello(true, d.rates.send_bps, d.rates.recv_bps, "", out_);
  } else {
    d.close_code = kCloseAuthError;
    d.reason = kReasonAuthError;
    d.error = Errc::auth_failed;
    out_.resize(server_hello_size(kReasonAuthError.size()));
    (void)encode_server_hello(false, 0, 0, kReasonAuthError, out_);
  }
  return d;
}

void ServerCore::respond(bool ok, std::string_view msg) noexcept {
  try {
    out_.resize(server_response_size(msg.size()));
  } catch (...) {
    out_.clear();
    return;
  }
  if (!encode_server_response(ok, 0, msg, out_)) out_.clear();
}

ServerDecision ServerCore::feed(std::span<const uint8_t> in) noexcept {
  auto r = parse_client_request(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed())
    return ServerDecision::refuse(ServerDecision::reject, r.error,
                                  "malformed request (udp flag, empty host or port 0)",
                                  RefusalCause::malformed);
  if (r.value.udp) {
    respond(false, kMsgUdpDisabled);
    return ServerDecision::refuse(ServerDecision::reject, Errc::not_supported,
                                  "UDP request with UDP disabled", RefusalCause::policy);
  }
  Result<TargetAddress> t = Errc::malformed;
  try {
    t = TargetAddress::from_host(r.value.host, r.value.port);
  } catch (...) {
    return ServerDecision::refuse(ServerDecision::reject, Errc::no_memory, "no memory",
                                  RefusalCause::policy);
  }
  if (!t) {
    respond(false, kMsgResolveFailed);
    return ServerDecision::refuse(ServerDecision::reject, t.error(),
                                  "request host is not an IP literal or a domain name",
                                  RefusalCause::malformed);
  }
  ServerDecision d;
  d.kind = ServerDecision::open;
  d.consumed = r.consumed;
  d.target = std::move(*t);
  d.command = 0;
  d.user = user_;
  return d;
}

ServerDecision ServerCore::expired(size_t) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out,
                                "no whole request before the deadline", RefusalCause::timeout);
}

ServerDecision ServerCore::eof(size_t buffered) noexcept {
  if (buffered > 0)
    return ServerDecision::refuse(ServerDecision::reject, Errc::truncated,
                                  "end of stream inside the request", RefusalCause::truncated);
  return ServerDecision::refuse(ServerDecision::reject, Errc::closed,
                                "stream closed before a request", RefusalCause::closed);
}

void ServerCore::answer(Errc result, const TargetAddress&) noexcept {
  if (result == Errc::ok)
    respond(true, {});
  else
    respond(false, errc_message(result));
}

}  // namespace sluice::hysteria1

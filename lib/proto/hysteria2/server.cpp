// proto/hysteria2/server.cpp: the server side of one Hysteria v2 TCP stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria2/server.hpp"

#include "proto/hysteria2/hysteria2.hpp"

namespace sluice::hysteria2 {

size_t ServerCore::max_header() const noexcept {
  // frame type, the longest address and padding, each with an 8-byte varint
  return 2 + 8 + kMaxAddress + 8 + kMaxPadding;
}

ServerDecision ServerCore::feed(std::span<const uint8_t> in) noexcept {
  auto r = parse_tcp_request(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed())
    return ServerDecision::refuse(ServerDecision::reject, r.error,
                                  r.error == Errc::unknown_command
                                      ? "not a TCP request (frame type is not 0x401)"
                                      : "malformed TCP request (address or padding)",
                                  RefusalCause::malformed);
  ServerDecision d;
  d.kind = ServerDecision::open;
  d.consumed = r.consumed;
  d.target = r.value.target;
  d.command = 1;
  d.user = user_;
  return d;
}

ServerDecision ServerCore::expired(size_t buffered) noexcept {
  (void)buffered;
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out,
                                "no whole TCP request before the deadline", RefusalCause::timeout);
}

ServerDecision ServerCore::eof(size_t buffered) noexcept {
  if (buffered > 0)
    return ServerDecision::refuse(ServerDecision::reject, Errc::truncated,
                                  "end of stream inside the TCP request", RefusalCause::truncated);
  return ServerDecision::refuse(ServerDecision::reject, Errc::closed,
                                "stream closed before a request", RefusalCause::closed);
}

void ServerCore::answer(Errc result, const TargetAddress& bound) noexcept {
  (void)bound;
  const bool ok = result == Errc::ok;
  const std::string_view msg = ok ? std::string_view("Connected") : errc_message(result);
  const size_t pad = random_padding_length(kTcpResponsePadding);
  try {
    out_.resize(tcp_response_size(msg, pad));
  } catch (...) {
    out_.clear();
    return;
  }
  auto n = encode_tcp_response(ok ? kTcpStatusOk : kTcpStatusError, msg, pad, out_);
  if (!n) out_.clear();
}

}  // namespace sluice::hysteria2

// proto/tuic/connect_core.cpp: the TUIC Connect stream core.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tuic/connect_core.hpp"

namespace sluice::tuic {

ServerDecision ConnectCore::feed(std::span<const uint8_t> in) noexcept {
  auto r = parse_command(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed())
    return ServerDecision::refuse(ServerDecision::reject, r.error,
                                  r.error == Errc::unsupported_version ? "not TUIC v5"
                                  : r.error == Errc::unknown_command   ? "unknown command"
                                                                       : "bad Connect address",
                                  RefusalCause::malformed);
  if (r.value.command != Command::connect)
    return ServerDecision::refuse(ServerDecision::reject, Errc::protocol_violation,
                                  "a bidirectional stream must carry Connect",
                                  RefusalCause::malformed);
  ServerDecision d;
  d.kind = ServerDecision::open;
  d.consumed = r.consumed;
  d.target = r.value.target;
  d.command = static_cast<uint8_t>(Command::connect);
  return d;
}

ServerDecision ConnectCore::expired(size_t buffered) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out,
                                buffered ? "Connect header timed out" : "no command on stream",
                                RefusalCause::timeout);
}

ServerDecision ConnectCore::eof(size_t buffered) noexcept {
  return ServerDecision::refuse(
      ServerDecision::reject, buffered ? Errc::truncated : Errc::closed,
      buffered ? "end of stream inside the Connect header" : "stream ended before a command",
      buffered ? RefusalCause::truncated : RefusalCause::closed);
}

}  // namespace sluice::tuic

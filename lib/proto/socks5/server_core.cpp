// proto/socks5/server_core.cpp: the SOCKS5 server handshake core.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/socks5/server_core.hpp"

#include "sluice/buffer.hpp"

namespace sluice::socks5 {

namespace {
bool same(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}
}  // namespace

bool check_user(std::span<const UserPass> users, std::string_view username,
                std::string_view password) noexcept {
  bool ok = false;
  for (const UserPass& u : users) ok |= same(u.username, username) & same(u.password, password);
  return ok;
}

// Greeting, authentication and request together stay far below this; it is
// what the proxy server always looked at, so pipelined bytes behind a
// request are never the reason for a need_more.
size_t ServerCore::max_header() const noexcept { return kClassPayload[2]; }

ServerDecision ServerCore::feed(std::span<const uint8_t> in) noexcept {
  for (;;) {
    if (offset_ > in.size()) offset_ = in.size();
    ServerStep step = hs_.feed(in.subspan(offset_));
    offset_ += step.consumed;
    switch (step.kind) {
      case ServerStep::need_more:
        // A greeting may arrive with the request pipelined behind it: feed
        // what is left before waiting for more.
        if (step.consumed > 0 && offset_ < in.size()) continue;
        return ServerDecision::more();
      case ServerStep::check_auth: {
        const bool ok = check_user(users_, hs_.username(), hs_.password());
        hs_.auth_result(ok);
        if (!ok)
          return ServerDecision::refuse(ServerDecision::reject, Errc::auth_failed,
                                        "socks5 authentication", RefusalCause::auth);
        continue;
      }
      case ServerStep::request: {
        const Request& r = hs_.request();
        if (r.command == Command::udp_associate && !udp_) {
          (void)hs_.reply(Rep::command_not_supported, TargetAddress());
          return ServerDecision::refuse(ServerDecision::reject, Errc::not_supported,
                                        "socks5 udp associate (udp disabled)",
                                        RefusalCause::policy);
        }
        ServerDecision d;
        d.kind =
            r.command == Command::udp_associate ? ServerDecision::datagram : ServerDecision::open;
        d.mode = d.kind == ServerDecision::datagram ? DatagramMode::socket : DatagramMode::none;
        d.consumed = offset_;
        d.target = r.target;
        d.command = static_cast<uint8_t>(r.command);
        d.user = hs_.username();
        return d;
      }
      case ServerStep::fail:
        return ServerDecision::refuse(ServerDecision::reject, step.error, "socks5 handshake",
                                      RefusalCause::malformed);
    }
  }
}

ServerDecision ServerCore::expired(size_t) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out, "handshake timed out",
                                RefusalCause::timeout);
}

ServerDecision ServerCore::eof(size_t buffered) noexcept {
  return ServerDecision::refuse(ServerDecision::reject, buffered ? Errc::truncated : Errc::closed,
                                "end of stream inside the handshake",
                                buffered ? RefusalCause::truncated : RefusalCause::closed);
}

void ServerCore::answer(Errc result, const TargetAddress& bound) noexcept {
  (void)hs_.reply(result == Errc::ok ? Rep::succeeded : rep_for_error(result), bound);
}

}  // namespace sluice::socks5

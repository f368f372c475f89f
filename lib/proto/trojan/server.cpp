// proto/trojan/server.cpp: the Trojan server handshake core.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/trojan/server.hpp"

#include <new>

#include "proto/trojan/udp_framing.hpp"
#include "sluice/cipher.hpp"

namespace sluice::trojan {

void TrojanUsers::add(std::string_view name, std::string_view password) {
  users_.emplace_back(hash_password(password), std::string(name));
}

const std::string* TrojanUsers::find(const PasswordHash& h) const noexcept {
  // Exactly as sent: parse_request admits lower-case hex only, as the
  // reference server does. Every user is compared (constant time overall).
  const std::string* found = nullptr;
  for (const auto& [hash, name] : users_) {
    if (constant_time_equal({reinterpret_cast<const uint8_t*>(hash.data()), hash.size()},
                            {reinterpret_cast<const uint8_t*>(h.data()), h.size()}))
      found = &name;
  }
  return found;
}

ServerDecision ServerCore::feed(std::span<const uint8_t> in) noexcept {
  auto r = parse_request(in);
  if (r.need_more()) return ServerDecision::more();
  if (r.failed())
    return ServerDecision::refuse(ServerDecision::fallback, r.error, errc_message(r.error),
                                  RefusalCause::not_protocol);
  const std::string* user = users_.find(r.value.hash);
  if (user == nullptr)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::auth_failed, "unknown password",
                                  RefusalCause::auth);
  ServerDecision d;
  d.kind =
      r.value.command == Command::udp_associate ? ServerDecision::datagram : ServerDecision::open;
  d.mode = d.kind == ServerDecision::datagram ? DatagramMode::stream_framed : DatagramMode::none;
  d.consumed = r.consumed;
  d.target = r.value.target;
  d.command = static_cast<uint8_t>(r.value.command);
  d.user = *user;
  return d;
}

ServerDecision ServerCore::expired(size_t buffered) noexcept {
  // A client that finished TLS but never sent a whole request is a prober
  // as far as we know: the fallback gets what it sent.
  if (buffered > 0)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::timed_out, "request timed out",
                                  RefusalCause::timeout);
  return ServerDecision::refuse(ServerDecision::reject, Errc::timed_out, "handshake timed out",
                                RefusalCause::timeout);
}

ServerDecision ServerCore::eof(size_t buffered) noexcept {
  if (buffered > 0)
    return ServerDecision::refuse(ServerDecision::fallback, Errc::truncated,
                                  "end of stream inside the request", RefusalCause::truncated);
  return ServerDecision::refuse(ServerDecision::reject, Errc::closed,
                                "closed before sending a request", RefusalCause::closed);
}

std::unique_ptr<DatagramFraming> ServerCore::framing() {
  return std::unique_ptr<DatagramFraming>(new (std::nothrow) UdpFraming());
}

}  // namespace sluice::trojan

// proto/trojan/server.hpp: trojan::ServerCore, the Trojan server handshake
// (request header, user check by password hash, decision), sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Decisions (trojan-gfw's server; sing-box's fallback):
//   a well-formed header with a known hash, CONNECT   open {target}
//   ... UDP ASSOCIATE                                  datagram, stream_framed
//   a malformed header (decided on the first bad byte) fallback, not_protocol
//   a well-formed header with an unknown hash          fallback, auth
//   deadline / end of stream with bytes received       fallback (timeout / truncated)
//   ... with nothing received                          reject
// The fallback replays every byte received, so a prober sees the web server
// behind. The server sends no reply (output() stays empty).
//
// Threads: one connection's object (TrojanUsers is shared read-only).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/server_handshake.hpp"
#include "proto/trojan/trojan.hpp"

namespace sluice::trojan {

// TrojanUsers maps password hashes to user names.
class TrojanUsers {
 public:
  void add(std::string_view name, std::string_view password);
  // find returns the name of the user whose hash is |h| (hex in any case),
  // comparing with every user in constant time; nullptr if none.
  const std::string* find(const PasswordHash& h) const noexcept;
  size_t size() const noexcept { return users_.size(); }

 private:
  std::vector<std::pair<PasswordHash, std::string>> users_;  // lower-case hash, name
};

class ServerCore final : public sluice::ServerCore {
 public:
  explicit ServerCore(const TrojanUsers& users) noexcept : users_(users) {}

  const char* name() const noexcept override { return "trojan"; }
  size_t max_header() const noexcept override { return kMaxRequestSize; }
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  std::unique_ptr<DatagramFraming> framing() override;

 private:
  const TrojanUsers& users_;
};

}  // namespace sluice::trojan

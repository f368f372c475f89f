// proto/hysteria1/server.hpp: the Hysteria v1 server's sans-I/O cores: the
// control-stream handshake and the request streams on the ServerDriver.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// ControlCore reads a connection's control stream (the first client-opened
// bidirectional stream) and decides: need more bytes, close the connection
// with application code 1 "protocol error" (bad version, zero rate), or
// answer a ServerHello: accepted with the negotiated rates (server_rates()
// under the server's own limits) when the auth bytes match a user, refused
// with "auth error" otherwise (the connection is then closed with code 2
// after the answer is sent). User comparison is constant-time per user.
//
// ServerCore is one request stream on the ServerDriver: a TCP ClientRequest
// opens its host:port; the ServerResponse is ok, or carries the failure
// ("host resolution failure" for a host that is neither an IP literal nor
// a valid domain, else the error's text). A UDP request reaching it (UDP
// disabled on the inbound) is answered "UDP disabled" and closed.
//
// Threading: one connection's / stream's object.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/hysteria1/hysteria1.hpp"
#include "proto/server_handshake.hpp"

namespace sluice::hysteria1 {

class ControlCore {
 public:
  struct Decision {
    enum Kind : uint8_t { need_more, answer, close } kind = need_more;
    bool accepted = false;    // answer: the user was found
    size_t user = 0;          // answer and accepted: index into the user list
    Rates rates;              // answer and accepted: what the server uses
    uint64_t close_code = 0;  // close (and a refused answer): the app code
    std::string_view reason;  // close: the reason text
    Errc error = Errc::ok;    // close: why
  };

  // |auths|: each user's auth bytes; |up|/|down|: the server's send and
  // receive limits in bytes/s (0 = none).
  ControlCore(std::vector<std::string> auths, uint64_t up, uint64_t down) noexcept
      : auths_(std::move(auths)), up_(up), down_(down) {}

  // feed decides on the control stream's bytes received so far; after a
  // decision other than need_more it is not called again. answer: output()
  // holds the ServerHello to write.
  Decision feed(std::span<const uint8_t> in);
  std::span<const uint8_t> output() const noexcept { return out_; }
  const ClientHello& hello() const noexcept { return hello_; }

 private:
  std::vector<std::string> auths_;
  uint64_t up_;
  uint64_t down_;
  ClientHello hello_;
  std::vector<uint8_t> out_;
};

class ServerCore final : public sluice::ServerCore {
 public:
  // |user|: the connection's user name (copied).
  explicit ServerCore(std::string user) noexcept : user_(std::move(user)) {}

  const char* name() const noexcept override { return "hysteria"; }
  size_t max_header() const noexcept override { return client_request_size(kMaxHost); }
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  void answer(Errc result, const TargetAddress& bound) noexcept override;
  std::span<const uint8_t> output() const noexcept override { return out_; }
  void clear_output() noexcept override { out_.clear(); }

 private:
  void respond(bool ok, std::string_view msg) noexcept;

  std::string user_;
  std::vector<uint8_t> out_;
};

}  // namespace sluice::hysteria1

// proto/socks5/handshake.hpp: the SOCKS5 handshake state machines, server
// (what a local inbound runs) and client (what a socks outbound runs).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Both are sans I/O. The owner feeds every received byte with feed(), which
// consumes a prefix (step.consumed: drop those bytes, keep the rest for the
// next call) and may queue bytes to send in output(). After each call the
// owner writes output() to the peer and calls clear_output(). Bytes after the
// last handshake frame belong to the relayed stream.
//
// Threading: one connection's object, touched by its loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "proto/socks5/socks5.hpp"

namespace sluice::socks5 {

// ServerStep is what the server state machine wants next.
struct ServerStep {
  enum Kind : uint8_t {
    need_more,   // feed more bytes
    check_auth,  // verify username()/password(), then call auth_result()
    request,     // request() is ready: dial, then call reply()
    fail,        // flush output() (may hold a last reply), then close; see error
  };
  Kind kind = need_more;
  size_t consumed = 0;
  Errc error = Errc::ok;  // for fail
};

class ServerHandshake {
 public:
  // |require_auth|: only RFC 1929 username/password is acceptable.
  explicit ServerHandshake(bool require_auth) noexcept : require_auth_(require_auth) {}

  // feed advances with the bytes received and not yet consumed. Calling it
  // while a check_auth or request step is unanswered returns fail with
  // invalid_state (a client may not pipeline past our answer).
  ServerStep feed(std::span<const uint8_t> in);

  // auth_result answers check_auth: queues the RFC 1929 status. On failure
  // the handshake is over (RFC 1929 section 2: the server closes).
  void auth_result(bool ok);
  std::string_view username() const noexcept { return auth_.username(); }
  std::string_view password() const noexcept { return auth_.password(); }

  // request is the parsed CONNECT or UDP ASSOCIATE (BIND is answered with
  // 0x07 by feed itself and yields fail / not_supported).
  const Request& request() const noexcept { return request_; }
  // reply queues the final reply. For success, |bound| is the local address
  // of the outgoing connection (CONNECT) or the UDP relay (UDP ASSOCIATE).
  Status reply(Rep rep, const TargetAddress& bound);

  std::span<const uint8_t> output() const noexcept { return {out_.data(), out_len_}; }
  void clear_output() noexcept { out_len_ = 0; }
  bool done() const noexcept { return phase_ == Phase::done; }

 private:
  enum class Phase : uint8_t {
    greeting,
    auth,
    auth_pending,
    request,
    request_pending,
    done,
    failed
  };
  void queue(std::span<const uint8_t> bytes) noexcept;
  ServerStep fail(Errc e, size_t consumed) noexcept;

  bool require_auth_;
  Phase phase_ = Phase::greeting;
  AuthRequest auth_;
  Request request_;
  // Room for everything the server ever queues (method choice, auth status,
  // final reply), so an owner that flushes late never overflows it.
  std::array<uint8_t, 2 + 2 + kMaxReplySize> out_{};
  size_t out_len_ = 0;  // queued bytes in out_
};

// ClientStep is what the client state machine wants next.
struct ClientStep {
  enum Kind : uint8_t {
    need_more,  // feed more bytes (after flushing output())
    done,       // reply() holds the success reply; the tunnel is open
    fail,       // close; error says why (auth_failed, a REP mapped by errc_for_rep, ...)
  };
  Kind kind = need_more;
  size_t consumed = 0;
  Errc error = Errc::ok;
};

class ClientHandshake {
 public:
  // |username| empty = offer no-auth only; otherwise offer both methods and
  // answer a user/pass choice with the credentials.
  ClientHandshake(Command cmd, const TargetAddress& target, std::string username,
                  std::string password);

  // start queues the greeting. invalid_argument if the credentials are too
  // long for RFC 1929 (255 bytes each).
  Status start();
  ClientStep feed(std::span<const uint8_t> in);

  // reply is the server's final reply (valid after done; after a REP failure
  // it still holds that REP).
  const Reply& reply() const noexcept { return reply_; }

  std::span<const uint8_t> output() const noexcept { return {out_.data(), out_len_}; }
  void clear_output() noexcept { out_len_ = 0; }

 private:
  enum class Phase : uint8_t { init, method, auth, reply, done, failed };
  Status queue_request();
  ClientStep fail(Errc e) noexcept;

  Command cmd_;
  TargetAddress target_;
  std::string username_;
  std::string password_;
  Phase phase_ = Phase::init;
  Reply reply_;
  // Room for greeting, auth request and request together (see ServerHandshake).
  std::array<uint8_t, 4 + kMaxAuthRequestSize + kMaxRequestSize> out_{};
  size_t out_len_ = 0;
};

}  // namespace sluice::socks5

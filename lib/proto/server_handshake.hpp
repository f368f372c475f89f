// proto/server_handshake.hpp: ServerCore, the one shape of every protocol's
// server handshake, and ServerDecision, what it decides.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Sans I/O: no socket, no clock, no libuv. The server driver
// (lib/inbound/server_driver.hpp) owns the connection, the handshake
// deadline, the Router and the fallback; a core only reads bytes and
// decides. The driver:
//
//   1. feeds feed() every byte received and not yet consumed, as one
//      contiguous span of at most max_header() bytes (the core never needs
//      more to decide), after each read;
//   2. writes output() to the client after every call that may queue bytes
//      (feed, answer) and then calls clear_output();
//   3. acts on the decision:
//        need_more  keep reading (under the deadline);
//        open       consume |consumed| bytes, open a stream to |target|
//                   through the Router, write target_prefix() and then the
//                   bytes that followed the header to it, call answer() with
//                   the result, flush output(), relay;
//        datagram   consume |consumed| bytes, start a DatagramRelay with
//                   framing() (or the protocol's datagram port), answer();
//        fallback   hand the connection, with every byte received so far
//                   (nothing consumed), to the fallback server, if any;
//        reject     flush output() (it may hold a last reply) and close;
//   4. at the deadline calls expired(), at the client's end of stream inside
//      the handshake calls eof(); both return fallback or reject.
//
// |reason| strings are static (string literals), |error| the specific Errc;
// |cause| classifies a refusal for the inbound's counters.
//
// Threads: one connection's object, touched by its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "proto/datagram_framing.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice {

// RefusalCause classifies a fallback or reject.
enum class RefusalCause : uint8_t {
  none,
  not_protocol,  // the bytes are not this protocol (fallback material)
  auth,          // well formed, unknown credentials
  malformed,     // a known client's header does not parse
  policy,        // well formed and authenticated, but not allowed
  timeout,       // no complete header before the deadline
  truncated,     // end of stream inside the header
  closed,        // the client went away before sending anything
};

// DatagramMode says how a datagram decision carries UDP.
enum class DatagramMode : uint8_t {
  none,
  stream_framed,  // datagrams framed inside the client stream (framing())
  mux,            // VLESS XUDP (Mux.Cool session 0): the flow opens on the first frame
  socket,         // a separate UDP socket (SOCKS5 UDP ASSOCIATE)
};

struct ServerDecision {
  enum Kind : uint8_t { need_more, open, datagram, fallback, reject };
  Kind kind = need_more;
  size_t consumed = 0;    // header bytes (open, datagram)
  TargetAddress target;   // open, datagram (the stream's target; ignored by some)
  uint8_t command = 0;    // the protocol's command byte, for logs
  std::string_view user;  // the authenticated user's name ("" without auth); borrowed
  DatagramMode mode = DatagramMode::none;  // datagram
  Errc error = Errc::ok;                   // fallback, reject
  const char* reason = "";                 // fallback, reject: static text
  RefusalCause cause = RefusalCause::none;

  static ServerDecision more() noexcept { return {}; }
  static ServerDecision refuse(Kind k, Errc e, const char* why, RefusalCause c) noexcept {
    ServerDecision d;
    d.kind = k;
    d.error = e;
    d.reason = why;
    d.cause = c;
    return d;
  }
};

// UserPass is one username/password pair (SOCKS5 RFC 1929, HTTP Basic).
struct UserPass {
  std::string username;
  std::string password;
};

class ServerCore {
 public:
  virtual ~ServerCore() = default;

  // name: the protocol's name in logs ("trojan", "vless", "socks5", "http").
  virtual const char* name() const noexcept = 0;
  // max_header: the most bytes feed() ever needs to see at once.
  virtual size_t max_header() const noexcept = 0;
  // feed decides on the bytes received so far (see above). After a decision
  // other than need_more, feed is not called again.
  virtual ServerDecision feed(std::span<const uint8_t> in) noexcept = 0;
  // expired: the handshake deadline passed with |buffered| bytes received
  // and not consumed. fallback or reject.
  virtual ServerDecision expired(size_t buffered) noexcept = 0;
  // eof: the client ended its stream inside the handshake.
  virtual ServerDecision eof(size_t buffered) noexcept = 0;

  // answer: the driver's result for an open or datagram decision: ok with
  // |bound| the local address (SOCKS5 reports it; others ignore it), or the
  // error that failed it. Queues the reply, if the protocol has one.
  virtual void answer(Errc result, const TargetAddress& bound) noexcept {
    (void)result;
    (void)bound;
  }
  // output: bytes to send to the client now; clear_output after sending.
  virtual std::span<const uint8_t> output() const noexcept { return {}; }
  virtual void clear_output() noexcept {}
  // target_prefix: bytes the opened stream gets before the client's (the
  // rewritten head of a forwarded HTTP request); empty for most.
  virtual std::string_view target_prefix() const noexcept { return {}; }
  // framing: a new framing for a stream_framed datagram decision (nullptr
  // where the core leaves it to its inbound).
  virtual std::unique_ptr<DatagramFraming> framing() { return nullptr; }
};

}  // namespace sluice

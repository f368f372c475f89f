// dialer.hpp: Dial, one outgoing TCP connection attempt to host:port.
//
// Resolves with uv_getaddrinfo (skipped for IP literals), then connects in
// the Happy Eyeballs v2 manner (RFC 8305 §5): addresses interleaved by
// family starting with IPv6, a new attempt every attempt_delay_ms or as soon
// as the previous one fails, the first connection wins and the others are
// closed. The whole dial is bounded by connect_timeout_ms.
//
// Lifetime: a Dial frees itself after delivering its result, or after
// cancel() once its handles have closed; nothing is called back after
// cancel(). Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "net/tcp_transport.hpp"
#include "sluice/engine.hpp"

namespace sluice::net {

struct DialOptions {
  uint64_t connect_timeout_ms = 10000;
  uint64_t attempt_delay_ms = 250;  // RFC 8305 §5 "Connection Attempt Delay"
  bool nodelay = true;
  unsigned keepalive_s = 0;  // 0 = keep-alive off
  bool fast_open = false;    // TCP_FASTOPEN_CONNECT where the kernel has it
};

class DialHandler {
 public:
  virtual ~DialHandler() = default;
  // on_dial delivers the connected transport or the error; |reason| (borrowed)
  // says why in words, e.g. "127.0.0.1:9: connection refused".
  virtual void on_dial(Result<std::unique_ptr<TcpTransport>> t, const char* reason) = 0;
};

class Dial {
 public:
  // start begins dialing; the handler is called exactly once (possibly before
  // start returns, e.g. for an invalid port) unless cancel() is called first.
  static Dial* start(Engine& e, std::string_view host, uint16_t port, const DialOptions& o,
                     DialHandler* h) noexcept;
  // cancel stops the dial; no callback follows.
  void cancel() noexcept;

 private:
  struct Impl;
  explicit Dial(Impl* impl) : impl_(impl) {}
  Impl* impl_;
  friend struct Impl;
};

}  // namespace sluice::net

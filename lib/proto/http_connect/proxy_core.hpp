// proto/http_connect/proxy_core.hpp: http::ProxyServerCore (the HTTP proxy
// handshake: CONNECT and absolute-form requests) and http::MixedServerCore
// (SOCKS5 if the first byte is 0x05, else HTTP), in the ServerCore shape.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// HTTP decisions: a complete head is open {target}; a forwarded request's
// rewritten head is target_prefix() (the bytes after the head follow it
// unchanged, see proxy_server.hpp); a parse error or missing/wrong Basic
// credentials is reject with the error response (status_for_error, 407)
// queued in output(). answer() queues "200 Connection established" for
// CONNECT, nothing for a forwarded request, and the error's status on a
// failed open. The deadline and an early end of stream are reject.
//
// Threads: one connection's object (the users are shared read-only).
#pragma once

#include <optional>
#include <span>
#include <string>

#include "proto/http_connect/proxy_server.hpp"
#include "proto/server_handshake.hpp"
#include "proto/socks5/server_core.hpp"

namespace sluice::http {

class ProxyServerCore final : public ServerCore {
 public:
  explicit ProxyServerCore(std::span<const UserPass> users) noexcept : users_(users) {}

  const char* name() const noexcept override { return "http"; }
  size_t max_header() const noexcept override;
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  void answer(Errc result, const TargetAddress& bound) noexcept override;
  std::span<const uint8_t> output() const noexcept override {
    return {reinterpret_cast<const uint8_t*>(out_.data()), out_.size()};
  }
  void clear_output() noexcept override { out_.clear(); }
  std::string_view target_prefix() const noexcept override { return prefix_; }

  const ProxyRequest& request() const noexcept { return req_; }

 private:
  std::span<const UserPass> users_;
  ProxyRequest req_;
  std::string out_;
  std::string prefix_;
};

class MixedServerCore final : public ServerCore {
 public:
  MixedServerCore(std::span<const UserPass> users, bool allow_udp) noexcept
      : users_(users), udp_(allow_udp) {}

  const char* name() const noexcept override { return inner_ ? inner_->name() : "mixed"; }
  size_t max_header() const noexcept override { return kClassPayload[2]; }
  ServerDecision feed(std::span<const uint8_t> in) noexcept override;
  ServerDecision expired(size_t buffered) noexcept override;
  ServerDecision eof(size_t buffered) noexcept override;
  void answer(Errc result, const TargetAddress& bound) noexcept override;
  std::span<const uint8_t> output() const noexcept override {
    return inner_ ? inner_->output() : std::span<const uint8_t>();
  }
  void clear_output() noexcept override {
    if (inner_) inner_->clear_output();
  }
  std::string_view target_prefix() const noexcept override {
    return inner_ ? inner_->target_prefix() : std::string_view();
  }

 private:
  std::span<const UserPass> users_;
  bool udp_;
  std::optional<socks5::ServerCore> socks_;
  std::optional<ProxyServerCore> http_;
  ServerCore* inner_ = nullptr;  // the one chosen by the first byte
};

}  // namespace sluice::http

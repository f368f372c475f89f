// proto/socks5/handshake.cpp: SOCKS5 server and client handshakes (RFC 1928
// sections 3-6, RFC 1929).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/socks5/handshake.hpp"

#include <cstring>

#include "core/check.hpp"

namespace sluice::socks5 {

// --- server ----------------------------------------------------------------

void ServerHandshake::queue(std::span<const uint8_t> bytes) noexcept {
  SLUICE_CHECK(out_len_ + bytes.size() <= out_.size());
  std::memcpy(out_.data() + out_len_, bytes.data(), bytes.size());
  out_len_ += bytes.size();
}

ServerStep ServerHandshake::fail(Errc e, size_t consumed) noexcept {
  phase_ = Phase::failed;
  return ServerStep{ServerStep::fail, consumed, e};
}

ServerStep ServerHandshake::feed(std::span<const uint8_t> in) {
  size_t used = 0;
  for (;;) {
    std::span<const uint8_t> rest = in.subspan(used);
    switch (phase_) {
      case Phase::greeting: {
        auto g = parse_greeting(rest);
        if (g.failed()) return fail(g.error, used);
        if (g.need_more()) return ServerStep{ServerStep::need_more, used, Errc::ok};
        used += g.consumed;
        uint8_t m = choose_method(g.value, require_auth_);
        auto reply = method_choice(m);
        queue(reply);
        // RFC 1928 section 3: after 0xFF the client must close; so do we.
        if (m == kMethodNoAcceptable) return fail(Errc::auth_failed, used);
        phase_ = m == kMethodUserPass ? Phase::auth : Phase::request;
        break;
      }
      case Phase::auth: {
        auto a = parse_auth_request(rest);
        if (a.failed()) return fail(a.error, used);
        if (a.need_more()) return ServerStep{ServerStep::need_more, used, Errc::ok};
        used += a.consumed;
        auth_ = a.value;
        phase_ = Phase::auth_pending;
        return ServerStep{ServerStep::check_auth, used, Errc::ok};
      }
      case Phase::request: {
        auto r = parse_request(rest);
        if (r.failed()) {
          // Parse errors with a REP code get that reply before the close
          // (RFC 1928 section 6); a bad version or garbage gets nothing.
          if (r.error == Errc::unknown_command || r.error == Errc::unsupported_address_type) {
            uint8_t buf[kMaxReplySize];
            auto n = build_reply(rep_for_error(r.error), TargetAddress(), buf);
            if (n) queue({buf, *n});
          }
          return fail(r.error, used);
        }
        if (r.need_more()) return ServerStep{ServerStep::need_more, used, Errc::ok};
        used += r.consumed;
        request_ = r.value;
        if (request_.command == Command::bind) {
          uint8_t buf[kMaxReplySize];
          auto n = build_reply(Rep::command_not_supported, TargetAddress(), buf);
          if (n) queue({buf, *n});
          return fail(Errc::not_supported, used);
        }
        phase_ = Phase::request_pending;
        return ServerStep{ServerStep::request, used, Errc::ok};
      }
      case Phase::done:
        // Payload after the reply is not ours; consume nothing.
        return ServerStep{ServerStep::need_more, 0, Errc::ok};
      case Phase::auth_pending:
      case Phase::request_pending:
      case Phase::failed:
        return ServerStep{ServerStep::fail, used, Errc::invalid_state};
    }
  }
}

void ServerHandshake::auth_result(bool ok) {
  if (phase_ != Phase::auth_pending) return;
  queue(auth_status(ok));
  phase_ = ok ? Phase::request : Phase::failed;
}

Status ServerHandshake::reply(Rep rep, const TargetAddress& bound) {
  if (phase_ != Phase::request_pending) return Errc::invalid_state;
  uint8_t buf[kMaxReplySize];
  auto n = build_reply(rep, bound, buf);
  if (!n) return n.error();
  queue({buf, *n});
  phase_ = rep == Rep::succeeded ? Phase::done : Phase::failed;
  return {};
}

// --- client ----------------------------------------------------------------

ClientHandshake::ClientHandshake(Command cmd, const TargetAddress& target, std::string username,
                                 std::string password)
    : cmd_(cmd), target_(target), username_(std::move(username)), password_(std::move(password)) {}

Status ClientHandshake::start() {
  if (phase_ != Phase::init) return Errc::invalid_state;
  if (username_.size() > 255 || password_.size() > 255) return Errc::invalid_argument;
  auto n = build_greeting(!username_.empty(), out_);
  if (!n) return n.error();
  out_len_ = *n;
  phase_ = Phase::method;
  return {};
}

Status ClientHandshake::queue_request() {
  auto n = build_request(cmd_, target_, std::span<uint8_t>(out_).subspan(out_len_));
  if (!n) return n.error();
  out_len_ += *n;
  phase_ = Phase::reply;
  return {};
}

ClientStep ClientHandshake::fail(Errc e) noexcept {
  phase_ = Phase::failed;
  return ClientStep{ClientStep::fail, 0, e};
}

ClientStep ClientHandshake::feed(std::span<const uint8_t> in) {
  size_t used = 0;
  for (;;) {
    std::span<const uint8_t> rest = in.subspan(used);
    switch (phase_) {
      case Phase::method: {
        auto m = parse_method_choice(rest);
        if (m.failed()) return fail(m.error);
        if (m.need_more()) return ClientStep{ClientStep::need_more, used, Errc::ok};
        used += m.consumed;
        if (m.value == kMethodNoAuth) {
          if (auto s = queue_request(); !s) return fail(s.error());
        } else if (m.value == kMethodUserPass && !username_.empty()) {
          auto n =
              build_auth_request(username_, password_, std::span<uint8_t>(out_).subspan(out_len_));
          if (!n) return fail(n.error());
          out_len_ += *n;
          phase_ = Phase::auth;
        } else if (m.value == kMethodNoAcceptable) {
          return fail(Errc::auth_failed);
        } else {
          // The server chose a method we never offered.
          return fail(Errc::protocol_violation);
        }
        break;
      }
      case Phase::auth: {
        auto a = parse_auth_status(rest);
        if (a.failed()) return fail(a.error);
        if (a.need_more()) return ClientStep{ClientStep::need_more, used, Errc::ok};
        used += a.consumed;
        if (!a.value) return fail(Errc::auth_failed);
        if (auto s = queue_request(); !s) return fail(s.error());
        break;
      }
      case Phase::reply: {
        auto r = parse_reply(rest);
        if (r.failed()) return fail(r.error);
        if (r.need_more()) return ClientStep{ClientStep::need_more, used, Errc::ok};
        used += r.consumed;
        reply_ = r.value;
        if (reply_.rep != Rep::succeeded) return fail(errc_for_rep(reply_.rep));
        phase_ = Phase::done;
        return ClientStep{ClientStep::done, used, Errc::ok};
      }
      case Phase::done:
        return ClientStep{ClientStep::done, 0, Errc::ok};
      case Phase::init:
      case Phase::failed:
        return ClientStep{ClientStep::fail, 0, Errc::invalid_state};
    }
  }
}

}  // namespace sluice::socks5

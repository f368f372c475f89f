// proto/socks5/socks5.cpp: SOCKS5 frame parsers and builders (RFC 1928,
// RFC 1929).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/socks5/socks5.hpp"

#include <cstring>

namespace sluice::socks5 {

bool Greeting::offers(uint8_t method) const noexcept {
  for (size_t i = 0; i < nmethods; ++i) {
    if (methods[i] == method) return true;
  }
  return false;
}

ParseResult<Greeting> parse_greeting(std::span<const uint8_t> in) {
  using R = ParseResult<Greeting>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  // NMETHODS is 1..255 (RFC 1928 section 3); a client offering nothing can
  // never be served.
  if (in[1] == 0) return R::fail(Errc::malformed);
  size_t total = 2 + size_t{in[1]};
  if (in.size() < total) return R::more();
  Greeting g;
  g.nmethods = in[1];
  std::memcpy(g.methods.data(), in.data() + 2, g.nmethods);
  return R::ok(g, total);
}

uint8_t choose_method(const Greeting& g, bool require_auth) noexcept {
  uint8_t want = require_auth ? kMethodUserPass : kMethodNoAuth;
  return g.offers(want) ? want : kMethodNoAcceptable;
}

std::array<uint8_t, 2> method_choice(uint8_t method) noexcept { return {kVersion, method}; }

ParseResult<AuthRequest> parse_auth_request(std::span<const uint8_t> in) {
  using R = ParseResult<AuthRequest>;
  if (in.empty()) return R::more();
  if (in[0] != kAuthVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  if (in[1] == 0) return R::fail(Errc::malformed);  // ULEN is 1..255 (RFC 1929 section 2)
  size_t ulen = in[1];
  if (in.size() < 2 + ulen + 1) return R::more();
  size_t plen = in[2 + ulen];
  size_t total = 3 + ulen + plen;
  if (in.size() < total) return R::more();
  AuthRequest a;
  a.ulen = static_cast<uint8_t>(ulen);
  a.plen = static_cast<uint8_t>(plen);
  std::memcpy(a.user.data(), in.data() + 2, ulen);
  std::memcpy(a.pass.data(), in.data() + 3 + ulen, plen);
  return R::ok(a, total);
}

std::array<uint8_t, 2> auth_status(bool ok) noexcept {
  return {kAuthVersion, static_cast<uint8_t>(ok ? 0x00 : 0x01)};
}

ParseResult<Request> parse_request(std::span<const uint8_t> in) {
  using R = ParseResult<Request>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  if (in[1] < 0x01 || in[1] > 0x03) return R::fail(Errc::unknown_command);
  if (in.size() < 3) return R::more();
  if (in[2] != 0x00) return R::fail(Errc::malformed);  // RSV (RFC 1928 section 4)
  auto addr = TargetAddress::decode_socks(in.subspan(3));
  if (addr.failed()) return R::fail(addr.error);
  if (addr.need_more()) return R::more();
  Request r;
  r.command = static_cast<Command>(in[1]);
  r.target = addr.value;
  return R::ok(r, 3 + addr.consumed);
}

Result<size_t> build_reply(Rep rep, const TargetAddress& bound, std::span<uint8_t> out) {
  if (out.size() < 3 + bound.socks_size()) return Errc::buffer_too_small;
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(rep);
  out[2] = 0x00;
  auto n = bound.encode_socks(out.subspan(3));
  if (!n) return n.error();
  return 3 + *n;
}

Rep rep_for_error(Errc e) noexcept {
  switch (e) {
    case Errc::ok:
      return Rep::succeeded;
    case Errc::unknown_command:
    case Errc::not_supported:
      return Rep::command_not_supported;
    case Errc::unsupported_address_type:
      return Rep::address_type_not_supported;
    case Errc::connection_refused:
      return Rep::connection_refused;
    case Errc::host_unreachable:
    case Errc::dns_failure:
      return Rep::host_unreachable;
    case Errc::network_unreachable:
      return Rep::network_unreachable;
    // RFC 1928 names no timeout code; 0x06 "TTL expired" is what Dante and
    // sing-box send for a dial timeout.
    case Errc::timed_out:
      return Rep::ttl_expired;
    case Errc::auth_failed:
      return Rep::not_allowed;
    default:
      return Rep::general_failure;
  }
}

Result<size_t> build_greeting(bool offer_user_pass, std::span<uint8_t> out) {
  size_t n = offer_user_pass ? 4 : 3;
  if (out.size() < n) return Errc::buffer_too_small;
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(n - 2);
  out[2] = kMethodNoAuth;
  if (offer_user_pass) out[3] = kMethodUserPass;
  return n;
}

ParseResult<uint8_t> parse_method_choice(std::span<const uint8_t> in) {
  using R = ParseResult<uint8_t>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  return R::ok(in[1], 2);
}

Result<size_t> build_auth_request(std::string_view username, std::string_view password,
                                  std::span<uint8_t> out) {
  if (username.empty() || username.size() > 255 || password.size() > 255) {
    return Errc::invalid_argument;
  }
  size_t n = 3 + username.size() + password.size();
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = kAuthVersion;
  *p++ = static_cast<uint8_t>(username.size());
  std::memcpy(p, username.data(), username.size());
  p += username.size();
  *p++ = static_cast<uint8_t>(password.size());
  if (!password.empty()) std::memcpy(p, password.data(), password.size());
  return n;
}

ParseResult<bool> parse_auth_status(std::span<const uint8_t> in) {
  using R = ParseResult<bool>;
  if (in.empty()) return R::more();
  if (in[0] != kAuthVersion && in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  return R::ok(in[1] == 0x00, 2);
}

Result<size_t> build_request(Command cmd, const TargetAddress& target, std::span<uint8_t> out) {
  if (out.size() < 3 + target.socks_size()) return Errc::buffer_too_small;
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(cmd);
  out[2] = 0x00;
  auto n = target.encode_socks(out.subspan(3));
  if (!n) return n.error();
  return 3 + *n;
}

ParseResult<Reply> parse_reply(std::span<const uint8_t> in) {
  using R = ParseResult<Reply>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  if (in[1] > 0x08) return R::fail(Errc::malformed);
  if (in.size() < 3) return R::more();
  if (in[2] != 0x00) return R::fail(Errc::malformed);
  auto addr = TargetAddress::decode_socks(in.subspan(3));
  if (addr.failed()) return R::fail(addr.error);
  if (addr.need_more()) return R::more();
  Reply r;
  r.rep = static_cast<Rep>(in[1]);
  r.bound = addr.value;
  return R::ok(r, 3 + addr.consumed);
}

Errc errc_for_rep(Rep rep) noexcept {
  switch (rep) {
    case Rep::succeeded:
      return Errc::ok;
    case Rep::not_allowed:
      return Errc::auth_failed;
    case Rep::network_unreachable:
      return Errc::network_unreachable;
    case Rep::host_unreachable:
      return Errc::host_unreachable;
    case Rep::connection_refused:
      return Errc::connection_refused;
    case Rep::ttl_expired:
      return Errc::timed_out;
    case Rep::command_not_supported:
      return Errc::not_supported;
    case Rep::address_type_not_supported:
      return Errc::unsupported_address_type;
    case Rep::general_failure:
      break;
  }
  return Errc::protocol_violation;
}

}  // namespace sluice::socks5

// proto/http_connect/connect_client.cpp: HTTP CONNECT client frames.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/http_connect/connect_client.hpp"

#include "proto/base64.hpp"

namespace sluice::http {

Result<std::string> build_connect_request(const TargetAddress& target,
                                          const ConnectRequestOptions& opts) {
  if (opts.username.find(':') != std::string::npos) return Errc::invalid_argument;
  if (!valid_field_value(opts.username) || !valid_field_value(opts.password) ||
      !valid_field_value(opts.user_agent)) {
    return Errc::invalid_argument;
  }
  for (const Header& h : opts.headers) {
    if (!valid_field_name(h.name) || !valid_field_value(h.value)) return Errc::invalid_argument;
  }
  std::string authority = target.to_string();
  std::string out;
  out.reserve(128 + authority.size() * 2);
  out += "CONNECT ";
  out += authority;
  out += " HTTP/1.1\r\nHost: ";
  out += authority;
  out += "\r\n";
  if (!opts.user_agent.empty()) {
    out += "User-Agent: ";
    out += opts.user_agent;
    out += "\r\n";
  }
  if (!opts.username.empty()) {
    out += "Proxy-Authorization: Basic ";
    out += base64_encode(opts.username + ":" + opts.password);
    out += "\r\n";
  }
  for (const Header& h : opts.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

ParseResult<ResponseHead> parse_connect_response(std::span<const uint8_t> in) {
  using R = ParseResult<ResponseHead>;
  size_t skipped = 0;
  for (;;) {
    auto r = parse_response_head(in.subspan(skipped));
    if (r.failed()) return r;
    if (r.need_more()) return R::more();
    if (r.value.status >= 200) {
      r.consumed += skipped;
      return r;
    }
    // 1xx: informational, the final answer follows (RFC 9110 section 15.2).
    skipped += r.consumed;
    if (skipped > kMaxHeadSize) return R::fail(Errc::frame_too_large);
  }
}

Errc errc_for_status(int status) noexcept {
  if (status >= 200 && status < 300) return Errc::ok;
  switch (status) {
    case 403:
    case 407:
      return Errc::auth_failed;
    case 502:
    case 503:
      return Errc::connection_refused;
    case 504:
      return Errc::timed_out;
    default:
      return Errc::protocol_violation;
  }
}

}  // namespace sluice::http

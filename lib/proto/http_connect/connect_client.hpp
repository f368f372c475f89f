// proto/http_connect/connect_client.hpp: the client side of HTTP CONNECT
// (RFC 9110 section 9.3.6), for the http outbound. Sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The outbound sends build_connect_request(...), feeds the response bytes to
// parse_connect_response until done, then checks errc_for_status(status):
// any 2xx opens the tunnel and the bytes after |consumed| are already tunnel
// data (a 2xx CONNECT response has no body).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/http_connect/http_head.hpp"
#include "proto/target_address.hpp"

namespace sluice::http {

struct ConnectRequestOptions {
  std::string username;  // empty = no Proxy-Authorization
  std::string password;
  std::vector<Header> headers;  // extra fields, sent in order after Host
  std::string user_agent;       // empty = no User-Agent field
};

// build_connect_request makes "CONNECT host:port HTTP/1.1" with Host, the
// optional Basic Proxy-Authorization and the extra fields. invalid_argument if
// a field name is not a token or a value holds CR, LF or another control byte
// (header injection), or the username holds ':' (RFC 7617 section 2).
Result<std::string> build_connect_request(const TargetAddress& target,
                                          const ConnectRequestOptions& opts);

// parse_connect_response parses the proxy's answer. Interim 1xx responses
// are skipped (their bytes count in |consumed|); the value is the final head.
ParseResult<ResponseHead> parse_connect_response(std::span<const uint8_t> in);

// errc_for_status: ok for 2xx; 407 and 403 auth_failed; 502 and 503
// connection_refused; 504 timed_out; anything else protocol_violation.
Errc errc_for_status(int status) noexcept;

}  // namespace sluice::http

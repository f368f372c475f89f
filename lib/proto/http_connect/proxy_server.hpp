// proto/http_connect/proxy_server.hpp: the server side of an HTTP proxy
// (RFC 9110 section 9.3.6 CONNECT, RFC 9112 section 3.2.2 absolute-form),
// sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// An inbound feeds the received bytes to parse_proxy_request until it is done,
// then either
//   - CONNECT: checks credentials, dials request.target, sends
//     build_response(200) and relays the bytes after |consumed| both ways; or
//   - a plain request in absolute form (GET http://host/path): dials the
//     target, sends build_forward_head(request) and then relays everything
//     after |consumed| (the body and whatever follows) unchanged.
// A forwarded request carries "Connection: close" (or keeps a WebSocket
// upgrade): the proxy relays bytes after the first head without parsing
// them, so the next request on that connection must not reuse it (a client
// reconnects). On failure the inbound sends build_response(status_for_error(e))
// and closes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/http_connect/http_head.hpp"
#include "proto/target_address.hpp"

namespace sluice::http {

struct ProxyRequest {
  bool connect = false;  // CONNECT (tunnel) vs forwarded request
  TargetAddress target;  // where to dial
  std::string method;
  std::string authority;  // host[:port] as written in the request-target (for Host)
  std::string path;       // origin-form path?query for a forwarded request; empty for CONNECT
  int version_minor = 1;
  std::vector<Header> headers;  // as received
};

// parse_proxy_request parses a request head and interprets it for a proxy:
// CONNECT needs authority-form "host:port" with a port 1..65535; other
// methods need an "http://" absolute-form target (default port 80). Errors:
// those of parse_request_head, plus malformed (bad target, userinfo in the
// URI, origin-form) and not_supported (a scheme other than http, e.g. an
// https:// URI, which must arrive as CONNECT).
ParseResult<ProxyRequest> parse_proxy_request(std::span<const uint8_t> in);

// build_forward_head rewrites a forwarded request to origin form: request
// line "METHOD /path HTTP/1.x", Host set to the URI's authority (RFC 9112
// section 3.2.2 makes the proxy replace it), hop-by-hop fields removed
// (RFC 9110 section 7.6.1: Connection and what it lists, Proxy-Connection,
// Keep-Alive, TE, Trailer, Proxy-Authorization, Proxy-Authenticate, and
// Upgrade unless it is a WebSocket upgrade), then Connection: close (or
// Connection: Upgrade for WebSocket). Transfer-Encoding is kept: the body is
// relayed byte for byte, so its framing must reach the origin unchanged.
std::string build_forward_head(const ProxyRequest& req);

// Credentials of a Basic Proxy-Authorization (RFC 7617).
struct Credentials {
  std::string username;
  std::string password;
};

// parse_basic_credentials decodes "Basic <base64(user:pass)>" (scheme
// case-insensitive). malformed for another scheme, bad Base64 or no colon.
Result<Credentials> parse_basic_credentials(std::string_view header_value);
// check_basic_auth reports whether |req| carries Proxy-Authorization with
// exactly these credentials (compared in constant time).
bool check_basic_auth(const ProxyRequest& req, std::string_view username,
                      std::string_view password);

// build_response makes a complete response head for a proxy reply: 200 is
// "HTTP/1.1 200 Connection established" with no other fields; errors carry
// Content-Length: 0 and Connection: close; 407 adds Proxy-Authenticate:
// Basic realm="<realm>".
std::string build_response(int status, std::string_view realm = "sluice");
// reason_phrase returns the standard phrase for the statuses sluice sends.
std::string_view reason_phrase(int status) noexcept;
// status_for_error maps a parse or dial error to the status to answer:
// frame_too_large/limit_exceeded 431, auth_failed 407, not_supported 405,
// timed_out 504, dial errors 502, anything else 400.
int status_for_error(Errc e) noexcept;
// status_for_open_error maps the failure of an open (the dial through the
// outbound) to its status: running out of a resource on the proxy's side
// (limit_exceeded, no_memory, frame_too_large) is 503, not the request-head
// 431; everything else as status_for_error.
int status_for_open_error(Errc e) noexcept;

}  // namespace sluice::http

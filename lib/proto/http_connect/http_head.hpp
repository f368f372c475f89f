// proto/http_connect/http_head.hpp: HTTP/1.x message heads (RFC 9112), the
// part of HTTP a forward proxy and a CONNECT client need. Sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A head is the start line and header fields up to the empty line. Bodies are
// never parsed here: a proxy relays them as bytes. Parsers take everything
// received so far; the head must end within kMaxHeadSize bytes and hold at
// most kMaxHeaders fields, so a peer cannot make us buffer without bound.
//
// Line endings: CRLF, or a bare LF (RFC 9112 section 2.2 allows recognising
// it). Strictness against request smuggling: whitespace between a field name
// and the colon, obsolete line folding and control bytes are malformed
// (RFC 9112 sections 5.1, 5.2).
//
// Errors: need more / frame_too_large (head over 8 KiB: answer 431) /
// limit_exceeded (over 100 fields: 431) / unsupported_version (not HTTP/1.x:
// 400 or 505) / malformed (400).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/parse_result.hpp"

namespace sluice::http {

inline constexpr size_t kMaxHeadSize = 8 * 1024;
inline constexpr size_t kMaxHeaders = 100;

// Header is one field as received (name case preserved, value trimmed of
// surrounding whitespace).
struct Header {
  std::string name;
  std::string value;
};

struct RequestHead {
  std::string method;     // a token, case-sensitive (RFC 9110 section 9.1)
  std::string target;     // request-target as received
  int version_minor = 1;  // HTTP/1.<minor>; 0 or 1
  std::vector<Header> headers;
};

struct ResponseHead {
  int version_minor = 1;
  int status = 0;  // 100..999
  std::string reason;
  std::vector<Header> headers;
};

ParseResult<RequestHead> parse_request_head(std::span<const uint8_t> in);
ParseResult<ResponseHead> parse_response_head(std::span<const uint8_t> in);

// iequals compares ASCII case-insensitively (field names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;
// find_header returns the first field named |name| (case-insensitive), or nullptr.
const Header* find_header(const std::vector<Header>& headers, std::string_view name) noexcept;
// has_token reports whether the comma-separated list |value| holds |token|
// (case-insensitive), as in Connection: keep-alive, Upgrade (RFC 9110 5.6.1).
bool has_token(std::string_view value, std::string_view token) noexcept;
// valid_field_name / valid_field_value check user-supplied fields before they
// go on the wire (no CR/LF injection).
bool valid_field_name(std::string_view name) noexcept;
bool valid_field_value(std::string_view value) noexcept;

}  // namespace sluice::http

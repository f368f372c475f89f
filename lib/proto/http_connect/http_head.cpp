// proto/http_connect/http_head.cpp: HTTP/1.x head parsing (RFC 9112 sections
// 2-5).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/http_connect/http_head.hpp"

#include <cstring>

namespace sluice::http {
namespace {

// tchar, RFC 9110 section 5.6.2.
bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// find_head_end locates the empty line ending the head and returns the index
// just past it, or 0 if it has not arrived. Leading empty lines were already
// skipped, so the head is not empty.
size_t find_head_end(std::string_view s) noexcept {
  size_t pos = 0;
  while (true) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos) return 0;
    size_t next = nl + 1;
    if (next < s.size() && s[next] == '\n') return next + 1;
    if (next + 1 < s.size() && s[next] == '\r' && s[next + 1] == '\n') return next + 2;
    if (next >= s.size() || (next + 1 >= s.size() && s[next] == '\r')) return 0;
    pos = next;
  }
}

// Lines splits a head into lines without their terminators.
class Lines {
 public:
  explicit Lines(std::string_view head) : rest_(head) {}
  bool next(std::string_view* line) noexcept {
    size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) return false;
    std::string_view l = rest_.substr(0, nl);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    rest_.remove_prefix(nl + 1);
    *line = l;
    return true;
  }

 private:
  std::string_view rest_;
};

// parse_version reads "HTTP/1.0" or "HTTP/1.1". Another major version is
// unsupported_version; anything else malformed.
Errc parse_version(std::string_view v, int* minor) noexcept {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    return Errc::malformed;
  }
  if (v[5] != '1') return Errc::unsupported_version;
  *minor = v[7] - '0';
  return Errc::ok;
}

// parse_fields reads the header lines after the start line.
Errc parse_fields(Lines* lines, std::vector<Header>* out) {
  std::string_view line;
  while (lines->next(&line)) {
    if (line.empty()) return Errc::ok;
    // Obsolete folding: a line starting with whitespace (RFC 9112 section 5.2).
    if (line.front() == ' ' || line.front() == '\t') return Errc::malformed;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Errc::malformed;
    std::string_view name = line.substr(0, colon);
    // No whitespace before the colon (RFC 9112 section 5.1): is_token rejects it.
    if (!is_token(name)) return Errc::malformed;
    std::string_view value = trim(line.substr(colon + 1));
    if (!valid_field_value(value)) return Errc::malformed;
    if (out->size() >= kMaxHeaders) return Errc::limit_exceeded;
    out->push_back(Header{std::string(name), std::string(value)});
  }
  return Errc::ok;
}

// head_bounds skips leading empty lines (RFC 9112 section 2.2) and finds the
// head. Returns 0 with *err == ok for need more.
size_t head_bounds(std::span<const uint8_t> in, size_t* start, Errc* err) noexcept {
  std::string_view s(reinterpret_cast<const char*>(in.data()), in.size());
  size_t b = 0;
  while (b < s.size() && (s[b] == '\r' || s[b] == '\n')) {
    if (s[b] == '\r' && b + 1 < s.size() && s[b + 1] != '\n') {
      *err = Errc::malformed;
      return 0;
    }
    ++b;
  }
  *start = b;
  *err = Errc::ok;
  size_t end = find_head_end(s.substr(b));
  if (end == 0) {
    if (s.size() > kMaxHeadSize) *err = Errc::frame_too_large;
    return 0;
  }
  if (b + end > kMaxHeadSize) {
    *err = Errc::frame_too_large;
    return 0;
  }
  return b + end;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const Header* find_header(const std::vector<Header>& headers, std::string_view name) noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}

bool has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool valid_field_name(std::string_view name) noexcept { return is_token(name); }

bool valid_field_value(std::string_view value) noexcept {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

ParseResult<RequestHead> parse_request_head(std::span<const uint8_t> in) {
  using R = ParseResult<RequestHead>;
  size_t start = 0;
  Errc err;
  size_t end = head_bounds(in, &start, &err);
  if (err != Errc::ok) return R::fail(err);
  if (end == 0) {
    // Fail early on a first line that can never be a request line, so garbage
    // on a mixed port does not wait for 8 KiB.
    for (size_t i = start; i < in.size() && in[i] != '\r' && in[i] != '\n'; ++i) {
      unsigned char c = in[i];
      if (c < 0x20 || c >= 0x7f) return R::fail(Errc::malformed);
    }
    return R::more();
  }
  std::string_view head(reinterpret_cast<const char*>(in.data()) + start, end - start);
  Lines lines(head);
  std::string_view line;
  lines.next(&line);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return R::fail(Errc::malformed);
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return R::fail(Errc::malformed);
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return R::fail(Errc::malformed);
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) return R::fail(Errc::malformed);
  }
  RequestHead h;
  if (Errc e = parse_version(version, &h.version_minor); e != Errc::ok) return R::fail(e);
  if (Errc e = parse_fields(&lines, &h.headers); e != Errc::ok) return R::fail(e);
  h.method = method;
  h.target = target;
  return R::ok(std::move(h), end);
}

ParseResult<ResponseHead> parse_response_head(std::span<const uint8_t> in) {
  using R = ParseResult<ResponseHead>;
  size_t start = 0;
  Errc err;
  size_t end = head_bounds(in, &start, &err);
  if (err != Errc::ok) return R::fail(err);
  if (end == 0) {
    // "HTTP/" must open the status line; check what has arrived.
    constexpr std::string_view kPrefix = "HTTP/";
    for (size_t i = 0; i < kPrefix.size() && start + i < in.size(); ++i) {
      if (in[start + i] != static_cast<uint8_t>(kPrefix[i])) return R::fail(Errc::malformed);
    }
    return R::more();
  }
  std::string_view head(reinterpret_cast<const char*>(in.data()) + start, end - start);
  Lines lines(head);
  std::string_view line;
  lines.next(&line);
  // status-line = HTTP-version SP status-code SP [reason-phrase]
  // (RFC 9112 section 4); a missing SP before an empty reason is tolerated.
  if (line.size() < 12 || line[8] != ' ') return R::fail(Errc::malformed);
  ResponseHead h;
  if (Errc e = parse_version(line.substr(0, 8), &h.version_minor); e != Errc::ok) return R::fail(e);
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return R::fail(Errc::malformed);
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return R::fail(Errc::malformed);
  if (line.size() > 12) {
    if (line[12] != ' ') return R::fail(Errc::malformed);
    std::string_view reason = line.substr(13);
    if (!valid_field_value(reason)) return R::fail(Errc::malformed);
    h.reason = reason;
  }
  h.status = status;
  if (Errc e = parse_fields(&lines, &h.headers); e != Errc::ok) return R::fail(e);
  return R::ok(std::move(h), end);
}

}  // namespace sluice::http

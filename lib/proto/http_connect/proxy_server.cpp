// proto/http_connect/proxy_server.cpp: HTTP proxy request interpretation,
// origin-form rewriting, Basic credentials and responses.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/http_connect/proxy_server.hpp"

#include "proto/base64.hpp"

namespace sluice::http {
namespace {

// parse_authority splits "host[:port]" (host may be "[v6]"). |default_port|
// applies when the port is absent; 0 means the port is required.
Result<TargetAddress> parse_authority(std::string_view auth, uint16_t default_port) {
  if (auth.empty()) return Errc::malformed;
  if (auth.find('@') != std::string_view::npos)
    return Errc::malformed;  // userinfo (RFC 9110 4.2.4)
  size_t host_end;
  if (auth.front() == '[') {
    host_end = auth.find(']');
    if (host_end == std::string_view::npos) return Errc::malformed;
    ++host_end;
  } else {
    host_end = auth.find(':');
    if (host_end == std::string_view::npos) host_end = auth.size();
  }
  std::string_view host = auth.substr(0, host_end);
  std::string_view rest = auth.substr(host_end);
  if (rest.empty()) {
    if (default_port == 0) return Errc::malformed;
    return TargetAddress::from_host(host, default_port);
  }
  if (rest.front() != ':') return Errc::malformed;
  std::string_view port_s = rest.substr(1);
  if (port_s.empty()) {
    // "host:" is allowed in a URI and means the default (RFC 3986 section 3.2.3).
    if (default_port == 0) return Errc::malformed;
    return TargetAddress::from_host(host, default_port);
  }
  if (port_s.size() > 5) return Errc::malformed;
  uint32_t port = 0;
  for (char c : port_s) {
    if (c < '0' || c > '9') return Errc::malformed;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return Errc::malformed;
  return TargetAddress::from_host(host, static_cast<uint16_t>(port));
}

bool is_hop_by_hop(std::string_view name) noexcept {
  static constexpr std::string_view kHop[] = {
      "Connection", "Proxy-Connection",    "Keep-Alive",         "TE",
      "Trailer",    "Proxy-Authorization", "Proxy-Authenticate", "Upgrade",
  };
  for (std::string_view h : kHop) {
    if (iequals(name, h)) return true;
  }
  return false;
}

// listed_in_connection: a field named by a Connection (or Proxy-Connection)
// option is hop-by-hop too (RFC 9110 section 7.6.1).
bool listed_in_connection(const std::vector<Header>& headers, std::string_view name) noexcept {
  for (const Header& h : headers) {
    if ((iequals(h.name, "Connection") || iequals(h.name, "Proxy-Connection")) &&
        has_token(h.value, name)) {
      return true;
    }
  }
  return false;
}

bool is_websocket_upgrade(const std::vector<Header>& headers) noexcept {
  const Header* up = find_header(headers, "Upgrade");
  return up != nullptr && has_token(up->value, "websocket");
}

bool consttime_equal(std::string_view a, std::string_view b) noexcept {
  // Length is not secret enough to hide; the bytes are.
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

ParseResult<ProxyRequest> parse_proxy_request(std::span<const uint8_t> in) {
  using R = ParseResult<ProxyRequest>;
  auto head = parse_request_head(in);
  if (head.failed()) return R::fail(head.error);
  if (head.need_more()) return R::more();
  RequestHead& h = head.value;
  ProxyRequest req;
  req.method = std::move(h.method);
  req.version_minor = h.version_minor;
  if (req.method == "CONNECT") {
    // authority-form (RFC 9112 section 3.2.3): host and port, nothing else.
    auto t = parse_authority(h.target, 0);
    if (!t) return R::fail(Errc::malformed);
    req.connect = true;
    req.target = *t;
    req.authority = std::move(h.target);
  } else {
    std::string_view uri = h.target;
    size_t colon = uri.find("://");
    if (colon == std::string_view::npos) return R::fail(Errc::malformed);  // origin/asterisk form
    std::string_view scheme = uri.substr(0, colon);
    if (!iequals(scheme, "http")) return R::fail(Errc::not_supported);
    std::string_view rest = uri.substr(colon + 3);
    size_t path_at = rest.find_first_of("/?#");
    std::string_view auth = rest.substr(0, path_at);
    std::string_view path =
        path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
    auto t = parse_authority(auth, 80);
    if (!t) return R::fail(Errc::malformed);
    // A fragment never goes on the wire (RFC 9110 section 4.2.5).
    if (size_t hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
    req.target = *t;
    req.authority = auth;
    req.path.reserve(path.size() + 1);
    if (path.empty() || path.front() != '/') req.path.push_back('/');
    req.path.append(path);
  }
  req.headers = std::move(h.headers);
  return R::ok(std::move(req), head.consumed);
}

std::string build_forward_head(const ProxyRequest& req) {
  bool websocket = is_websocket_upgrade(req.headers);
  std::string out;
  out.reserve(256);
  out += req.method;
  out += ' ';
  out += req.path.empty() ? std::string_view("/") : std::string_view(req.path);
  out += req.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  out += "Host: ";
  out += req.authority;
  out += "\r\n";
  for (const Header& h : req.headers) {
    if (iequals(h.name, "Host")) continue;
    if (iequals(h.name, "Upgrade") && websocket) {
      // kept: the relay is transparent after the head
    } else if (is_hop_by_hop(h.name) || listed_in_connection(req.headers, h.name)) {
      continue;
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += websocket ? "Connection: Upgrade\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

Result<Credentials> parse_basic_credentials(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  size_t sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "Basic")) return Errc::malformed;
  std::string_view b64 = v.substr(sp + 1);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && (b64.back() == ' ' || b64.back() == '\t')) b64.remove_suffix(1);
  auto text = base64_decode(b64);
  if (!text) return Errc::malformed;
  size_t colon = text->find(':');  // a user-id may not contain ':' (RFC 7617 section 2)
  if (colon == std::string::npos) return Errc::malformed;
  Credentials c;
  c.username = text->substr(0, colon);
  c.password = text->substr(colon + 1);
  return c;
}

bool check_basic_auth(const ProxyRequest& req, std::string_view username,
                      std::string_view password) {
  const Header* h = find_header(req.headers, "Proxy-Authorization");
  if (h == nullptr) return false;
  auto c = parse_basic_credentials(h->value);
  if (!c) return false;
  bool user_ok = consttime_equal(c->username, username);
  bool pass_ok = consttime_equal(c->password, password);
  return user_ok && pass_ok;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200:
      return "Connection established";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 407:
      return "Proxy Authentication Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string build_response(int status, std::string_view realm) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  if (status >= 200 && status < 300) return out + "\r\n";
  if (status == 407) {
    out += "Proxy-Authenticate: Basic realm=\"";
    for (char c : realm) {
      if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) out += c;
    }
    out += "\"\r\n";
  }
  out += "Content-Length: 0\r\nConnection: close\r\n\r\n";
  return out;
}

int status_for_error(Errc e) noexcept {
  switch (e) {
    case Errc::frame_too_large:
    case Errc::limit_exceeded:
      return 431;
    case Errc::auth_failed:
      return 407;
    case Errc::not_supported:
      return 405;
    case Errc::unsupported_version:
      return 505;
    case Errc::timed_out:
      return 504;
    case Errc::connection_refused:
    case Errc::connection_reset:
    case Errc::connection_aborted:
    case Errc::host_unreachable:
    case Errc::network_unreachable:
    case Errc::dns_failure:
    case Errc::io_error:
    case Errc::eof:
    case Errc::tls_handshake_failed:
    case Errc::cert_verify_failed:
      return 502;
    default:
      return 400;
  }
}

int status_for_open_error(Errc e) noexcept {
  switch (e) {
    case Errc::limit_exceeded:
    case Errc::no_memory:
    case Errc::frame_too_large:
      return 503;
    default:
      return status_for_error(e);
  }
}

}  // namespace sluice::http

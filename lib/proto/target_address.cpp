// proto/target_address.cpp: TargetAddress parsing, formatting and the SOCKS
// address encoding (RFC 1928 section 5).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/target_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace sluice {
namespace {

// valid_domain_byte rejects what no DNS name or resolver input may hold: NUL
// and control bytes (they truncate or confuse C-string consumers), space and
// DEL. Everything else is left to the resolver (underscores, UTF-8, ...).
bool valid_domain_byte(uint8_t c) noexcept { return c > 0x20 && c != 0x7f; }

// parse_port reads 1..65535 in plain decimal.
bool parse_port(std::string_view s, uint16_t* out) noexcept {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

bool parse_v4(std::string_view s, std::array<uint8_t, 4>* out) {
  if (s.empty() || s.size() > 15) return false;
  char buf[16];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET, buf, out->data()) == 1;
}

bool parse_v6(std::string_view s, std::array<uint8_t, 16>* out) {
  if (s.empty() || s.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET6, buf, out->data()) == 1;
}

}  // namespace

TargetAddress TargetAddress::from_ipv4(const std::array<uint8_t, 4>& a, uint16_t port) noexcept {
  TargetAddress t;
  t.kind_ = ipv4;
  t.len_ = 4;
  t.port_ = port;
  std::memcpy(t.addr_.data(), a.data(), 4);
  return t;
}

TargetAddress TargetAddress::from_ipv6(const std::array<uint8_t, 16>& a, uint16_t port) noexcept {
  TargetAddress t;
  t.kind_ = ipv6;
  t.len_ = 16;
  t.port_ = port;
  std::memcpy(t.addr_.data(), a.data(), 16);
  return t;
}

Result<TargetAddress> TargetAddress::from_domain(std::string_view name, uint16_t port) {
  if (name.empty() || name.size() > kMaxDomain) return Errc::malformed;
  for (char c : name) {
    if (!valid_domain_byte(static_cast<uint8_t>(c))) return Errc::malformed;
  }
  TargetAddress t;
  t.kind_ = domain;
  t.len_ = static_cast<uint8_t>(name.size());
  t.port_ = port;
  std::memcpy(t.addr_.data(), name.data(), name.size());
  return t;
}

Result<TargetAddress> TargetAddress::from_host(std::string_view host, uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::array<uint8_t, 16> a;
    if (!parse_v6(host.substr(1, host.size() - 2), &a)) return Errc::malformed;
    return from_ipv6(a, port);
  }
  std::array<uint8_t, 4> a4;
  if (parse_v4(host, &a4)) return from_ipv4(a4, port);
  if (host.find(':') != std::string_view::npos) {
    std::array<uint8_t, 16> a6;
    if (!parse_v6(host, &a6)) return Errc::malformed;
    return from_ipv6(a6, port);
  }
  // A name made of brackets, slashes or '@' is a URL fragment, not a host.
  for (char c : host) {
    if (c == '[' || c == ']' || c == '/' || c == '@' || c == '\\') return Errc::malformed;
  }
  return from_domain(host, port);
}

Result<TargetAddress> TargetAddress::parse(std::string_view host_port) {
  std::string_view host;
  std::string_view port_s;
  if (!host_port.empty() && host_port.front() == '[') {
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return Errc::malformed;
    if (close + 1 >= host_port.size() || host_port[close + 1] != ':') return Errc::malformed;
    std::array<uint8_t, 16> a;
    if (!parse_v6(host_port.substr(1, close - 1), &a)) return Errc::malformed;
    uint16_t port;
    if (!parse_port(host_port.substr(close + 2), &port)) return Errc::malformed;
    return from_ipv6(a, port);
  }
  size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return Errc::malformed;
  host = host_port.substr(0, colon);
  port_s = host_port.substr(colon + 1);
  // A second colon means an unbracketed IPv6 literal (RFC 3986 section 3.2.2
  // requires brackets).
  if (host.find(':') != std::string_view::npos) return Errc::malformed;
  uint16_t port;
  if (!parse_port(port_s, &port)) return Errc::malformed;
  return from_host(host, port);
}

std::span<const uint8_t> TargetAddress::ip_bytes() const noexcept {
  if (kind_ == domain) return {};
  return {addr_.data(), len_};
}

std::string_view TargetAddress::domain_name() const noexcept {
  if (kind_ != domain) return {};
  return {reinterpret_cast<const char*>(addr_.data()), len_};
}

std::string TargetAddress::host() const {
  char buf[INET6_ADDRSTRLEN];
  switch (kind_) {
    case ipv4:
      inet_ntop(AF_INET, addr_.data(), buf, sizeof buf);
      return buf;
    case ipv6:
      inet_ntop(AF_INET6, addr_.data(), buf, sizeof buf);
      return buf;
    case domain:
      break;
  }
  return std::string(domain_name());
}

std::string TargetAddress::to_string() const {
  std::string h = host();
  std::string s;
  s.reserve(h.size() + 8);
  if (kind_ == ipv6) s.push_back('[');
  s.append(h);
  if (kind_ == ipv6) s.push_back(']');
  s.push_back(':');
  s.append(std::to_string(port_));
  return s;
}

size_t TargetAddress::socks_size() const noexcept {
  switch (kind_) {
    case ipv4:
      return 1 + 4 + 2;
    case ipv6:
      return 1 + 16 + 2;
    case domain:
      break;
  }
  return 1 + 1 + len_ + 2;
}

Result<size_t> TargetAddress::encode_socks(std::span<uint8_t> out) const {
  size_t n = socks_size();
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  switch (kind_) {
    case ipv4:
      *p++ = kAtypIpv4;
      break;
    case ipv6:
      *p++ = kAtypIpv6;
      break;
    case domain:
      *p++ = kAtypDomain;
      *p++ = len_;
      break;
  }
  std::memcpy(p, addr_.data(), len_);
  p += len_;
  *p++ = static_cast<uint8_t>(port_ >> 8);
  *p++ = static_cast<uint8_t>(port_);
  return n;
}

ParseResult<TargetAddress> TargetAddress::decode_socks(std::span<const uint8_t> in) {
  using R = ParseResult<TargetAddress>;
  if (in.empty()) return R::more();
  TargetAddress t;
  size_t off = 1;
  switch (in[0]) {
    case kAtypIpv4:
      t.kind_ = ipv4;
      t.len_ = 4;
      break;
    case kAtypIpv6:
      t.kind_ = ipv6;
      t.len_ = 16;
      break;
    case kAtypDomain:
      if (in.size() < 2) return R::more();
      if (in[1] == 0) return R::fail(Errc::malformed);
      t.kind_ = domain;
      t.len_ = in[1];
      off = 2;
      break;
    default:
      return R::fail(Errc::unsupported_address_type);
  }
  // Check the domain bytes that have arrived so far, so garbage fails early.
  size_t have = in.size() - off < t.len_ ? in.size() - off : t.len_;
  if (t.kind_ == domain) {
    for (size_t i = 0; i < have; ++i) {
      if (!valid_domain_byte(in[off + i])) return R::fail(Errc::malformed);
    }
  }
  size_t total = off + t.len_ + 2;
  if (in.size() < total) return R::more();
  std::memcpy(t.addr_.data(), in.data() + off, t.len_);
  t.port_ = static_cast<uint16_t>((in[off + t.len_] << 8) | in[off + t.len_ + 1]);
  return R::ok(t, total);
}

bool operator==(const TargetAddress& a, const TargetAddress& b) noexcept {
  return a.kind_ == b.kind_ && a.len_ == b.len_ && a.port_ == b.port_ &&
         std::memcmp(a.addr_.data(), b.addr_.data(), a.len_) == 0;
}

}  // namespace sluice

// proto/hysteria1/hysteria1.cpp: Hysteria v1 control and request streams.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria1/hysteria1.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::hysteria1 {

namespace {

uint8_t* put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}
uint8_t* put32(uint8_t* p, uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  return p + 4;
}
uint8_t* put64(uint8_t* p, uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return p + 8;
}
uint8_t* put_bytes(uint8_t* p, const void* d, size_t n) noexcept {
  p = put16(p, static_cast<uint16_t>(n));
  if (n != 0) std::memcpy(p, d, n);
  return p + n;
}
uint16_t get16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint64_t get64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// Reads a u16-length-prefixed string at |at|: need_more (false, at
// unchanged) or true with |out| and |at| advanced.
bool get_string(std::span<const uint8_t> in, size_t& at, std::string& out) {
  if (in.size() - at < 2) return false;
  const size_t n = get16(in.data() + at);
  if (in.size() - at - 2 < n) return false;
  out.assign(reinterpret_cast<const char*>(in.data() + at + 2), n);
  at += 2 + n;
  return true;
}

// Peeks the length of a u16-prefixed string at |at| without copying.
bool peek_length(std::span<const uint8_t> in, size_t at, size_t& n) noexcept {
  if (in.size() < at + 2) return false;
  n = get16(in.data() + at);
  return true;
}

}  // namespace

// --- control stream ---

Result<size_t> encode_client_hello(uint64_t send_bps, uint64_t recv_bps,
                                   std::span<const uint8_t> auth, std::span<uint8_t> out) noexcept {
  if (send_bps == 0 || recv_bps == 0 || auth.size() > 0xffff) return Errc::invalid_argument;
  const size_t n = client_hello_size(auth.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = kProtocolVersion;
  p = put64(p, send_bps);
  p = put64(p, recv_bps);
  put_bytes(p, auth.data(), auth.size());
  return n;
}

ParseResult<ClientHello> parse_client_hello(std::span<const uint8_t> in) {
  using R = ParseResult<ClientHello>;
  if (in.empty()) return R::more();
  if (in[0] != kProtocolVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 17) return R::more();
  ClientHello h;
  h.send_bps = get64(in.data() + 1);
  h.recv_bps = get64(in.data() + 9);
  if (h.send_bps == 0 || h.recv_bps == 0) return R::fail(Errc::malformed);
  size_t at = 17;
  if (!get_string(in, at, h.auth)) return R::more();
  return R::ok(std::move(h), at);
}

Result<size_t> encode_server_hello(bool ok, uint64_t send_bps, uint64_t recv_bps,
                                   std::string_view message, std::span<uint8_t> out) noexcept {
  if (message.size() > 0xffff) return Errc::invalid_argument;
  const size_t n = server_hello_size(message.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = ok ? 1 : 0;
  p = put64(p, send_bps);
  p = put64(p, recv_bps);
  put_bytes(p, message.data(), message.size());
  return n;
}

ParseResult<ServerHello> parse_server_hello(std::span<const uint8_t> in) {
  using R = ParseResult<ServerHello>;
  if (in.size() < 19) return R::more();
  ServerHello h;
  h.ok = in[0] != 0;
  h.send_bps = get64(in.data() + 1);
  h.recv_bps = get64(in.data() + 9);
  if (h.ok && (h.send_bps == 0 || h.recv_bps == 0)) return R::fail(Errc::malformed);
  size_t at = 17;
  if (!get_string(in, at, h.message)) return R::more();
  return R::ok(std::move(h), at);
}

namespace {
uint64_t min_limit(uint64_t v, uint64_t limit) noexcept {
  return limit == 0 ? v : std::min(v, limit);
}
}  // namespace

Rates server_rates(const ClientHello& hello, uint64_t server_up, uint64_t server_down) noexcept {
  return {min_limit(hello.recv_bps, server_up), min_limit(hello.send_bps, server_down)};
}

uint64_t client_send_rate(const ServerHello& hello, uint64_t own_send) noexcept {
  return min_limit(hello.recv_bps, own_send);
}

// --- request streams ---

Result<size_t> encode_client_request(bool udp, std::string_view host, uint16_t port,
                                     std::span<uint8_t> out) noexcept {
  if (host.size() > kMaxHost) return Errc::invalid_argument;
  if (!udp && (host.empty() || port == 0)) return Errc::invalid_argument;
  const size_t n = client_request_size(host.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = udp ? 1 : 0;
  p = put_bytes(p, host.data(), host.size());
  put16(p, port);
  return n;
}

ParseResult<ClientRequest> parse_client_request(std::span<const uint8_t> in) {
  using R = ParseResult<ClientRequest>;
  if (in.empty()) return R::more();
  if (in[0] > 1) return R::fail(Errc::malformed);
  ClientRequest r;
  r.udp = in[0] == 1;
  size_t host_len = 0;
  if (!peek_length(in, 1, host_len)) return R::more();
  if (host_len > kMaxHost) return R::fail(Errc::malformed);
  if (in.size() < 3 + host_len + 2) return R::more();
  r.host.assign(reinterpret_cast<const char*>(in.data() + 3), host_len);
  r.port = get16(in.data() + 3 + host_len);
  if (!r.udp && (r.host.empty() || r.port == 0)) return R::fail(Errc::malformed);
  return R::ok(std::move(r), 3 + host_len + 2);
}

Result<size_t> encode_server_response(bool ok, uint32_t udp_session_id, std::string_view message,
                                      std::span<uint8_t> out) noexcept {
  if (message.size() > 0xffff) return Errc::invalid_argument;
  const size_t n = server_response_size(message.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = ok ? 1 : 0;
  p = put32(p, udp_session_id);
  put_bytes(p, message.data(), message.size());
  return n;
}

ParseResult<ServerResponse> parse_server_response(std::span<const uint8_t> in) {
  using R = ParseResult<ServerResponse>;
  if (in.size() < 7) return R::more();
  ServerResponse r;
  r.ok = in[0] != 0;
  r.udp_session_id = get32(in.data() + 1);
  size_t at = 5;
  if (!get_string(in, at, r.message)) return R::more();
  return R::ok(std::move(r), at);
}

}  // namespace sluice::hysteria1

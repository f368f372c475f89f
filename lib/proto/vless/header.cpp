// proto/vless/header.cpp: VLESS request and response headers (vless.md
// sections 3 and 4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/header.hpp"

#include <cstring>

namespace sluice::vless {
namespace {

constexpr size_t kAddonsLenOffset = 1 + kUserIdSize;  // 17

bool known_command(uint8_t c) noexcept { return c >= 0x01 && c <= 0x04; }

}  // namespace

size_t request_size(const Request& r) noexcept {
  size_t n = 1 + kUserIdSize + addons_size(r.addons.flow()) + 1;
  if (has_address(r.command)) n += addr_port_size(r.target);
  return n;
}

Result<size_t> encode_request(const Request& r, std::span<uint8_t> out) {
  if (r.addons.flow() == Flow::other) return Errc::invalid_argument;
  if (!known_command(static_cast<uint8_t>(r.command))) return Errc::invalid_argument;
  size_t n = request_size(r);
  if (out.size() < n) return Errc::buffer_too_small;
  size_t pos = 0;
  out[pos++] = kVersion;
  std::memcpy(out.data() + pos, r.user.data(), kUserIdSize);
  pos += kUserIdSize;
  auto a = encode_addons(r.addons.flow(), out.subspan(pos));
  if (!a) return a.error();
  pos += *a;
  out[pos++] = static_cast<uint8_t>(r.command);
  if (has_address(r.command)) {
    auto t = encode_addr_port(r.target, out.subspan(pos));
    if (!t) return t.error();
    pos += *t;
  }
  return pos;
}

ParseResult<Request> parse_request(std::span<const uint8_t> in) {
  using R = ParseResult<Request>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() <= kAddonsLenOffset) return R::more();
  size_t alen = in[kAddonsLenOffset];
  size_t cmd_off = kAddonsLenOffset + 1 + alen;
  if (in.size() < cmd_off) return R::more();
  Request r;
  std::memcpy(r.user.data(), in.data() + 1, kUserIdSize);
  auto addons = parse_addons(in.subspan(kAddonsLenOffset + 1, alen));
  if (!addons) return R::fail(addons.error());
  r.addons = *addons;
  if (in.size() <= cmd_off) return R::more();
  uint8_t cmd = in[cmd_off];
  if (!known_command(cmd)) return R::fail(Errc::unknown_command);
  r.command = static_cast<Command>(cmd);
  size_t end = cmd_off + 1;
  if (has_address(r.command)) {
    auto t = decode_addr_port(in.subspan(end));
    if (t.failed()) return R::fail(t.error);
    if (t.need_more()) return R::more();
    r.target = t.value;
    end += t.consumed;
  }
  return R::ok(r, end);
}

Result<size_t> encode_response(std::span<uint8_t> out) {
  if (out.size() < kResponseSize) return Errc::buffer_too_small;
  out[0] = kVersion;
  out[1] = 0;
  return kResponseSize;
}

ParseResult<Response> parse_response(std::span<const uint8_t> in, uint8_t request_version) {
  using R = ParseResult<Response>;
  if (in.empty()) return R::more();
  if (in[0] != request_version) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  size_t total = 2 + static_cast<size_t>(in[1]);
  if (in.size() < total) return R::more();
  return R::ok(Response{in[0], in[1]}, total);
}

}  // namespace sluice::vless

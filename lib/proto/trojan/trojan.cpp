// proto/trojan/trojan.cpp: Trojan request header and UDP packet framing.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/trojan/trojan.hpp"

#include "sluice/cipher.hpp"

namespace sluice::trojan {
namespace {

// is_lower_hex: the hash is hex(SHA224(password)) in lower case (trojan-gfw's
// protocol document, and its server compares the string as sent); anything
// else, upper case included, is not a Trojan request and goes to the fallback,
// as it does on the reference server.
bool is_lower_hex(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// crlf_at checks a CRLF at |pos| as far as |in| reaches: false means
// malformed, true means fine so far.
bool crlf_ok(std::span<const uint8_t> in, size_t pos) {
  if (in.size() > pos && in[pos] != '\r') return false;
  if (in.size() > pos + 1 && in[pos + 1] != '\n') return false;
  return true;
}

}  // namespace

PasswordHash hash_password(std::string_view password) {
  uint8_t d[28];
  (void)Digest::hash(DigestAlgorithm::sha224,
                     {reinterpret_cast<const uint8_t*>(password.data()), password.size()}, d);
  static const char* kHex = "0123456789abcdef";
  PasswordHash h;
  for (size_t i = 0; i < 28; ++i) {
    h[2 * i] = kHex[d[i] >> 4];
    h[2 * i + 1] = kHex[d[i] & 15];
  }
  return h;
}

size_t request_size(const TargetAddress& target) noexcept {
  return kHashLen + 2 + 1 + target.socks_size() + 2;
}

Result<size_t> encode_request(const PasswordHash& hash, Command cmd, const TargetAddress& target,
                              std::span<uint8_t> out) {
  const size_t n = request_size(target);
  if (out.size() < n) return Errc::buffer_too_small;
  std::memcpy(out.data(), hash.data(), kHashLen);
  out[kHashLen] = '\r';
  out[kHashLen + 1] = '\n';
  out[kHashLen + 2] = static_cast<uint8_t>(cmd);
  auto a = target.encode_socks(out.subspan(kHashLen + 3));
  if (!a) return a.error();
  out[n - 2] = '\r';
  out[n - 1] = '\n';
  return n;
}

ParseResult<Request> parse_request(std::span<const uint8_t> in) {
  using R = ParseResult<Request>;
  const size_t have = std::min(in.size(), kHashLen);
  for (size_t i = 0; i < have; ++i)
    if (!is_lower_hex(in[i])) return R::fail(Errc::malformed);
  if (!crlf_ok(in, kHashLen)) return R::fail(Errc::malformed);
  if (in.size() <= kHashLen + 2) return R::more();
  const uint8_t cmd = in[kHashLen + 2];
  if (cmd != static_cast<uint8_t>(Command::connect) &&
      cmd != static_cast<uint8_t>(Command::udp_associate))
    return R::fail(Errc::unknown_command);
  auto addr = TargetAddress::decode_socks(in.subspan(kHashLen + 3));
  if (addr.failed()) return R::fail(addr.error);
  if (addr.need_more()) return R::more();
  const size_t end = kHashLen + 3 + addr.consumed;
  if (!crlf_ok(in, end)) return R::fail(Errc::malformed);
  if (in.size() < end + 2) return R::more();
  Request req;
  std::memcpy(req.hash.data(), in.data(), kHashLen);
  req.command = static_cast<Command>(cmd);
  req.target = addr.value;
  return R::ok(req, end + 2);
}

Result<size_t> encode_udp_header(const TargetAddress& target, size_t length,
                                 std::span<uint8_t> out) {
  if (length > kMaxUdpPayload) return Errc::invalid_argument;
  const size_t n = udp_header_size(target);
  if (out.size() < n) return Errc::buffer_too_small;
  auto a = target.encode_socks(out);
  if (!a) return a.error();
  out[*a] = static_cast<uint8_t>(length >> 8);
  out[*a + 1] = static_cast<uint8_t>(length);
  out[*a + 2] = '\r';
  out[*a + 3] = '\n';
  return n;
}

ParseResult<UdpPacket> parse_udp_header(std::span<const uint8_t> in) {
  using R = ParseResult<UdpPacket>;
  auto addr = TargetAddress::decode_socks(in);
  if (addr.failed()) return R::fail(addr.error);
  if (addr.need_more()) return R::more();
  const size_t a = addr.consumed;
  if (!crlf_ok(in, a + 2)) return R::fail(Errc::malformed);
  if (in.size() < a + 4) return R::more();
  UdpPacket p;
  p.target = addr.value;
  p.header = a + 4;
  p.length = (size_t{in[a]} << 8) | in[a + 1];
  return R::ok(p, p.header);
}

Status frame_udp_packet(const TargetAddress& target, Slice&& payload, BufferPool& pool,
                        Chain* out) {
  const size_t len = payload.size();
  if (len > kMaxUdpPayload) return Errc::frame_too_large;
  const size_t hn = udp_header_size(target);
  auto h = out->push_back_framed(std::move(payload), hn, pool);
  if (!h) return h.error();
  auto w = encode_udp_header(target, len, {*h, hn});
  if (!w) return w.error();
  return {};
}

Result<bool> take_udp_packet(Chain& in, BufferPool& pool, ReceivedUdpPacket* out) {
  if (in.empty()) return false;
  // The framing usually lies inside the first Slice; gather it only when not.
  auto h = parse_udp_header(in.front().span());
  if (h.need_more() && in.front().size() < in.size()) {
    const size_t n = std::min(in.size(), kMaxUdpHeaderSize);
    auto p = in.linearize(n, pool);
    if (!p) return p.error();
    h = parse_udp_header({*p, n});
  }
  if (h.failed()) return h.error;
  if (h.need_more()) return false;
  const size_t length = h.value.length;
  if (in.size() < h.consumed + length) return false;
  in.advance(h.consumed);
  out->target = h.value.target;
  out->payload.reset();
  if (length == 0) return true;
  auto p = in.linearize(length, pool);
  if (!p) return p.error();
  out->payload = in.front().sub(0, length);
  in.advance(length);
  return true;
}

ParseResult<UdpPacket> parse_udp_packet(std::span<const uint8_t> in) {
  using R = ParseResult<UdpPacket>;
  auto h = parse_udp_header(in);
  if (h.failed() || h.need_more()) return h;
  if (in.size() < h.value.header + h.value.length) return R::more();
  return R::ok(h.value, h.value.header + h.value.length);
}

}  // namespace sluice::trojan

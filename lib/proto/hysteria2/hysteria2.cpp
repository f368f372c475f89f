// proto/hysteria2/hysteria2.cpp: Hysteria v2 TCP request/response codec.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria2/hysteria2.hpp"

#include <cstring>

#include "sluice/cipher.hpp"

namespace sluice::hysteria2 {

size_t random_padding_length(PaddingRange r) noexcept {
  if (r.max <= r.min + 1) return r.min;
  uint8_t b[4];
  random_bytes(b);
  const uint32_t v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  return r.min + v % (r.max - r.min);
}

void fill_padding(std::span<uint8_t> out) noexcept {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  random_bytes(out);
  // 62 symbols: a byte mod 62 is slightly biased, which padding does not mind.
  for (auto& c : out) c = static_cast<uint8_t>(kAlphabet[c % 62]);
}

std::string padding_string(PaddingRange r) {
  std::string s(random_padding_length(r), '\0');
  fill_padding({reinterpret_cast<uint8_t*>(s.data()), s.size()});
  return s;
}

size_t varint_size(uint64_t v) noexcept {
  return v < 64 ? 1 : v < 16384 ? 2 : v < (uint64_t{1} << 30) ? 4 : 8;
}

size_t write_varint(uint64_t v, uint8_t* out) noexcept {
  const size_t n = varint_size(v);
  const uint8_t prefix = n == 1 ? 0x00 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xc0;
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
  out[0] |= prefix;
  return n;
}

ParseResult<uint64_t> read_varint(std::span<const uint8_t> in) noexcept {
  if (in.empty()) return ParseResult<uint64_t>::more();
  const size_t n = size_t{1} << (in[0] >> 6);
  if (in.size() < n) return ParseResult<uint64_t>::more();
  uint64_t v = in[0] & 0x3f;
  for (size_t i = 1; i < n; ++i) v = (v << 8) | in[i];
  return ParseResult<uint64_t>::ok(v, n);
}

std::string address_text(const TargetAddress& t) { return t.to_string(); }

Result<TargetAddress> parse_address(std::string_view text) {
  auto r = TargetAddress::parse(text);
  if (!r) return Errc::malformed;
  return r;
}

namespace {

// Reader walks a span; every read either succeeds or says why not.
struct Reader {
  std::span<const uint8_t> in;
  size_t pos = 0;
  // varint: 1 done, 0 need more.
  bool varint(uint64_t* v) noexcept {
    auto r = read_varint(in.subspan(pos));
    if (!r.done()) return false;
    *v = r.value;
    pos += r.consumed;
    return true;
  }
  bool has(size_t n) const noexcept { return in.size() - pos >= n; }
};

ParseResult<TcpRequest> parse_request_after_type(std::span<const uint8_t> in, size_t start) {
  Reader rd{in, start};
  uint64_t alen = 0;
  if (!rd.varint(&alen)) return ParseResult<TcpRequest>::more();
  if (alen == 0 || alen > kMaxAddress) return ParseResult<TcpRequest>::fail(Errc::malformed);
  if (!rd.has(alen)) return ParseResult<TcpRequest>::more();
  std::string_view text(reinterpret_cast<const char*>(in.data() + rd.pos), alen);
  rd.pos += alen;
  uint64_t plen = 0;
  if (!rd.varint(&plen)) return ParseResult<TcpRequest>::more();
  if (plen > kMaxPadding) return ParseResult<TcpRequest>::fail(Errc::malformed);
  if (!rd.has(plen)) return ParseResult<TcpRequest>::more();
  rd.pos += plen;
  auto t = parse_address(text);
  if (!t) return ParseResult<TcpRequest>::fail(Errc::malformed);
  TcpRequest req;
  req.target = *t;
  req.padding = plen;
  return ParseResult<TcpRequest>::ok(req, rd.pos);
}

}  // namespace

size_t tcp_request_size(std::string_view addr, size_t padding) noexcept {
  return varint_size(kFrameTcpRequest) + varint_size(addr.size()) + addr.size() +
         varint_size(padding) + padding;
}

Result<size_t> encode_tcp_request(std::string_view addr, size_t padding, std::span<uint8_t> out) {
  if (addr.empty() || addr.size() > kMaxAddress || padding > kMaxPadding)
    return Errc::invalid_argument;
  const size_t n = tcp_request_size(addr, padding);
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  p += write_varint(kFrameTcpRequest, p);
  p += write_varint(addr.size(), p);
  std::memcpy(p, addr.data(), addr.size());
  p += addr.size();
  p += write_varint(padding, p);
  fill_padding({p, padding});
  return n;
}

ParseResult<TcpRequest> parse_tcp_request(std::span<const uint8_t> in) {
  auto t = read_varint(in);
  if (!t.done()) return ParseResult<TcpRequest>::more();
  if (t.value != kFrameTcpRequest) return ParseResult<TcpRequest>::fail(Errc::unknown_command);
  return parse_request_after_type(in, t.consumed);
}

ParseResult<TcpRequest> parse_tcp_request_body(std::span<const uint8_t> in) {
  return parse_request_after_type(in, 0);
}

size_t tcp_response_size(std::string_view message, size_t padding) noexcept {
  return 1 + varint_size(message.size()) + message.size() + varint_size(padding) + padding;
}

Result<size_t> encode_tcp_response(uint8_t status, std::string_view message, size_t padding,
                                   std::span<uint8_t> out) {
  if (message.size() > kMaxMessage || padding > kMaxPadding) return Errc::invalid_argument;
  const size_t n = tcp_response_size(message, padding);
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = status;
  p += write_varint(message.size(), p);
  if (!message.empty()) std::memcpy(p, message.data(), message.size());
  p += message.size();
  p += write_varint(padding, p);
  fill_padding({p, padding});
  return n;
}

ParseResult<TcpResponse> parse_tcp_response(std::span<const uint8_t> in) {
  if (in.empty()) return ParseResult<TcpResponse>::more();
  Reader rd{in, 1};
  uint64_t mlen = 0;
  if (!rd.varint(&mlen)) return ParseResult<TcpResponse>::more();
  if (mlen > kMaxMessage) return ParseResult<TcpResponse>::fail(Errc::malformed);
  if (!rd.has(mlen)) return ParseResult<TcpResponse>::more();
  const size_t msg_at = rd.pos;
  rd.pos += mlen;
  uint64_t plen = 0;
  if (!rd.varint(&plen)) return ParseResult<TcpResponse>::more();
  if (plen > kMaxPadding) return ParseResult<TcpResponse>::fail(Errc::malformed);
  if (!rd.has(plen)) return ParseResult<TcpResponse>::more();
  rd.pos += plen;
  TcpResponse r;
  r.status = in[0];
  r.message.assign(reinterpret_cast<const char*>(in.data() + msg_at), mlen);
  return ParseResult<TcpResponse>::ok(std::move(r), rd.pos);
}

}  // namespace sluice::hysteria2

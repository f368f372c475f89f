// proto/base64.cpp: RFC 4648 Base64 and Base64url.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/base64.hpp"

namespace sluice {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c, Base64Alphabet a) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (a == Base64Alphabet::standard) {
    if (c == '+') return 62;
    if (c == '/') return 63;
  } else {
    if (c == '-') return 62;
    if (c == '_') return 63;
  }
  return -1;
}

}  // namespace

std::string base64_encode(std::span<const uint8_t> data, Base64Alphabet alphabet, bool pad) {
  const char* tbl = alphabet == Base64Alphabet::standard ? kStd : kUrl;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (rest == 2) v |= uint32_t{data[i + 1]} << 8;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    if (rest == 2) out += tbl[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? 2 : 1, '=');
  }
  return out;
}

std::string base64_encode(std::string_view data, Base64Alphabet alphabet, bool pad) {
  return base64_encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
      alphabet, pad);
}

Result<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet) {
  // Strip correct padding: only when the padded length is a multiple of 4.
  size_t pads = 0;
  while (pads < text.size() && pads < 2 && text[text.size() - 1 - pads] == '=') ++pads;
  if (pads > 0) {
    if (text.size() % 4 != 0) return Errc::malformed;
    text.remove_suffix(pads);
  }
  if (text.size() % 4 == 1) return Errc::malformed;
  if (pads > 0 && (4 - text.size() % 4) % 4 != pads) return Errc::malformed;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = decode_char(c, alphabet);
    if (v < 0) return Errc::malformed;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so every text has one decoding (RFC 4648 3.5).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return Errc::malformed;
  return out;
}

}  // namespace sluice

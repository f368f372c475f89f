// proto/vless/vision_filter.cpp: Vision's inner-TLS filter (vless.md
// section 7.4; Xray proxy/proxy.go XtlsFilterTls, IsCompleteRecord).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/vision_filter.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::vless {
namespace {

constexpr uint8_t kTls13SupportedVersions[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
constexpr uint8_t kHandshakeClientHello = 0x01;
constexpr uint8_t kHandshakeServerHello = 0x02;

bool contains(std::span<const uint8_t> hay, std::span<const uint8_t> needle) noexcept {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

bool xtls_cipher(uint16_t c) noexcept { return c >= 0x1301 && c <= 0x1304; }

// filter_buffer is one iteration of XtlsFilterTls; true when filtering ended.
bool filter_buffer(TrafficState& s, std::span<const uint8_t> b) noexcept {
  --s.packets_to_filter;
  if (b.size() >= 6) {
    if (b[0] == 0x16 && b[1] == 0x03 && b[2] == 0x03 && b[5] == kHandshakeServerHello) {
      s.remaining_server_hello = ((static_cast<int32_t>(b[3]) << 8) | b[4]) + 5;
      s.is_tls12_or_above = true;
      s.is_tls = true;
      if (b.size() >= 79 && s.remaining_server_hello >= 79) {
        size_t sid = b[43];
        // 44 + sid + 2 <= 44 + 255 + 2; guard short buffers (Xray would panic).
        if (44 + sid + 2 <= b.size()) {
          s.cipher = static_cast<uint16_t>((b[44 + sid] << 8) | b[45 + sid]);
        }
      }
    } else if (b[0] == 0x16 && b[1] == 0x03 && b[5] == kHandshakeClientHello) {
      s.is_tls = true;
    }
  }
  if (s.remaining_server_hello > 0) {
    size_t end = std::min(static_cast<size_t>(s.remaining_server_hello), b.size());
    s.remaining_server_hello -= static_cast<int32_t>(std::min<size_t>(b.size(), 0x7fffffff));
    if (contains(b.first(end), kTls13SupportedVersions)) {
      s.enable_xtls = xtls_cipher(s.cipher);
      s.packets_to_filter = 0;
      return true;
    }
    if (s.remaining_server_hello <= 0) {
      s.packets_to_filter = 0;  // TLS 1.2 (or older): never direct
      return true;
    }
  }
  return false;
}

}  // namespace

void filter_tls(TrafficState& state, std::span<const std::span<const uint8_t>> buffers) noexcept {
  for (auto b : buffers) {
    if (filter_buffer(state, b)) return;
  }
}

bool filter_tls_one(TrafficState& state, std::span<const uint8_t> buffer) noexcept {
  return filter_buffer(state, buffer);
}

bool is_complete_record(std::span<const std::span<const uint8_t>> buffers) noexcept {
  int header_left = 5;
  size_t record_left = 0;
  for (auto b : buffers) {
    size_t i = 0;
    while (i < b.size()) {
      if (header_left > 0) {
        uint8_t d = b[i++];
        switch (header_left) {
          case 5:
            if (d != 0x17) return false;
            break;
          case 4:
          case 3:
            if (d != 0x03) return false;
            break;
          case 2:
            record_left = static_cast<size_t>(d) << 8;
            break;
          case 1:
            record_left |= d;
            // Xray: a zero-length record followed by anything is not complete.
            break;
        }
        --header_left;
      } else if (record_left > 0) {
        size_t take = std::min(record_left, b.size() - i);
        i += take;
        record_left -= take;
        if (record_left == 0) header_left = 5;
      } else {
        return false;  // a zero-length record with bytes after it
      }
    }
  }
  return header_left == 5 && record_left == 0;
}

}  // namespace sluice::vless

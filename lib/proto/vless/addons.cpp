// proto/vless/addons.cpp: the VLESS addons protobuf (vless.md section 3;
// protobuf wire format, https://protobuf.dev/programming-guides/encoding/).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/addons.hpp"

#include <cstring>

namespace sluice::vless {
namespace {

// Protobuf wire types.
constexpr uint8_t kWireVarint = 0;
constexpr uint8_t kWireI64 = 1;
constexpr uint8_t kWireLen = 2;
constexpr uint8_t kWireI32 = 5;

// Field numbers of Addons (Xray proxy/vless/encoding/addons.proto).
constexpr uint64_t kFieldFlow = 1;
constexpr uint64_t kFieldSeed = 2;

// read_varint reads a base-128 varint of at most 10 bytes.
bool read_varint(std::span<const uint8_t> in, size_t* pos, uint64_t* out) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (*pos >= in.size()) return false;
    uint8_t b = in[(*pos)++];
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (i == 9 && b > 1) return false;
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

Addons Addons::with_flow(Flow f) noexcept {
  Addons a;
  a.flow_ = f;
  if (f == Flow::vision) {
    a.flow_len_ = static_cast<uint8_t>(kFlowVision.size());
    std::memcpy(a.flow_buf_.data(), kFlowVision.data(), kFlowVision.size());
  }
  return a;
}

size_t addons_size(Flow flow) noexcept {
  return flow == Flow::vision ? 1 + 2 + kFlowVision.size() : 1;
}

Result<size_t> encode_addons(Flow flow, std::span<uint8_t> out) {
  if (flow == Flow::other) return Errc::invalid_argument;
  size_t n = addons_size(flow);
  if (out.size() < n) return Errc::buffer_too_small;
  if (flow == Flow::none) {
    out[0] = 0;
    return n;
  }
  out[0] = static_cast<uint8_t>(n - 1);                         // A = 0x12
  out[1] = static_cast<uint8_t>((kFieldFlow << 3) | kWireLen);  // 0x0A
  out[2] = static_cast<uint8_t>(kFlowVision.size());            // 0x10
  std::memcpy(out.data() + 3, kFlowVision.data(), kFlowVision.size());
  return n;
}

Result<Addons> parse_addons(std::span<const uint8_t> in) {
  // The length byte bounds the message; a longer span is a caller bug or
  // garbage, and would not fit flow_buf_.
  if (in.size() > kMaxAddonsSize) return Errc::malformed;
  Addons a;
  size_t pos = 0;
  while (pos < in.size()) {
    uint64_t tag;
    if (!read_varint(in, &pos, &tag)) return Errc::malformed;
    uint64_t field = tag >> 3;
    auto wire = static_cast<uint8_t>(tag & 7);
    if (field == 0 || field > 0x1fffffff) return Errc::malformed;
    switch (wire) {
      case kWireVarint: {
        uint64_t ignored;
        if (!read_varint(in, &pos, &ignored)) return Errc::malformed;
        break;
      }
      case kWireI64:
        if (in.size() - pos < 8) return Errc::malformed;
        pos += 8;
        break;
      case kWireI32:
        if (in.size() - pos < 4) return Errc::malformed;
        pos += 4;
        break;
      case kWireLen: {
        uint64_t len;
        if (!read_varint(in, &pos, &len)) return Errc::malformed;
        if (len > in.size() - pos) return Errc::malformed;
        if (field == kFieldFlow) {
          // Last one wins, as in every protobuf decoder.
          a.flow_len_ = static_cast<uint8_t>(len);
          std::memcpy(a.flow_buf_.data(), in.data() + pos, len);
          std::string_view name = a.flow_name();
          a.flow_ = name.empty() ? Flow::none : name == kFlowVision ? Flow::vision : Flow::other;
        } else if (field == kFieldSeed) {
          a.has_seed_ = true;
        }
        pos += len;
        break;
      }
      default:
        return Errc::malformed;  // groups (3, 4) and the unused 6, 7
    }
  }
  return a;
}

}  // namespace sluice::vless

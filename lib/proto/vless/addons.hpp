// proto/vless/addons.hpp: the VLESS header addons, a protobuf message
// Addons{ string Flow = 1; bytes Seed = 2; } (vless.md section 3).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Encoding, as Xray (proxy/vless/encoding/addons.go, EncodeHeaderAddons) and
// sing-box write it: only the Vision flow produces a message,
//   A = 0x12, 0A 10 "xtls-rprx-vision"
// every other case writes A = 0.
//
// Decoding accepts any well-formed protobuf inside the A bytes, as Go's
// proto.Unmarshal does: unknown fields of wire types 0, 1, 2, 5 are skipped;
// a known field number with an unexpected wire type is an unknown field
// (protobuf-go semantics); a repeated Flow takes the last value. Wire types 3,
// 4 (groups), 6, 7, field number 0, a varint longer than 10 bytes, and any
// field running past A are malformed. The flow string is kept as bytes (up to
// 253); UTF-8 is not checked, because only the exact known strings are ever
// acted on.
//
// Threading: plain values and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sluice/error.hpp"

namespace sluice::vless {

// kFlowVision is the only flow in use (vless.md section 7).
inline constexpr std::string_view kFlowVision = "xtls-rprx-vision";
// kMaxAddonsSize: the addons length is one byte.
inline constexpr size_t kMaxAddonsSize = 255;

// Flow classifies the requested flow.
enum class Flow : uint8_t {
  none,    // absent or empty: plain VLESS
  vision,  // "xtls-rprx-vision"
  other,   // any other string (servers reject it, vless.md section 5)
};

// Addons is a decoded addons message.
class Addons {
 public:
  Flow flow() const noexcept { return flow_; }
  // flow_name is the flow string as received (empty for none).
  std::string_view flow_name() const noexcept {
    return {reinterpret_cast<const char*>(flow_buf_.data()), flow_len_};
  }
  // has_seed: a Seed field was present (Xray's old testseed carrier; unused).
  bool has_seed() const noexcept { return has_seed_; }

  static Addons with_flow(Flow f) noexcept;

 private:
  friend Result<Addons> parse_addons(std::span<const uint8_t> in);
  Flow flow_ = Flow::none;
  bool has_seed_ = false;
  uint8_t flow_len_ = 0;
  std::array<uint8_t, kMaxAddonsSize> flow_buf_{};
};

// addons_size is A + 1 (the length byte included) for |flow|.
size_t addons_size(Flow flow) noexcept;

// encode_addons writes the length byte and the message for |flow|.
// invalid_argument for Flow::other (sluice never sends unknown flows),
// buffer_too_small if |out| is short. Returns the bytes written.
Result<size_t> encode_addons(Flow flow, std::span<uint8_t> out);

// parse_addons decodes the A message bytes (without the length byte).
// Errors: malformed (see above).
Result<Addons> parse_addons(std::span<const uint8_t> in);

}  // namespace sluice::vless

// proto/vless/mux_frame.hpp: the Mux.Cool frame (vless.md section 6.2), the
// carrier of XUDP (xudp.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
//   L (2, BE) | SESSION (2) | STATUS (1) | OPTION (1)
//             | NETWORK (1) | PORT | ATYP | ADDR      -- New; Keep if L > 4
//             | GLOBAL ID (8)                         -- New only, optional
//   (exactly L bytes of metadata after the length field)
//   | DATA LEN (2, BE) | DATA                          -- iff OPTION & 0x01
//
// Checked against XTLS/Xray-core common/mux/frame.go (SessionStatus 1..4,
// OptionData 0x01, OptionError 0x02, TargetNetwork 1 TCP / 2 UDP, metadata
// length > 512 rejected, PortThenAddress with ATYP 1/2/3) and
// common/xudp/xudp.go (New carries the GlobalID after the address; Keep
// carries network + address when L != 4; L < 4 is EOF).
//
// parse_mux_frame is incremental and strict, one Errc per field:
//   L > 512                              frame_too_large
//   L < 4                                eof (Xray's reader ends the stream)
//   STATUS not 1..4                      unknown_command
//   NETWORK not 1/2                      protocol_violation
//   ATYP not 1/2/3                       unsupported_address_type
//   address running past L, L < 8 on a New, bytes left after the address
//   other than an 8-byte GlobalID on a New, any extra metadata on
//   End/KeepAlive or after a Keep's address, empty or bad domain   malformed
// Xray ignores some of these leftovers; no implementation we know writes
// them, so they are treated as garbage.
//
// Threading: plain values and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

enum class MuxStatus : uint8_t { new_session = 0x01, keep = 0x02, end = 0x03, keep_alive = 0x04 };
enum class MuxNetwork : uint8_t { tcp = 0x01, udp = 0x02 };

inline constexpr uint8_t kMuxOptionData = 0x01;
inline constexpr uint8_t kMuxOptionError = 0x02;
// kMaxMuxMetadata: Xray's FrameMetadata.Unmarshal refuses longer metadata.
inline constexpr size_t kMaxMuxMetadata = 512;
inline constexpr size_t kGlobalIdSize = 8;
using GlobalId = std::array<uint8_t, kGlobalIdSize>;

// MuxFrameHeader is everything in front of the data bytes.
struct MuxFrameHeader {
  uint16_t session_id = 0;
  MuxStatus status = MuxStatus::keep;
  uint8_t option = 0;
  bool has_target = false;  // NETWORK + address present
  MuxNetwork network = MuxNetwork::udp;
  TargetAddress target;
  bool has_global_id = false;  // New only
  GlobalId global_id{};
  bool has_data() const noexcept { return (option & kMuxOptionData) != 0; }
  bool error_flag() const noexcept { return (option & kMuxOptionError) != 0; }
};

// MuxFrame is a decoded frame; |data| points into the parser's input.
struct MuxFrame {
  MuxFrameHeader header;
  std::span<const uint8_t> data;  // empty unless header.has_data()
};

// mux_metadata_size is L for |h|.
size_t mux_metadata_size(const MuxFrameHeader& h) noexcept;
// mux_frame_overhead is 2 + L (+ 2 for the data length if has_data()).
size_t mux_frame_overhead(const MuxFrameHeader& h) noexcept;

// encode_mux_frame_header writes the length, the metadata and (if
// has_data()) the 2-byte |data_len|, so the data follows directly.
// invalid_argument: a New without a target, a GlobalID on a non-New, a
// target on End/KeepAlive, data_len > 65535 or data_len != 0 without the
// Data option. buffer_too_small if |out| is short. Returns bytes written.
Result<size_t> encode_mux_frame_header(const MuxFrameHeader& h, size_t data_len,
                                       std::span<uint8_t> out);

// parse_mux_frame decodes one frame from the front of |in| (see the table).
ParseResult<MuxFrame> parse_mux_frame(std::span<const uint8_t> in);

}  // namespace sluice::vless

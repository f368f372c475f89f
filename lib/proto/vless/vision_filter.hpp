// proto/vless/vision_filter.hpp: Vision's TrafficState and inner-TLS filter
// (vless.md section 7.4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One TrafficState is shared by the VisionWriter and VisionReader of one
// connection side: the writer learns from what it sends, the reader from what
// it delivers, and both act on the result (the server learns TLS 1.3 from the
// ServerHello it writes, the client from the one it reads; section 7.7).
//
// filter_tls looks at each inner-plaintext buffer while packets_to_filter > 0
// and decrements the budget once per buffer (it may go below zero; the
// writer's "finish one packet early" rule reads it). Per buffer:
//   starts 16 03 03 ?? ?? 02   an inner ServerHello: remaining_server_hello =
//                              record length + 5; is_tls = is_tls12_or_above
//                              = true; if the buffer and the record are both
//                              >= 79 bytes, cipher = the 2 bytes after the
//                              session id (offset 44 + b[43]);
//   starts 16 03 ?? ?? ?? 01   an inner ClientHello: is_tls = true;
//   while remaining_server_hello > 0: look for 00 2b 00 02 03 04
//   (supported_versions = TLS 1.3) in the part of this buffer that still
//   belongs to the ServerHello; found: enable_xtls = cipher is one of
//   1301, 1302, 1303, 1304 (not 1305, CCM_8), stop filtering; the ServerHello
//   ended without it (TLS 1.2): stop filtering.
// Checked line by line against XTLS/Xray-core proxy/proxy.go XtlsFilterTls
// (two revisions: the one with per-direction Inbound/Outbound reader and
// writer state and the older flat one; the filter is the same in both). The
// spec's "if len >= 79" is, in Xray, "buffer >= 79 and ServerHello record
// >= 79"; implemented as Xray has it.
//
// is_complete_record is Xray's IsCompleteRecord: the bytes are exactly a
// sequence of whole 17 03 03 LEN records (LEN > 0), and nothing else.
//
// Threading: owned by one connection, touched by its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice::vless {

// kVisionFilterPackets: how many buffers the filter inspects (section 7.4).
inline constexpr int kVisionFilterPackets = 8;

struct TrafficState {
  int packets_to_filter = kVisionFilterPackets;  // buffers left to inspect; may go < 0
  bool is_tls = false;                           // an inner ClientHello or ServerHello was seen
  bool is_tls12_or_above = false;                // an inner ServerHello was seen
  bool enable_xtls = false;  // TLS 1.3 with a suite other than CCM_8: direct copy allowed
  uint16_t cipher = 0;       // the ServerHello's cipher suite, 0 until seen
  int32_t remaining_server_hello = -1;  // ServerHello bytes not yet inspected; -1 none seen
};

// filter_tls inspects |buffers| in order (see above). Call it only while
// state.packets_to_filter > 0; it returns early once it has concluded.
void filter_tls(TrafficState& state, std::span<const std::span<const uint8_t>> buffers) noexcept;
// filter_tls_one is filter_tls over a single buffer; true when the filter
// concluded on it (a caller walking several buffers stops there).
bool filter_tls_one(TrafficState& state, std::span<const uint8_t> buffer) noexcept;

// is_complete_record: the concatenation of |buffers| is whole application-data
// records only (Xray IsCompleteRecord). An empty input is complete.
bool is_complete_record(std::span<const std::span<const uint8_t>> buffers) noexcept;

}  // namespace sluice::vless

// proto/vless/mux_frame.cpp: Mux.Cool frames (vless.md section 6.2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/mux_frame.hpp"

#include <cstring>

#include "proto/vless/address.hpp"

namespace sluice::vless {
namespace {

constexpr size_t kFixedMetadata = 4;  // SESSION + STATUS + OPTION

uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

size_t mux_metadata_size(const MuxFrameHeader& h) noexcept {
  size_t n = kFixedMetadata;
  if (h.has_target) n += 1 + addr_port_size(h.target);
  if (h.has_global_id) n += kGlobalIdSize;
  return n;
}

size_t mux_frame_overhead(const MuxFrameHeader& h) noexcept {
  return 2 + mux_metadata_size(h) + (h.has_data() ? 2 : 0);
}

Result<size_t> encode_mux_frame_header(const MuxFrameHeader& h, size_t data_len,
                                       std::span<uint8_t> out) {
  bool is_new = h.status == MuxStatus::new_session;
  if (is_new && !h.has_target) return Errc::invalid_argument;
  if (h.has_global_id && !is_new) return Errc::invalid_argument;
  if (h.has_target && !is_new && h.status != MuxStatus::keep) return Errc::invalid_argument;
  if (data_len > 0xffff || (!h.has_data() && data_len != 0)) return Errc::invalid_argument;
  size_t n = mux_frame_overhead(h);
  if (out.size() < n) return Errc::buffer_too_small;
  size_t meta = mux_metadata_size(h);
  uint8_t* p = out.data();
  *p++ = static_cast<uint8_t>(meta >> 8);
  *p++ = static_cast<uint8_t>(meta);
  *p++ = static_cast<uint8_t>(h.session_id >> 8);
  *p++ = static_cast<uint8_t>(h.session_id);
  *p++ = static_cast<uint8_t>(h.status);
  *p++ = h.option;
  if (h.has_target) {
    *p++ = static_cast<uint8_t>(h.network);
    auto a = encode_addr_port(h.target, {p, addr_port_size(h.target)});
    if (!a) return a.error();
    p += *a;
  }
  if (h.has_global_id) {
    std::memcpy(p, h.global_id.data(), kGlobalIdSize);
    p += kGlobalIdSize;
  }
  if (h.has_data()) {
    *p++ = static_cast<uint8_t>(data_len >> 8);
    *p++ = static_cast<uint8_t>(data_len);
  }
  return n;
}

ParseResult<MuxFrame> parse_mux_frame(std::span<const uint8_t> in) {
  using R = ParseResult<MuxFrame>;
  if (in.size() < 2) return R::more();
  size_t meta_len = be16(in.data());
  if (meta_len > kMaxMuxMetadata) return R::fail(Errc::frame_too_large);
  if (meta_len < kFixedMetadata) return R::fail(Errc::eof);
  // Fail on a bad status as soon as it arrives.
  if (in.size() >= 5 && (in[4] < 0x01 || in[4] > 0x04)) return R::fail(Errc::unknown_command);
  if (in.size() < 2 + meta_len) return R::more();
  std::span<const uint8_t> meta = in.subspan(2, meta_len);

  MuxFrame f;
  MuxFrameHeader& h = f.header;
  h.session_id = be16(meta.data());
  h.status = static_cast<MuxStatus>(meta[2]);
  h.option = meta[3];
  size_t pos = kFixedMetadata;
  switch (h.status) {
    case MuxStatus::new_session:
      // Xray: "insufficient buffer" below 8 (network + port + ATYP + 1).
      if (meta_len < 8) return R::fail(Errc::malformed);
      [[fallthrough]];
    case MuxStatus::keep:
      if (meta_len == kFixedMetadata) break;  // a Keep without address
      {
        uint8_t net = meta[pos++];
        if (net != static_cast<uint8_t>(MuxNetwork::tcp) &&
            net != static_cast<uint8_t>(MuxNetwork::udp)) {
          return R::fail(Errc::protocol_violation);
        }
        h.network = static_cast<MuxNetwork>(net);
        auto a = decode_addr_port(meta.subspan(pos));
        if (a.failed()) return R::fail(a.error);
        if (a.need_more()) return R::fail(Errc::malformed);  // address runs past L
        h.has_target = true;
        h.target = a.value;
        pos += a.consumed;
      }
      if (h.status == MuxStatus::new_session && meta_len - pos == kGlobalIdSize) {
        h.has_global_id = true;
        std::memcpy(h.global_id.data(), meta.data() + pos, kGlobalIdSize);
        pos += kGlobalIdSize;
      }
      if (pos != meta_len) return R::fail(Errc::malformed);
      break;
    case MuxStatus::end:
    case MuxStatus::keep_alive:
      if (meta_len != kFixedMetadata) return R::fail(Errc::malformed);
      break;
  }

  size_t end = 2 + meta_len;
  if (h.has_data()) {
    if (in.size() < end + 2) return R::more();
    size_t dlen = be16(in.data() + end);
    end += 2;
    if (in.size() < end + dlen) return R::more();
    f.data = in.subspan(end, dlen);
    end += dlen;
  }
  return R::ok(f, end);
}

}  // namespace sluice::vless

// vless_mux_frames.hpp: moving Mux.Cool frames (XUDP, vless.md section 6.2)
// between Slices and a VLESS byte stream, shared by the client flow and the
// server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// prepend_header puts a frame header (at most kXudpMaxHeader bytes) in
// front of a datagram: into the payload's headroom when it owns enough (no
// copy), else in a small pool slice of its own. deframe_mux takes whole
// frames off the front of what was received and hands each, parsed, to a
// callback with its data as a Slice: a view of the received Slice when the
// frame lies inside one (one TLS record), else of the one Slice the frame is
// gathered into (Chain::linearize).
#pragma once

#include <cstdint>

#include "proto/vless/mux_frame.hpp"
#include "proto/vless/xudp.hpp"
#include "sluice/buffer.hpp"

namespace sluice::vless {

// prepend_header: |write(std::span<uint8_t>) -> Result<size_t>| writes |n|
// header bytes; |out| receives header and payload.
template <typename W>
Status prepend_header(BufferPool& pool, Slice&& payload, size_t n, W&& write, Chain* out) {
  auto p = out->push_back_framed(std::move(payload), n, pool);
  if (!p) return p.error();
  auto w = write(std::span<uint8_t>(*p, n));
  if (!w) return w.error();
  if (*w != n) return Errc::internal;
  return {};
}

// deframe_mux calls |on_frame(const MuxFrame&, Slice&& data) -> bool| for
// each whole frame at the front of |in| (data empty when the frame has
// none) and removes it first; it stops when on_frame returns false. Returns the
// parse error of a malformed frame (the stream is then unusable).
template <typename F>
Status deframe_mux(Chain& in, BufferPool& pool, F&& on_frame) {
  for (;;) {
    // The frame's size: L(2) ‖ metadata(L) [‖ LEN(2) ‖ data(LEN)].
    // Only header bytes are copied here, never the data.
    uint8_t head[2 + kMaxMuxMetadata + 2];
    if (in.copy_out(head, 2) < 2) return {};
    const size_t l = (size_t{head[0]} << 8) | head[1];
    if (l > kMaxMuxMetadata) return Errc::frame_too_large;
    if (l < 4) return Errc::eof;  // Xray's reader ends the stream there
    const size_t have = in.copy_out(head, 2 + l + 2);
    if (have < 2 + l) return {};
    size_t total = 2 + l;
    size_t data_len = 0;
    if ((head[2 + 3] & kMuxOptionData) != 0) {
      if (have < 2 + l + 2) return {};
      data_len = (size_t{head[2 + l]} << 8) | head[2 + l + 1];
      total += 2 + data_len;
    }
    if (in.size() < total) return {};
    // A frame across Slices is gathered once into one new front Slice
    // (Chain::linearize); either way its data is then a view of the front.
    if (in.front().size() < total) {
      auto p = in.linearize(total, pool);
      if (!p) return p.error();
    }
    const uint8_t* base = in.front().data();
    auto r = parse_mux_frame({base, total});
    if (r.failed()) return r.error;
    if (!r.done() || r.consumed != total) return Errc::malformed;
    Slice data;
    if (!r.value.data.empty()) {
      const size_t off = static_cast<size_t>(r.value.data.data() - base);
      data = in.front().sub(off, r.value.data.size());
    }
    MuxFrame frame = r.value;
    frame.data = {};    // the bytes go on as |data|; the span dies with advance
    in.advance(total);  // before the callback, which may clear |in|
    const bool more = on_frame(frame, std::move(data));
    if (!more) return {};
  }
}

}  // namespace sluice::vless

// proto/vless/xudp_framing.hpp: XudpFraming, XUDP datagrams as Mux.Cool
// frames on session 0 (vless.md section 6.2) between Slices and a VLESS byte
// stream: the DatagramFraming of an XUDP stream, client or server end.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The frame policy is xudp.hpp's (XudpClient / XudpServer), the frame codec
// mux_frame.hpp's; this file moves frames between Slices and a stream.
//   client end: frame() writes New (with the first destination and the
//     optional GlobalID) for the first datagram, Keep with the datagram's
//     destination afterwards; take() reads the server's Keep frames, each
//     addressed with its source (or the first destination when it names
//     none).
//   server end: take() expects New first (UDP only), then Keep; after the
//     New frame started() is true and destination() / global_id() tell the
//     flow's first target and GlobalID (a New frame may carry no datagram:
//     check started() after every take). frame() writes Keep replies naming
//     their source.
// Frames without data and KeepAlive frames are consumed without a datagram.
// End (or a New on the client end, or a frame with metadata length < 4)
// makes take() return Errc::eof: the peer ended the flow. A frame that
// breaks the rules returns its Errc (xudp.hpp, mux_frame.hpp); either way
// the stream must then be closed.
//
// No copy on the way out: a header (at most kXudpMaxHeader bytes) goes into
// the payload's headroom when it owns enough, else into a small pool Slice
// in front. On the way in a frame inside one received Slice (one TLS record)
// is handed on as a view of it; one that spans Slices is gathered once
// (Chain::linearize).
//
// prepend_header / deframe_mux are the same steps as free functions, for
// code that works with frames directly.
//
// Threads: one stream's object, touched by its loop thread only.
#pragma once

#include <cstdint>

#include "proto/datagram_framing.hpp"
#include "proto/vless/mux_frame.hpp"
#include "proto/vless/udp.hpp"
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

class XudpFraming final : public DatagramFraming {
 public:
  // client: the client end of a stream whose first datagram goes to
  // |first|; |global_id| is sent on the New frame when non-null.
  static XudpFraming client(const TargetAddress& first,
                            const GlobalId* global_id = nullptr) noexcept {
    return XudpFraming(first, global_id);
  }
  // server: the server end.
  static XudpFraming server() noexcept { return XudpFraming(); }

  bool is_client() const noexcept { return client_role_; }
  // Server end: whether the New frame has been taken, and what it named.
  bool started() const noexcept { return server_.started(); }
  const TargetAddress& destination() const noexcept { return server_.destination(); }
  const GlobalId& global_id() const noexcept { return server_.global_id(); }

  // frame: client end, to |address| (New the first time, then Keep);
  // server end, a reply from |address|. frame_too_large past 65535 bytes;
  // no_memory.
  Status frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
               Chain* out) noexcept override;
  // take: see above (Errc::eof when the peer ended the flow).
  Result<bool> take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept override;

 private:
  XudpFraming(const TargetAddress& first, const GlobalId* global_id) noexcept
      : client_role_(true), client_(first, global_id) {}
  XudpFraming() noexcept : client_(TargetAddress{}) {}

  bool client_role_ = false;
  XudpClient client_;  // used at the client end
  XudpServer server_;  // used at the server end
};

}  // namespace sluice::vless

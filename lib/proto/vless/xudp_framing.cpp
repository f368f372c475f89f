// proto/vless/xudp_framing.cpp: XUDP datagrams on a stream.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/xudp_framing.hpp"

namespace sluice::vless {

Status XudpFraming::frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
                          Chain* out) noexcept {
  const size_t len = payload.size();
  if (len > kMaxUdpPayload) return Errc::frame_too_large;
  if (client_role_) {
    return prepend_header(
        pool, std::move(payload), client_.header_size(address),
        [&](std::span<uint8_t> o) { return client_.encode_header(address, len, o); }, out);
  }
  return prepend_header(
      pool, std::move(payload), XudpServer::header_size(address),
      [&](std::span<uint8_t> o) { return XudpServer::encode_header(address, len, o); }, out);
}

Result<bool> XudpFraming::take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept {
  bool taken = false;
  Errc stop = Errc::ok;
  Status st = deframe_mux(in, pool, [&](const MuxFrame& f, Slice&& data) {
    auto ev = client_role_ ? client_.on_frame(f) : server_.on_frame(f);
    if (!ev) {
      stop = ev.error();
      return false;
    }
    if (ev->kind == XudpEvent::end) {
      stop = Errc::eof;
      return false;
    }
    if (ev->kind != XudpEvent::datagram || data.empty()) return true;  // nothing to deliver
    d->address = ev->addr;
    d->payload = std::move(data);
    taken = true;
    return false;
  });
  if (!st) return st.error();
  if (stop != Errc::ok) return stop;
  return taken;
}

}  // namespace sluice::vless

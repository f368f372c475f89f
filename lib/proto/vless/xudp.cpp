// proto/vless/xudp.cpp: XUDP over Mux.Cool session 0 (vless.md section 6.2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/xudp.hpp"

namespace sluice::vless {
namespace {

XudpEvent data_event(const MuxFrame& f, const TargetAddress& fallback) {
  XudpEvent e;
  if (!f.header.has_data()) return e;
  e.kind = XudpEvent::datagram;
  e.addr = f.header.has_target ? f.header.target : fallback;
  e.data = f.data;
  return e;
}

XudpEvent end_event(const MuxFrame& f) {
  XudpEvent e;
  e.kind = XudpEvent::end;
  e.remote_error = f.header.error_flag();
  return e;
}

}  // namespace

XudpClient::XudpClient(const TargetAddress& destination, const GlobalId* global_id) noexcept
    : destination_(destination) {
  if (global_id) {
    global_id_ = *global_id;
    has_global_id_ = true;
  }
}

MuxFrameHeader XudpClient::header_for(const TargetAddress& to) const noexcept {
  MuxFrameHeader h;
  h.session_id = 0;
  h.status = new_sent_ ? MuxStatus::keep : MuxStatus::new_session;
  h.option = kMuxOptionData;
  h.has_target = true;
  h.network = MuxNetwork::udp;
  h.target = to;
  if (!new_sent_ && has_global_id_) {
    h.has_global_id = true;
    h.global_id = global_id_;
  }
  return h;
}

size_t XudpClient::header_size(const TargetAddress& to) const noexcept {
  return mux_frame_overhead(header_for(to));
}

Result<size_t> XudpClient::encode_header(const TargetAddress& to, size_t data_len,
                                         std::span<uint8_t> out) {
  auto n = encode_mux_frame_header(header_for(to), data_len, out);
  if (n) new_sent_ = true;
  return n;
}

Result<XudpEvent> XudpClient::on_frame(const MuxFrame& f) const {
  if (f.header.session_id != 0) return Errc::protocol_violation;
  switch (f.header.status) {
    case MuxStatus::keep:
      if (f.header.error_flag()) return end_event(f);
      return data_event(f, destination_);
    case MuxStatus::keep_alive:
      return XudpEvent{};
    case MuxStatus::end:
    case MuxStatus::new_session:
      break;
  }
  return end_event(f);
}

Result<XudpEvent> XudpServer::on_frame(const MuxFrame& f) {
  const MuxFrameHeader& h = f.header;
  if (h.session_id != 0) return Errc::protocol_violation;
  if (!started_) {
    if (h.status != MuxStatus::new_session) return Errc::protocol_violation;
    // A Vision user's Mux may only carry UDP; sluice serves no Mux TCP.
    if (h.network != MuxNetwork::udp) return Errc::not_supported;
    started_ = true;
    destination_ = h.target;
    if (h.has_global_id) global_id_ = h.global_id;
    if (h.error_flag()) return end_event(f);
    return data_event(f, destination_);
  }
  switch (h.status) {
    case MuxStatus::new_session:
      return Errc::protocol_violation;  // one session only
    case MuxStatus::keep:
      if (h.has_target && h.network != MuxNetwork::udp) return Errc::protocol_violation;
      if (h.error_flag()) return end_event(f);
      return data_event(f, destination_);
    case MuxStatus::keep_alive:
      return XudpEvent{};
    case MuxStatus::end:
      break;
  }
  return end_event(f);
}

size_t XudpServer::header_size(const TargetAddress& from) noexcept {
  MuxFrameHeader h;
  h.status = MuxStatus::keep;
  h.option = kMuxOptionData;
  h.has_target = true;
  h.target = from;
  return mux_frame_overhead(h);
}

Result<size_t> XudpServer::encode_header(const TargetAddress& from, size_t data_len,
                                         std::span<uint8_t> out) {
  MuxFrameHeader h;
  h.session_id = 0;
  h.status = MuxStatus::keep;
  h.option = kMuxOptionData;
  h.has_target = true;
  h.network = MuxNetwork::udp;
  h.target = from;
  return encode_mux_frame_header(h, data_len, out);
}

}  // namespace sluice::vless

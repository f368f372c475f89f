// proto/hysteria2/udp_message.cpp: UDPMessage codec, fragmentation and the
// one-packet defragmenter.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria2/udp_message.hpp"

#include <cstring>

namespace sluice::hysteria2 {

Result<size_t> encode_udp_header(const UdpHeader& h, std::string_view address,
                                 std::span<uint8_t> out) noexcept {
  if (address.empty() || address.size() > kMaxAddress) return Errc::invalid_argument;
  const size_t n = udp_header_size(address.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(h.session_id >> 24);
  p[1] = static_cast<uint8_t>(h.session_id >> 16);
  p[2] = static_cast<uint8_t>(h.session_id >> 8);
  p[3] = static_cast<uint8_t>(h.session_id);
  p[4] = static_cast<uint8_t>(h.packet_id >> 8);
  p[5] = static_cast<uint8_t>(h.packet_id);
  p[6] = h.frag_id;
  p[7] = h.frag_count;
  p += 8;
  p += write_varint(address.size(), p);
  std::memcpy(p, address.data(), address.size());
  return n;
}

Result<UdpMessage> parse_udp_message(std::span<const uint8_t> in) noexcept {
  if (in.size() < 9) return Errc::truncated;
  UdpMessage m;
  m.header.session_id =
      (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) | in[3];
  m.header.packet_id = static_cast<uint16_t>((in[4] << 8) | in[5]);
  m.header.frag_id = in[6];
  m.header.frag_count = in[7];
  auto alen = read_varint(in.subspan(8));
  if (!alen.done()) return Errc::truncated;
  if (alen.value == 0 || alen.value > kMaxAddress) return Errc::malformed;
  const size_t at = 8 + alen.consumed;
  if (in.size() - at < alen.value + 1) return Errc::truncated;  // address and >= 1 data byte
  if (m.header.frag_count == 0 || m.header.frag_id >= m.header.frag_count) return Errc::malformed;
  m.address = {reinterpret_cast<const char*>(in.data() + at), static_cast<size_t>(alen.value)};
  m.data = in.subspan(at + alen.value);
  return m;
}

size_t fragment_count(size_t header, size_t data_len, size_t max_payload) noexcept {
  if (data_len == 0 || max_payload <= header) return 0;
  if (header + data_len <= max_payload) return 1;
  const size_t chunk = max_payload - header;
  const size_t n = (data_len + chunk - 1) / chunk;
  return n > 255 ? 0 : n;
}

FragmentSpan fragment_span(size_t header, size_t data_len, size_t max_payload, size_t i) noexcept {
  const size_t chunk = max_payload > header ? max_payload - header : 0;
  if (header + data_len <= max_payload)
    return i == 0 ? FragmentSpan{0, data_len} : FragmentSpan{data_len, 0};
  const size_t off = chunk * i;
  if (off >= data_len) return {data_len, 0};
  return {off, data_len - off < chunk ? data_len - off : chunk};
}

void Defragmenter::reset() noexcept {
  if (count_ != 0) std::memset(have_, 0, count_);
  count_ = 0;
  got_ = 0;
  chunk_ = 0;
  tail_.clear();
}

void Defragmenter::drop() noexcept {
  drops_++;
  reset();
}

Defragmenter::Packet Defragmenter::feed(const UdpHeader& h,
                                        std::span<const uint8_t> data) noexcept {
  if (h.frag_count <= 1) return {true, data};
  if (h.frag_id >= h.frag_count) return {};
  if (count_ == 0 || h.packet_id != packet_id_ || h.frag_count != count_) {
    if (count_ != 0) drop();
    packet_id_ = h.packet_id;
    count_ = h.frag_count;
  }
  if (have_[h.frag_id]) return {};  // duplicate
  const size_t len = data.size();
  try {
    if (h.frag_id == count_ - 1) {
      if (len > kMaxUdpPayload) {
        drop();
        return {};
      }
      tail_.assign(data.begin(), data.end());
    } else {
      if (chunk_ == 0) chunk_ = len;
      // Non-last fragments all carry the sender's chunk; anything else (or
      // a packet over kMaxUdpPayload) cannot be placed.
      const size_t end = size_t{h.frag_id + 1u} * chunk_;
      if (len != chunk_ || end > kMaxUdpPayload) {
        drop();
        return {};
      }
      if (buf_.size() < end) buf_.resize(end);
      std::memcpy(buf_.data() + size_t{h.frag_id} * chunk_, data.data(), len);
    }
  } catch (...) {  // no memory: the packet is lost, as UDP may lose it
    drop();
    return {};
  }
  have_[h.frag_id] = true;
  if (++got_ < count_) return {};
  const size_t tail_at = chunk_ * (count_ - 1u);
  const size_t total = tail_at + tail_.size();
  if (total > kMaxUdpPayload) {
    drop();
    return {};
  }
  try {
    if (buf_.size() < total) buf_.resize(total);
  } catch (...) {
    drop();
    return {};
  }
  std::memcpy(buf_.data() + tail_at, tail_.data(), tail_.size());
  reset();
  return {true, {buf_.data(), total}};
}

}  // namespace sluice::hysteria2

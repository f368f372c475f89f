// proto/hysteria1/udp_message.cpp: Hysteria v1 UDPMessage codec.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/hysteria1/udp_message.hpp"

#include <cstring>

namespace sluice::hysteria1 {

Result<size_t> encode_udp_header(const UdpHeader& h, std::string_view host, uint16_t port,
                                 size_t data_len, std::span<uint8_t> out) noexcept {
  if (host.empty() || host.size() > kMaxUdpHost || data_len > 0xffff || h.frag_count == 0 ||
      h.frag_id >= h.frag_count)
    return Errc::invalid_argument;
  const size_t n = udp_header_size(host.size());
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(h.session_id >> 24);
  p[1] = static_cast<uint8_t>(h.session_id >> 16);
  p[2] = static_cast<uint8_t>(h.session_id >> 8);
  p[3] = static_cast<uint8_t>(h.session_id);
  p[4] = static_cast<uint8_t>(host.size() >> 8);
  p[5] = static_cast<uint8_t>(host.size());
  std::memcpy(p + 6, host.data(), host.size());
  p += 6 + host.size();
  p[0] = static_cast<uint8_t>(port >> 8);
  p[1] = static_cast<uint8_t>(port);
  p[2] = static_cast<uint8_t>(h.msg_id >> 8);
  p[3] = static_cast<uint8_t>(h.msg_id);
  p[4] = h.frag_id;
  p[5] = h.frag_count;
  p[6] = static_cast<uint8_t>(data_len >> 8);
  p[7] = static_cast<uint8_t>(data_len);
  return n;
}

Result<UdpMessage> parse_udp_message(std::span<const uint8_t> in) noexcept {
  if (in.size() < udp_header_size(0)) return Errc::truncated;
  UdpMessage m;
  const uint8_t* p = in.data();
  m.header.session_id =
      (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  const size_t host_len = static_cast<size_t>((p[4] << 8) | p[5]);
  if (host_len == 0 || host_len > kMaxUdpHost) return Errc::malformed;
  if (in.size() < udp_header_size(host_len)) return Errc::truncated;
  m.host = {reinterpret_cast<const char*>(p + 6), host_len};
  p += 6 + host_len;
  m.port = static_cast<uint16_t>((p[0] << 8) | p[1]);
  m.header.msg_id = static_cast<uint16_t>((p[2] << 8) | p[3]);
  m.header.frag_id = p[4];
  m.header.frag_count = p[5];
  const size_t data_len = static_cast<size_t>((p[6] << 8) | p[7]);
  if (m.header.frag_count == 0 || m.header.frag_id >= m.header.frag_count) return Errc::malformed;
  if (m.header.frag_count > 1 && m.header.msg_id == 0) return Errc::malformed;
  const size_t at = udp_header_size(host_len);
  if (in.size() - at < data_len) return Errc::truncated;
  if (in.size() - at > data_len) return Errc::malformed;
  // The official sender never cuts an empty fragment; one would only
  // confuse reassembly.
  if (m.header.frag_count > 1 && data_len == 0) return Errc::malformed;
  m.data = in.subspan(at, data_len);
  return m;
}

}  // namespace sluice::hysteria1

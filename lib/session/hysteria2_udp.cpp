// session/hysteria2_udp.cpp: UDPMessages over QUIC DATAGRAM frames.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/hysteria2_udp.hpp"

#include <cstring>

#include "sluice/cipher.hpp"

namespace sluice::hysteria2 {

namespace {
uint16_t random_packet_id() noexcept {
  uint8_t b[2];
  do {
    random_bytes(b);
  } while (b[0] == 0 && b[1] == 0);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
}  // namespace

Status send_udp(quic::Connection& c, BufferPool& pool, uint32_t sid, std::string_view address,
                Slice&& payload) noexcept {
  if (payload.empty() || address.empty() || address.size() > kMaxAddress)
    return Errc::invalid_argument;
  const size_t hdr = udp_header_size(address.size());
  if (payload.size() > kMaxUdpPayload) return Errc::frame_too_large;
  size_t maxp = c.max_datagram_payload();
  if (maxp == 0) return Errc::not_supported;
  if (maxp > kDatagramPayloadLimit) maxp = kDatagramPayloadLimit;
  const size_t count = fragment_count(hdr, payload.size(), maxp);
  if (count == 0) return Errc::frame_too_large;
  UdpHeader h{sid, 0, 0, 1};
  if (count == 1) {
    if (payload.unique() && payload.headroom() >= hdr) {
      uint8_t* p = payload.prepend(hdr);
      (void)encode_udp_header(h, address, {p, hdr});
      return c.send_datagram(std::move(payload));
    }
    auto out = pool.get(hdr + payload.size());
    if (!out) return out.error();
    (void)encode_udp_header(h, address, {out->append(hdr), hdr});
    std::memcpy(out->append(payload.size()), payload.data(), payload.size());
    return c.send_datagram(std::move(*out));
  }
  h.packet_id = random_packet_id();
  h.frag_count = static_cast<uint8_t>(count);
  for (size_t i = 0; i < count; ++i) {
    const FragmentSpan sp = fragment_span(hdr, payload.size(), maxp, i);
    h.frag_id = static_cast<uint8_t>(i);
    auto out = pool.get(hdr + sp.length);
    if (!out) return out.error();
    (void)encode_udp_header(h, address, {out->append(hdr), hdr});
    std::memcpy(out->append(sp.length), payload.data() + sp.offset, sp.length);
    if (Status st = c.send_datagram(std::move(*out)); !st) return st;
  }
  return {};
}

}  // namespace sluice::hysteria2

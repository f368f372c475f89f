// session/hysteria1_udp.cpp: Hysteria v1 UDPMessages over QUIC DATAGRAM
// frames.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/hysteria1_udp.hpp"

#include <cstring>

#include "session/hysteria2_udp.hpp"
#include "sluice/cipher.hpp"

namespace sluice::hysteria1 {

namespace {
uint16_t random_msg_id() noexcept {
  uint8_t b[2];
  do {
    random_bytes(b);
  } while (b[0] == 0 && b[1] == 0);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
}  // namespace

Status send_udp(quic::Connection& c, BufferPool& pool, uint32_t sid, std::string_view host,
                uint16_t port, Slice&& payload) noexcept {
  if (host.empty() || host.size() > kMaxUdpHost) return Errc::invalid_argument;
  const size_t hdr = udp_header_size(host.size());
  if (payload.size() > kMaxUdpPayload) return Errc::frame_too_large;
  size_t maxp = c.max_datagram_payload();
  if (maxp == 0) return Errc::not_supported;
  if (maxp > hysteria2::kDatagramPayloadLimit) maxp = hysteria2::kDatagramPayloadLimit;
  UdpHeader h{sid, 0, 0, 1};
  if (hdr + payload.size() <= maxp) {
    if (payload.unique() && payload.headroom() >= hdr) {
      const size_t n = payload.size();
      uint8_t* p = payload.prepend(hdr);
      (void)encode_udp_header(h, host, port, n, {p, hdr});
      return c.send_datagram(std::move(payload));
    }
    auto out = pool.get(hdr + payload.size());
    if (!out) return out.error();
    (void)encode_udp_header(h, host, port, payload.size(), {out->append(hdr), hdr});
    if (!payload.empty()) std::memcpy(out->append(payload.size()), payload.data(), payload.size());
    return c.send_datagram(std::move(*out));
  }
  const size_t count = fragment_count(hdr, payload.size(), maxp);
  if (count == 0) return Errc::frame_too_large;
  h.msg_id = random_msg_id();
  h.frag_count = static_cast<uint8_t>(count);
  for (size_t i = 0; i < count; ++i) {
    const FragmentSpan sp = fragment_span(hdr, payload.size(), maxp, i);
    h.frag_id = static_cast<uint8_t>(i);
    auto out = pool.get(hdr + sp.length);
    if (!out) return out.error();
    (void)encode_udp_header(h, host, port, sp.length, {out->append(hdr), hdr});
    std::memcpy(out->append(sp.length), payload.data() + sp.offset, sp.length);
    if (Status st = c.send_datagram(std::move(*out)); !st) return st;
  }
  return {};
}

}  // namespace sluice::hysteria1

// fuzz/hysteria2_udp_fuzz.cpp: the Hysteria v2 UDPMessage parser and the
// one-packet defragmenter. The input is a sequence of datagrams, each
// prefixed by a 2-byte length; every parsed message must re-encode to the
// same fields, and whatever the defragmenter delivers must be a
// whole unfragmented payload or the in-order concatenation of one packet's
// fragments, never over kMaxUdpPayload.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <vector>

#include "proto/hysteria2/udp_message.hpp"

using namespace sluice;
using namespace sluice::hysteria2;

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}

// fits_after_replace: a fragment that started a new packet (after the old
// one was dropped) is kept unless it alone breaks the size rules.
bool fits_after_replace(const UdpMessage& m) {
  const size_t len = m.data.size();
  if (m.header.frag_id == m.header.frag_count - 1) return len <= kMaxUdpPayload;
  return size_t{m.header.frag_id + 1u} * len <= kMaxUdpPayload;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Defragmenter* defrag = new Defragmenter();  // reused: state must reset cleanly
  defrag->reset();
  // The fragments seen of the packet in progress, to check a delivery.
  uint16_t cur_id = 0;
  uint8_t cur_count = 0;
  std::map<uint8_t, std::vector<uint8_t>> parts;
  std::span<const uint8_t> in(data, size);
  while (in.size() >= 2) {
    const size_t n = std::min<size_t>((in[0] << 8) | in[1], in.size() - 2);
    std::span<const uint8_t> dg = in.subspan(2, n);
    in = in.subspan(2 + n);
    auto m = parse_udp_message(dg);
    if (!m) continue;
    require(!m->data.empty() && !m->address.empty() && m->address.size() <= kMaxAddress);
    require(m->header.frag_id < m->header.frag_count);
    std::vector<uint8_t> hdr(udp_header_size(m->address.size()));
    auto w = encode_udp_header(m->header, m->address, hdr);
    require(w.has_value() && *w == hdr.size());
    // The fixed fields re-encode byte for byte; the address length may have
    // come as a longer varint than ours (QUIC allows any length), so the
    // address and data are checked by position and by a re-parse.
    require(std::memcmp(hdr.data(), dg.data(), 8) == 0);
    require(reinterpret_cast<const uint8_t*>(m->address.data()) + m->address.size() ==
            m->data.data());
    require(m->data.data() + m->data.size() == dg.data() + dg.size());
    std::vector<uint8_t> again = hdr;
    again.insert(again.end(), m->data.begin(), m->data.end());
    auto m2 = parse_udp_message(again);
    require(m2.has_value() && m2->address == m->address && m2->data.size() == m->data.size());
    // The model: the defragmenter keeps one packet; a fragment of another
    // packet replaces it; a fragment that cannot be placed (a non-last one
    // whose length differs from the packet's others, or one past
    // kMaxUdpPayload) discards the packet and itself.
    const uint64_t drops_before = defrag->drops();
    if (m->header.frag_count > 1) {
      const bool other =
          cur_count == 0 || m->header.packet_id != cur_id || m->header.frag_count != cur_count;
      if (other) parts.clear();
      cur_id = m->header.packet_id;
      cur_count = m->header.frag_count;
      parts.emplace(m->header.frag_id, std::vector<uint8_t>(m->data.begin(), m->data.end()));
    }
    auto p = defrag->feed(*m);
    // A drop beyond the replacement of another packet means this fragment
    // was refused: the packet in progress is gone.
    const uint64_t drops = defrag->drops() - drops_before;
    const bool replaced = drops > 0 && parts.size() == 1 && m->header.frag_count > 1 &&
                          !p.complete && drops == 1 && fits_after_replace(*m);
    if (drops > 0 && !replaced) {
      parts.clear();
      cur_count = 0;
    }
    if (!p.complete) continue;
    require(p.data.size() <= kMaxUdpPayload);
    if (m->header.frag_count <= 1) {
      require(p.data.data() == m->data.data());
      continue;
    }
    std::vector<uint8_t> whole;
    for (auto& [id, part] : parts) whole.insert(whole.end(), part.begin(), part.end());
    require(parts.size() == cur_count);
    require(whole.size() == p.data.size() &&
            std::memcmp(whole.data(), p.data.data(), whole.size()) == 0);
    parts.clear();
    cur_count = 0;
  }
  return 0;
}

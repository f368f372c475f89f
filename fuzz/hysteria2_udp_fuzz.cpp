// fuzz/hysteria2_udp_fuzz.cpp: the Hysteria v2 UDPMessage parser and the
// one-packet defragmenter. The input is a sequence of datagrams, each
// prefixed by a 2-byte length; every parsed message must re-encode its
// header byte for byte, and whatever the defragmenter delivers must be a
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
    require(std::memcmp(hdr.data(), dg.data(), hdr.size()) == 0);
    require(m->data.data() == dg.data() + hdr.size());
    if (m->header.frag_count > 1) {
      if (m->header.packet_id != cur_id || m->header.frag_count != cur_count) parts.clear();
      cur_id = m->header.packet_id;
      cur_count = m->header.frag_count;
      parts.emplace(m->header.frag_id, std::vector<uint8_t>(m->data.begin(), m->data.end()));
    }
    auto p = defrag->feed(*m);
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

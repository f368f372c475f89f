// fuzz/hysteria1_udp_fuzz.cpp: the Hysteria v1 UDPMessage parser and the
// per-connection defragmenter (shared with Hysteria v2). The input is a
// sequence of datagrams, each prefixed by a 2-byte length; every parsed
// message must re-encode its header byte for byte, and whatever the
// defragmenter delivers must be an unfragmented message's own data or a
// reassembly no longer than kMaxUdpPayload whose last bytes are the
// delivering fragment's.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/hysteria1/udp_message.hpp"

using namespace sluice;
using namespace sluice::hysteria1;

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static hysteria2::Defragmenter* defrag = new hysteria2::Defragmenter();
  defrag->reset();
  std::span<const uint8_t> in(data, size);
  while (in.size() >= 2) {
    const size_t n = std::min<size_t>((in[0] << 8) | in[1], in.size() - 2);
    std::span<const uint8_t> dg = in.subspan(2, n);
    in = in.subspan(2 + n);
    auto m = parse_udp_message(dg);
    if (!m) continue;
    require(!m->host.empty() && m->host.size() <= kMaxUdpHost);
    require(m->header.frag_id < m->header.frag_count);
    require(m->header.frag_count == 1 || (m->header.msg_id != 0 && !m->data.empty()));
    const size_t hs = udp_header_size(m->host.size());
    require(dg.size() == hs + m->data.size());
    std::vector<uint8_t> hdr(hs);
    auto w = encode_udp_header(m->header, m->host, m->port, m->data.size(), hdr);
    require(w.has_value() && *w == hs);
    require(std::memcmp(hdr.data(), dg.data(), hs) == 0);
    require(m->data.data() == dg.data() + hs);
    auto p = defrag->feed(defrag_header(m->header), m->data);
    if (!p.complete) continue;
    require(p.data.size() <= kMaxUdpPayload);
    if (m->header.frag_count == 1) {
      require(p.data.data() == m->data.data() && p.data.size() == m->data.size());
    } else {
      require(p.data.size() >= m->data.size());
    }
  }
  return 0;
}

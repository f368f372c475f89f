// fuzz/tuic_reassembly_fuzz.cpp: TUIC fragment reassembly fed a sequence of
// Packet datagrams made from arbitrary bytes (headers parsed as a server
// would), on a clock that moves with the input. Whatever arrives, the
// reassembler stays within its bounds and delivers only whole datagrams no
// larger than kMaxPacketSize, with an address.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/tuic/reassembly.hpp"
#include "proto/tuic/tuic.hpp"
#include "sluice/buffer.hpp"

using namespace sluice;
using namespace sluice::tuic;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

// Input: records of [len u8][time step u8][len bytes of datagram].
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static BufferPool pool;
  ReassemblerOptions o;
  o.max_partial = 8;
  o.lifetime_ms = 1000;
  Reassembler r(o);
  uint64_t now = 0;
  uint64_t delivered = 0;
  std::span<const uint8_t> in(data, size);
  while (in.size() >= 2) {
    const size_t len = in[0];
    now += static_cast<uint64_t>(in[1]) * 16;
    in = in.subspan(2);
    std::span<const uint8_t> dg = in.first(len < in.size() ? len : in.size());
    in = in.subspan(dg.size());
    auto p = parse_datagram(dg);
    if (!p.done() || p.value.command != Command::packet) continue;
    auto s = pool.copy_from(dg.data() + p.consumed, p.value.packet.size);
    require(s.has_value());
    Reassembled out;
    auto res = r.add(p.value.packet, std::move(*s), now, pool, &out);
    require(r.partial() <= o.max_partial);
    if (res == Reassembler::Outcome::complete) {
      require(out.payload.size() <= kMaxPacketSize);
      require(out.assoc_id == p.value.packet.assoc_id);
      ++delivered;
    }
    // add() expired what was due, so what is left expires later.
    if (r.partial() > 0) require(r.next_expiry() > now && r.next_expiry() <= now + o.lifetime_ms);
  }
  require(r.stats().delivered == delivered);
  r.expire(now + o.lifetime_ms);
  require(r.partial() == 0);
  return 0;
}

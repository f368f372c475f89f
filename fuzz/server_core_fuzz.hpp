// fuzz/server_core_fuzz.hpp: what every server handshake core must do on
// arbitrary bytes, fed the way the ServerDriver feeds them (everything
// received so far, growing in pieces whose sizes come from the input):
// decisions are well formed, a decision is final, consumed never exceeds
// what was given, output stays bounded, and the deadline and end-of-stream
// answers are fallback or reject.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/server_handshake.hpp"

namespace sluice::fuzz {

inline void require(bool cond) {
  if (!cond) std::abort();
}

inline void check_refusal(const ServerDecision& d) {
  require(d.kind == ServerDecision::fallback || d.kind == ServerDecision::reject);
  require(d.error != Errc::ok);
  require(d.reason != nullptr && d.reason[0] != '\0');
  require(d.cause != RefusalCause::none);
}

// run_core feeds |in| (after a first byte that picks the piece size) to
// |core| and returns the final decision (need_more if the bytes ran out).
inline ServerDecision run_core(ServerCore& core, std::span<const uint8_t> in, uint8_t seed) {
  size_t have = 0;
  size_t piece = 1 + seed % 23;
  ServerDecision d;
  while (have < in.size()) {
    have = std::min(in.size(), have + piece);
    piece = 1 + (piece * 7 + seed) % 61;
    const size_t n = std::min(have, core.max_header());
    d = core.feed(in.first(n));
    require(core.output().size() <= 64 * 1024);
    core.clear_output();
    if (d.kind == ServerDecision::need_more) continue;
    if (d.kind == ServerDecision::open || d.kind == ServerDecision::datagram) {
      require(d.consumed > 0 && d.consumed <= n);
      require(d.error == Errc::ok);
      core.answer(seed & 1 ? Errc::ok : Errc::connection_refused, TargetAddress());
      require(core.output().size() <= 64 * 1024);
      core.clear_output();
    } else {
      check_refusal(d);
    }
    return d;
  }
  check_refusal(core.expired(have));
  check_refusal(core.eof(have));
  return d;
}

}  // namespace sluice::fuzz

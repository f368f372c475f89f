// fuzz/tuic_connect_fuzz.cpp: tuic::ConnectCore, the server side of a TUIC
// bidirectional stream, on arbitrary bytes (see server_core_fuzz.hpp). An
// opened stream must name the Connect's target, and re-encoding that
// Connect must give back exactly the bytes the core consumed.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstring>
#include <span>

#include "proto/tuic/connect_core.hpp"
#include "proto/tuic/tuic.hpp"
#include "server_core_fuzz.hpp"

using namespace sluice;
using namespace sluice::tuic;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  ConnectCore core;
  ServerDecision d = fuzz::run_core(core, in, data[0]);
  fuzz::require(d.kind != ServerDecision::datagram && d.kind != ServerDecision::fallback);
  if (d.kind != ServerDecision::open) return 0;
  fuzz::require(d.command == static_cast<uint8_t>(Command::connect));
  uint8_t enc[2 + kMaxAddressSize];
  fuzz::require(connect_size(d.target) == d.consumed && d.consumed <= sizeof enc);
  fuzz::require(encode_connect(d.target, enc) == d.consumed);
  fuzz::require(std::memcmp(enc, in.data(), d.consumed) == 0);
  // The core never answers: TCP bytes follow the header directly.
  fuzz::require(core.output().empty());
  return 0;
}

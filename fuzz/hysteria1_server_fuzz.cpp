// fuzz/hysteria1_server_fuzz.cpp: the Hysteria v1 server cores on arbitrary
// bytes: ControlCore (the control stream's ClientHello, fed in growing
// pieces as a stream delivers it) and the request-stream ServerCore (see
// server_core_fuzz.hpp). The first byte's top bit picks the core.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/hysteria1/hysteria1.hpp"
#include "proto/hysteria1/server.hpp"
#include "server_core_fuzz.hpp"

using namespace sluice;
using namespace sluice::hysteria1;

namespace {

constexpr uint64_t kUp = 1'000'000;
constexpr uint64_t kDown = 2'000'000;

void control(std::span<const uint8_t> in, uint8_t seed) {
  ControlCore core({"fuzz auth", "second"}, seed & 1 ? kUp : 0, seed & 2 ? kDown : 0);
  size_t have = 0;
  size_t piece = 1 + seed % 17;
  while (have < in.size()) {
    have = std::min(in.size(), have + piece);
    piece = 1 + (piece * 5 + seed) % 53;
    ControlCore::Decision d = core.feed(in.first(have));
    if (d.kind == ControlCore::Decision::need_more) {
      fuzz::require(core.output().empty());
      continue;
    }
    if (d.kind == ControlCore::Decision::close) {
      fuzz::require(d.error != Errc::ok && d.close_code == kCloseProtocolError);
      fuzz::require(!d.reason.empty() && core.output().empty());
      return;
    }
    // An answer is a ServerHello that parses back to what was decided.
    auto hello = parse_server_hello(core.output());
    fuzz::require(hello.done() && hello.consumed == core.output().size());
    fuzz::require(hello.value.ok == d.accepted);
    if (d.accepted) {
      fuzz::require(d.user < 2 && d.error == Errc::ok);
      fuzz::require(d.rates.send_bps != 0 && d.rates.recv_bps != 0);
      if (seed & 1) fuzz::require(d.rates.send_bps <= kUp);
      if (seed & 2) fuzz::require(d.rates.recv_bps <= kDown);
      fuzz::require(hello.value.send_bps == d.rates.send_bps);
      fuzz::require(hello.value.recv_bps == d.rates.recv_bps);
    } else {
      fuzz::require(d.error == Errc::auth_failed && d.close_code == kCloseAuthError);
    }
    return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] & 0x80) {
    control(in, data[0]);
    return 0;
  }
  hysteria1::ServerCore core("fuzz user");
  ServerDecision d = fuzz::run_core(core, in, data[0]);
  if (d.kind == ServerDecision::open) fuzz::require(d.user == "fuzz user");
  // The core serves TCP requests only: UDP goes through the connection.
  fuzz::require(d.kind != ServerDecision::datagram);
  return 0;
}

// fuzz/vless_server_fuzz.cpp: vless::ServerCore on arbitrary bytes (see
// server_core_fuzz.hpp), with a plain and a Vision user, over TLS 1.3 or not
// (the first byte's top bit).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <vector>

#include "proto/vless/server.hpp"
#include "server_core_fuzz.hpp"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<vless::ServerUser> users = {
      {"plain", vless::uuid_v5_nil("plain"), vless::Flow::none},
      {"vision", vless::uuid_v5_nil("vision"), vless::Flow::vision}};
  vless::ServerCore core(users, (data[0] & 0x80) != 0);
  ServerDecision d = fuzz::run_core(core, {data + 1, size - 1}, data[0]);
  if (d.kind == ServerDecision::open || d.kind == ServerDecision::datagram) {
    fuzz::require(core.user() != nullptr && core.decided());
    fuzz::require(!core.vision() || (data[0] & 0x80) != 0);
  }
  return 0;
}

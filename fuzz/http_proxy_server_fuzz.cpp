// fuzz/http_proxy_server_fuzz.cpp: http::ProxyServerCore and the mixed core
// on arbitrary bytes (see server_core_fuzz.hpp), with and without Basic
// credentials.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <vector>

#include "proto/http_connect/proxy_core.hpp"
#include "server_core_fuzz.hpp"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<UserPass> users = {{"user", "pass"}};
  std::span<const UserPass> u;
  if (data[0] & 0x80) u = users;
  std::span<const uint8_t> in(data + 1, size - 1);
  if (data[0] & 0x40) {
    http::MixedServerCore core(u, true);
    (void)fuzz::run_core(core, in, data[0]);
    return 0;
  }
  http::ProxyServerCore core(u);
  ServerDecision d = fuzz::run_core(core, in, data[0]);
  if (d.kind == ServerDecision::open && !core.request().connect)
    fuzz::require(!core.target_prefix().empty());
  return 0;
}

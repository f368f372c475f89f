// fuzz/socks5_server_fuzz.cpp: socks5::ServerCore on arbitrary bytes (see
// server_core_fuzz.hpp), with and without RFC 1929 users and UDP.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <vector>

#include "proto/socks5/server_core.hpp"
#include "server_core_fuzz.hpp"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<UserPass> users = {{"user", "pass"}};
  std::span<const UserPass> u;
  if (data[0] & 0x80) u = users;
  socks5::ServerCore core(u, (data[0] & 0x40) != 0);
  ServerDecision d = fuzz::run_core(core, {data + 1, size - 1}, data[0]);
  if (d.kind == ServerDecision::datagram) fuzz::require((data[0] & 0x40) != 0);
  if ((d.kind == ServerDecision::open || d.kind == ServerDecision::datagram) && (data[0] & 0x80))
    fuzz::require(d.user == "user");
  return 0;
}

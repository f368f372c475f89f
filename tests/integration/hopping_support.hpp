// hopping_support.hpp: the port-hopping checks shared by the Hysteria v1
// and v2 integration tests.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "quic/endpoint.hpp"
#include "support.hpp"

namespace sluice::test {

// echo_across_hops echoes hash-checked 1 MiB pieces on |fd| (an open tunnel
// to an echo server) until the client's hop count, read on |client_engine|
// through |hops|, has grown by at least three since the first piece and at
// least four pieces went through; bounded at 20 s. It prints what it saw
// under |name| and checks that every piece came back and the hops
// happened.
template <typename Hops>
void echo_across_hops(const char* name, int fd, Engine& client_engine, Hops hops) {
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t now_hops = 0, first_hops = 0;
  size_t pieces = 0;
  bool ok = true;
  do {
    ok = echo_transfer(fd, 1u << 20, 1000 + pieces, false);
    if (pieces++ == 0) first_hops = on_loop(client_engine, hops);
    now_hops = on_loop(client_engine, hops);
  } while (ok && (now_hops < first_hops + 3 || pieces < 4) &&
           std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  std::printf("%s hopping: %zu MiB echoed in %.2f s across %llu hops\n", name, pieces,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              static_cast<unsigned long long>(now_hops - first_hops));
  INFO("pieces " << pieces << ", hops " << first_hops << " -> " << now_hops);
  CHECK(ok);
  CHECK(now_hops >= first_hops + 3);
}

// ports_heard counts the ports of a server |ep| (on |server_engine|) that
// received packets.
inline size_t ports_heard(Engine& server_engine, quic::Endpoint& ep) {
  return on_loop(server_engine, [&] {
    size_t n = 0;
    auto& sock = ep.socket();
    for (size_t i = 0; i < sock.leg_count(); ++i) n += sock.leg_received(i) > 0;
    return n;
  });
}

}  // namespace sluice::test

// fuzz/trojan_server_fuzz.cpp: trojan::ServerCore on arbitrary bytes (see
// server_core_fuzz.hpp), and its UdpFraming on what follows an accepted
// UDP ASSOCIATE header.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/trojan/server.hpp"
#include "server_core_fuzz.hpp"
#include "sluice/buffer.hpp"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static trojan::TrojanUsers* users = [] {
    auto* u = new trojan::TrojanUsers();
    u->add("alice", "fuzz password");
    return u;
  }();
  static BufferPool pool;
  std::span<const uint8_t> in(data + 1, size - 1);
  trojan::ServerCore core(*users);
  ServerDecision d = fuzz::run_core(core, in, data[0]);
  if (d.kind == ServerDecision::open || d.kind == ServerDecision::datagram)
    fuzz::require(d.user == "alice");
  if (d.kind != ServerDecision::datagram) return 0;
  auto framing = core.framing();
  fuzz::require(framing != nullptr);
  Chain c;
  auto rest = in.subspan(d.consumed);
  if (!rest.empty()) {
    auto s = pool.copy_from(rest.data(), rest.size());
    fuzz::require(s.has_value());
    fuzz::require(c.push_back(std::move(*s)).has_value());
  }
  for (;;) {
    FramedDatagram dg;
    auto r = framing->take(c, pool, &dg);
    if (!r || !*r) break;
    Chain out;
    const size_t len = dg.payload.size();
    fuzz::require(static_cast<bool>(framing->frame(dg.address, std::move(dg.payload), pool, &out)));
    fuzz::require(out.size() == trojan::udp_header_size(dg.address) + len);
  }
  return 0;
}

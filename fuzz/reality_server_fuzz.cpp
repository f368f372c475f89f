// fuzz/reality_server_fuzz.cpp: the REALITY server's inspection of a
// client's first bytes and of the handshake target's answer, on arbitrary
// bytes.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// 1. The input, as the client's bytes, goes to ClientHelloReader at every
//    split point of its first 64 bytes and whole: a prefix of a hello never
//    reads as anything but need_more or the same verdict, and a parsed hello
//    goes to ServerAuth (the documented test vector's key, names and short
//    id) whose decision must carry a reason exactly when it refuses. A corpus
//    seeded with the vector's sealed hello reaches the authenticated path.
// 2. The input, as the target's bytes, goes to TargetHelloReader; a usable
//    answer yields the engine configuration (whose flight length is bounded).
// 3. The input, as a certificate, goes to the REALITY certificate check.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "proto/reality/certificate.hpp"
#include "proto/reality/server_auth.hpp"
#include "proto/reality/target_hello.hpp"

using namespace sluice;
using namespace sluice::reality;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

ServerAuth& server() {
  static ServerAuth s([] {
    ServerOptions o;
    for (uint8_t i = 0; i < 32; ++i) o.private_key[i] = static_cast<uint8_t>(i + 1);
    o.server_names = {"www.example.com"};
    o.short_ids = {ShortId{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}};
    o.replay_capacity = 0;  // every run sees the same hello fresh
    return o;
  }());
  return s;
}

void client_bytes(std::span<const uint8_t> in) {
  ClientHelloReader whole;
  const auto verdict = whole.read(in);
  for (size_t n = 0; n < in.size() && n < 64; ++n) {
    ClientHelloReader part;
    const auto v = part.read(in.first(n));
    require(v == ClientHelloReader::State::need_more || v == verdict);
  }
  if (verdict == ClientHelloReader::State::not_tls) require(whole.reason()[0] != '\0');
  if (verdict != ClientHelloReader::State::done) return;
  require(whole.consumed() <= in.size());
  const Decision d = server().inspect(whole.hello(), uint64_t{0x68000000} * 1000);
  require(d.authenticated == (d.reason[0] == '\0'));
}

void target_bytes(std::span<const uint8_t> in) {
  TargetHelloReader t;
  const auto st = t.read(in);
  if (st == TargetHelloReader::State::unusable) require(t.reason()[0] != '\0');
  if (st == TargetHelloReader::State::done || st == TargetHelloReader::State::partial) {
    require(t.flight_record_length() <= 5 + 16384 + 1 + 16);
    require(t.hello().extension_order.size() <= 2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  client_bytes(in);
  target_bytes(in);
  AuthKey key{};
  (void)is_reality_certificate(in, key);
  return 0;
}

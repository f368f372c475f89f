// fuzz/quic_token_fuzz.cpp: the QUIC address-validation tokens (Retry and
// NEW_TOKEN, lib/quic/retry_token) on arbitrary bytes. A token arrives in
// any client's Initial, before anything about the client is known, so it is
// the first peer input a server parses.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <netinet/in.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "quic/retry_token.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

const RetryTokenKey& key() {
  static const RetryTokenKey k = [] {
    uint8_t raw[32];
    for (size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<uint8_t>(i * 7 + 1);
    return RetryTokenKey(std::span<const uint8_t, 32>(raw));
  }();
  return k;
}

sockaddr_in client_addr() {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(4433);
  a.sin_addr.s_addr = htonl(0x7f000001);
  return a;
}

constexpr uint64_t kNow = 1'800'000'000'000;  // ms
constexpr uint64_t kLifetime = 10'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const RetryTokenKey& k = key();
  const sockaddr_in a = client_addr();
  const auto* sa = reinterpret_cast<const sockaddr*>(&a);
  ngtcp2_cid scid{};
  scid.datalen = 8;
  std::memset(scid.data, 0x42, 8);

  // Arbitrary bytes never open as either kind (forging needs the key).
  std::span<const uint8_t> in(data, size);
  require(!k.open(in, sa, scid, kNow, kLifetime));
  require(!k.open_new_token(in, sa, kNow, kLifetime));

  // Round trips with parameters taken from the input: a sealed token opens
  // to what went in, as its own kind only, and any one changed byte breaks it.
  if (size < 3) return 0;
  ngtcp2_cid odcid{};
  // A client's first DCID has 8-20 bytes (RFC 9000 §7.2); ngtcp2_accept
  // refuses shorter ones before a token is sealed.
  odcid.datalen =
      NGTCP2_MIN_INITIAL_DCIDLEN + data[0] % (NGTCP2_MAX_CIDLEN - NGTCP2_MIN_INITIAL_DCIDLEN + 1);
  for (size_t i = 0; i < odcid.datalen; ++i) odcid.data[i] = data[(1 + i) % size];
  const uint64_t issued = kNow - (data[1] % 16) * 1000;  // 0-15 s ago
  uint8_t tok[RetryTokenKey::kTokenLen];
  require(static_cast<bool>(k.seal(sa, odcid, scid, issued, tok)));
  auto back = k.open(tok, sa, scid, kNow, kLifetime);
  if (kNow - issued <= kLifetime) {
    require(back.has_value());
    require(back->datalen == odcid.datalen);
    require(std::memcmp(back->data, odcid.data, odcid.datalen) == 0);
  } else {
    require(!back && back.error() == Errc::timed_out);
  }
  require(!k.open_new_token(tok, sa, kNow, kLifetime));
  const size_t at = data[2] % sizeof tok;
  tok[at] ^= static_cast<uint8_t>(1 + data[size - 1] % 255);
  require(!k.open(tok, sa, scid, kNow, kLifetime));

  uint8_t nt[RetryTokenKey::kNewTokenLen];
  require(static_cast<bool>(k.seal_new_token(sa, issued, nt)));
  require(static_cast<bool>(k.open_new_token(nt, sa, kNow, 24 * 3600 * 1000ull)));
  require(!k.open(nt, sa, scid, kNow, kLifetime));
  nt[data[2] % sizeof nt] ^= static_cast<uint8_t>(1 + data[size - 1] % 255);
  require(!k.open_new_token(nt, sa, kNow, 24 * 3600 * 1000ull));
  return 0;
}

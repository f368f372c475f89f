// fuzz/trojan_fuzz.cpp: the Trojan request and UDP packet parsers on
// arbitrary bytes; parsed frames must re-encode to themselves.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/trojan/trojan.hpp"

using namespace sluice;
using namespace sluice::trojan;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

template <typename R>
void check_shape(const R& r, size_t in_size) {
  if (r.done()) require(r.consumed > 0 && r.consumed <= in_size);
  if (r.need_more()) require(r.consumed == 0);
  if (r.failed()) require(r.error != Errc::ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto r = parse_request(in);
  check_shape(r, size);
  if (r.done()) {
    uint8_t buf[kMaxRequestSize];
    auto n = encode_request(r.value.hash, r.value.command, r.value.target, buf);
    require(n && *n == r.consumed);
    // The hash is copied as sent (any hex case); the rest must match.
    require(std::memcmp(buf + kHashLen, data + kHashLen, *n - kHashLen) == 0);
  }
  // Every prefix of the input is either a valid prefix or already failed.
  while (!in.empty()) {
    auto p = parse_udp_packet(in);
    check_shape(p, in.size());
    if (!p.done()) break;
    uint8_t buf[kMaxUdpHeaderSize];
    auto n = encode_udp_header(p.value.target, p.value.length, buf);
    require(n && *n == p.value.header && std::memcmp(buf, in.data(), *n) == 0);
    in = in.subspan(p.consumed);
  }
  return 0;
}

// fuzz/trojan_fuzz.cpp: the Trojan request and UDP packet parsers on
// arbitrary bytes; parsed frames must re-encode to themselves, and the
// stream reader (take_udp_packet) must agree with the flat parser however
// the bytes are split into Slices.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/trojan/trojan.hpp"
#include "sluice/buffer.hpp"

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

// check_stream feeds |in| to take_udp_packet in pieces whose sizes come
// from |seed|, and requires the packets it yields to be those
// parse_udp_packet finds in the flat bytes, in order.
void check_stream(std::span<const uint8_t> in, uint8_t seed) {
  static BufferPool pool;
  std::vector<UdpPacket> flat;
  std::span<const uint8_t> rest = in;
  bool flat_failed = false;
  size_t flat_used = 0;
  while (!rest.empty()) {
    auto p = parse_udp_packet(rest);
    if (p.failed()) flat_failed = true;
    if (!p.done()) break;
    flat.push_back(p.value);
    flat_used += p.consumed;
    rest = rest.subspan(p.consumed);
  }
  Chain all;
  size_t piece = 1 + seed % 64;
  for (size_t off = 0; off < in.size();) {
    size_t n = std::min(piece, in.size() - off);
    auto s = pool.copy_from(in.data() + off, n);
    require(s.has_value());
    require(all.push_back(std::move(*s)).has_value());
    off += n;
    piece = 1 + (piece * 37 + seed) % 3000;
  }
  Chain stream;
  size_t got = 0, taken = 0;
  bool failed = false;
  while (!all.empty() && !failed) {
    require(stream.push_back(all.pop_front()).has_value());
    for (;;) {
      ReceivedUdpPacket pkt;
      auto r = take_udp_packet(stream, pool, &pkt);
      if (!r) {
        failed = true;
        break;
      }
      if (!*r) break;
      require(got < flat.size());
      const UdpPacket& f = flat[got];
      require(pkt.target == f.target && pkt.payload.size() == f.length);
      require(f.length == 0 ||
              std::memcmp(pkt.payload.span().data(), in.data() + taken + f.header, f.length) == 0);
      taken += f.header + f.length;
      ++got;
    }
  }
  require(got == flat.size());
  require(taken == flat_used);
  // A framing error shows up on both readers, at the same packet.
  require(failed == flat_failed);
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
  if (size > 0) check_stream(std::span<const uint8_t>(data + 1, size - 1), data[0]);
  return 0;
}

// fuzz/hysteria1_control_fuzz.cpp: the Hysteria v1 stream parsers
// (ClientHello, ServerHello, ClientRequest, ServerResponse). The first byte
// picks the parser; a parsed frame must re-encode to exactly the bytes it
// consumed, and every strict prefix of it must answer need_more.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "proto/hysteria1/hysteria1.hpp"

using namespace sluice;
using namespace sluice::hysteria1;

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}

void same(std::span<const uint8_t> in, size_t consumed, const std::vector<uint8_t>& enc) {
  require(enc.size() == consumed && std::memcmp(enc.data(), in.data(), consumed) == 0);
}

template <typename Fn>
void prefixes(std::span<const uint8_t> in, size_t consumed, Fn parse) {
  // Checking every prefix is quadratic; the frames are short.
  for (size_t n = 0; n < consumed && n < 512; ++n) require(parse(in.first(n)).need_more());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] & 3;
  std::span<const uint8_t> in(data + 1, size - 1);
  std::vector<uint8_t> enc;
  switch (which) {
    case 0: {
      auto r = parse_client_hello(in);
      if (!r.done()) return 0;
      require(r.value.send_bps != 0 && r.value.recv_bps != 0);
      enc.resize(client_hello_size(r.value.auth.size()));
      auto w = encode_client_hello(
          r.value.send_bps, r.value.recv_bps,
          {reinterpret_cast<const uint8_t*>(r.value.auth.data()), r.value.auth.size()}, enc);
      require(w.has_value() && *w == enc.size());
      same(in, r.consumed, enc);
      prefixes(in, r.consumed, parse_client_hello);
      break;
    }
    case 1: {
      auto r = parse_server_hello(in);
      if (!r.done()) return 0;
      enc.resize(server_hello_size(r.value.message.size()));
      auto w =
          encode_server_hello(r.value.ok, r.value.send_bps, r.value.recv_bps, r.value.message, enc);
      require(w.has_value());
      // struc reads any non-zero byte as true; the encoder writes 1.
      if (in[0] <= 1) same(in, r.consumed, enc);
      prefixes(in, r.consumed, parse_server_hello);
      break;
    }
    case 2: {
      auto r = parse_client_request(in);
      if (!r.done()) return 0;
      require(r.value.host.size() <= kMaxHost);
      enc.resize(client_request_size(r.value.host.size()));
      auto w = encode_client_request(r.value.udp, r.value.host, r.value.port, enc);
      require(w.has_value());
      same(in, r.consumed, enc);
      prefixes(in, r.consumed, parse_client_request);
      break;
    }
    default: {
      auto r = parse_server_response(in);
      if (!r.done()) return 0;
      enc.resize(server_response_size(r.value.message.size()));
      auto w = encode_server_response(r.value.ok, r.value.udp_session_id, r.value.message, enc);
      require(w.has_value());
      if (in[0] <= 1) same(in, r.consumed, enc);
      prefixes(in, r.consumed, parse_server_response);
      break;
    }
  }
  return 0;
}

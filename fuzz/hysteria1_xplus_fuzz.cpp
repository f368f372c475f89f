// fuzz/hysteria1_xplus_fuzz.cpp: XPlus (Hysteria v1 obfuscation). The
// first byte is the password length; decode must accept or drop any
// datagram without reading past it, and encode followed by decode must
// restore the packet.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "proto/hysteria1/xplus.hpp"

using namespace sluice::hysteria1;

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t plen = std::min<size_t>(data[0], size - 1);
  XPlus x(std::string_view(reinterpret_cast<const char*>(data + 1), plen));
  const uint8_t* pkt = data + 1 + plen;
  const size_t len = size - 1 - plen;

  std::vector<uint8_t> dg(pkt, pkt + len);
  const size_t n = x.decode(dg.data(), dg.size());
  require(n == (len > XPlus::kSaltLen ? len - XPlus::kSaltLen : 0));

  std::vector<uint8_t> wire(XPlus::kSaltLen + len);
  x.encode(pkt, len, wire.data());
  const size_t back = x.decode(wire.data(), wire.size());
  if (len == 0) {
    require(back == 0);
  } else {
    require(back == len && std::memcmp(wire.data() + XPlus::kSaltLen, pkt, len) == 0);
  }
  return 0;
}

// fuzz/hysteria2_salamander_fuzz.cpp: Salamander on arbitrary datagrams.
// decode() must refuse exactly the datagrams of 8 bytes or fewer and
// otherwise restore in place what encode_with_salt() made from the same
// salt and bytes, for any PSK.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "quic/salamander.hpp"

using namespace sluice;
using namespace sluice::quic;

namespace {
void require(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // First byte: PSK length (4..35) taken from the input's front.
  const size_t psk_len = 4 + data[0] % 32;
  if (size < 1 + psk_len) return 0;
  std::string_view psk(reinterpret_cast<const char*>(data + 1), psk_len);
  auto s = Salamander::create(psk);
  require(s.has_value());
  std::vector<uint8_t> dg(data + 1 + psk_len, data + size);
  std::vector<uint8_t> original = dg;
  const size_t n = (*s)->decode(dg.data(), dg.size());
  if (original.size() <= Salamander::kSaltLen) {
    require(n == 0);
    return 0;
  }
  require(n == original.size() - Salamander::kSaltLen);
  // Encoding the restored packet under the same salt gives the datagram back.
  std::vector<uint8_t> again(original.size());
  (*s)->encode_with_salt(std::span<const uint8_t, Salamander::kSaltLen>(original.data(), 8),
                         dg.data() + Salamander::kSaltLen, n, again.data());
  require(again == original);
  return 0;
}

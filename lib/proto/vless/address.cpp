// proto/vless/address.cpp: the port-first VLESS/Mux.Cool address encoding
// (vless.md sections 3, 6.2).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/vless/address.hpp"

#include <array>
#include <cstring>
#include <string_view>

namespace sluice::vless {

size_t addr_port_size(const TargetAddress& target) noexcept {
  switch (target.kind()) {
    case TargetAddress::ipv4:
      return 2 + 1 + 4;
    case TargetAddress::ipv6:
      return 2 + 1 + 16;
    case TargetAddress::domain:
      break;
  }
  return 2 + 1 + 1 + target.domain_name().size();
}

Result<size_t> encode_addr_port(const TargetAddress& target, std::span<uint8_t> out) {
  size_t n = addr_port_size(target);
  if (out.size() < n) return Errc::buffer_too_small;
  uint8_t* p = out.data();
  *p++ = static_cast<uint8_t>(target.port() >> 8);
  *p++ = static_cast<uint8_t>(target.port());
  switch (target.kind()) {
    case TargetAddress::ipv4:
      *p++ = kAtypIpv4;
      std::memcpy(p, target.ip_bytes().data(), 4);
      break;
    case TargetAddress::ipv6:
      *p++ = kAtypIpv6;
      std::memcpy(p, target.ip_bytes().data(), 16);
      break;
    case TargetAddress::domain: {
      std::string_view d = target.domain_name();
      *p++ = kAtypDomain;
      *p++ = static_cast<uint8_t>(d.size());
      std::memcpy(p, d.data(), d.size());
      break;
    }
  }
  return n;
}

ParseResult<TargetAddress> decode_addr_port(std::span<const uint8_t> in) {
  using R = ParseResult<TargetAddress>;
  if (in.size() < 3) return R::more();
  uint16_t port = static_cast<uint16_t>((in[0] << 8) | in[1]);
  switch (in[2]) {
    case kAtypIpv4: {
      if (in.size() < 7) return R::more();
      std::array<uint8_t, 4> a;
      std::memcpy(a.data(), in.data() + 3, 4);
      return R::ok(TargetAddress::from_ipv4(a, port), 7);
    }
    case kAtypIpv6: {
      if (in.size() < 19) return R::more();
      std::array<uint8_t, 16> a;
      std::memcpy(a.data(), in.data() + 3, 16);
      return R::ok(TargetAddress::from_ipv6(a, port), 19);
    }
    case kAtypDomain: {
      if (in.size() < 4) return R::more();
      size_t len = in[3];
      if (len == 0) return R::fail(Errc::malformed);
      // Check what has arrived so garbage fails before the rest comes.
      size_t have = in.size() - 4 < len ? in.size() - 4 : len;
      for (size_t i = 0; i < have; ++i) {
        uint8_t c = in[4 + i];
        if (c <= 0x20 || c == 0x7f) return R::fail(Errc::malformed);
      }
      if (in.size() < 4 + len) return R::more();
      auto t = TargetAddress::from_domain(
          std::string_view(reinterpret_cast<const char*>(in.data() + 4), len), port);
      if (!t) return R::fail(t.error());
      return R::ok(*t, 4 + len);
    }
    default:
      return R::fail(Errc::unsupported_address_type);
  }
}

}  // namespace sluice::vless

// proto/tuic/tuic.cpp: the TUIC v5 command codec.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/tuic/tuic.hpp"

#include <cstring>
#include <string_view>

namespace sluice::tuic {
namespace {

uint16_t get16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

size_t address_size(const TargetAddress* a) noexcept {
  if (a == nullptr) return 1;
  switch (a->kind()) {
    case TargetAddress::ipv4:
      return 1 + 4 + 2;
    case TargetAddress::ipv6:
      return 1 + 16 + 2;
    case TargetAddress::domain:
      return 1 + 1 + a->domain_name().size() + 2;
  }
  return 1;
}

size_t encode_address(const TargetAddress* a, uint8_t* out) noexcept {
  if (a == nullptr) {
    out[0] = kAddrNone;
    return 1;
  }
  size_t n = 0;
  switch (a->kind()) {
    case TargetAddress::ipv4:
      out[n++] = kAddrIpv4;
      std::memcpy(out + n, a->ip_bytes().data(), 4);
      n += 4;
      break;
    case TargetAddress::ipv6:
      out[n++] = kAddrIpv6;
      std::memcpy(out + n, a->ip_bytes().data(), 16);
      n += 16;
      break;
    case TargetAddress::domain: {
      std::string_view d = a->domain_name();
      out[n++] = kAddrDomain;
      out[n++] = static_cast<uint8_t>(d.size());
      std::memcpy(out + n, d.data(), d.size());
      n += d.size();
      break;
    }
  }
  put16(out + n, a->port());
  return n + 2;
}

ParseResult<TargetAddress> parse_address(std::span<const uint8_t> in, bool* none) {
  *none = false;
  if (in.empty()) return ParseResult<TargetAddress>::more();
  switch (in[0]) {
    case kAddrNone:
      *none = true;
      return ParseResult<TargetAddress>::ok(TargetAddress{}, 1);
    case kAddrIpv4: {
      if (in.size() < 7) return ParseResult<TargetAddress>::more();
      std::array<uint8_t, 4> a;
      std::memcpy(a.data(), in.data() + 1, 4);
      return ParseResult<TargetAddress>::ok(TargetAddress::from_ipv4(a, get16(in.data() + 5)), 7);
    }
    case kAddrIpv6: {
      if (in.size() < 19) return ParseResult<TargetAddress>::more();
      std::array<uint8_t, 16> a;
      std::memcpy(a.data(), in.data() + 1, 16);
      return ParseResult<TargetAddress>::ok(TargetAddress::from_ipv6(a, get16(in.data() + 17)), 19);
    }
    case kAddrDomain: {
      if (in.size() < 2) return ParseResult<TargetAddress>::more();
      const size_t len = in[1];
      if (len == 0) return ParseResult<TargetAddress>::fail(Errc::malformed);
      if (in.size() < 2 + len + 2) return ParseResult<TargetAddress>::more();
      auto t = TargetAddress::from_domain({reinterpret_cast<const char*>(in.data() + 2), len},
                                          get16(in.data() + 2 + len));
      if (!t) return ParseResult<TargetAddress>::fail(Errc::malformed);
      return ParseResult<TargetAddress>::ok(*t, 2 + len + 2);
    }
    default:
      return ParseResult<TargetAddress>::fail(Errc::unsupported_address_type);
  }
}

size_t encode_authenticate(const Uuid& uuid, const Token& token, uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(Command::authenticate);
  std::memcpy(out + 2, uuid.data(), kUuidSize);
  std::memcpy(out + 2 + kUuidSize, token.data(), kTokenSize);
  return kAuthenticateSize;
}

size_t connect_size(const TargetAddress& target) noexcept { return 2 + address_size(&target); }

size_t encode_connect(const TargetAddress& target, uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(Command::connect);
  return 2 + encode_address(&target, out + 2);
}

size_t packet_header_size(const PacketHeader& h) noexcept {
  return kPacketFixedSize + address_size(h.has_address ? &h.address : nullptr);
}

size_t encode_packet_header(const PacketHeader& h, uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(Command::packet);
  put16(out + 2, h.assoc_id);
  put16(out + 4, h.packet_id);
  out[6] = h.frag_total;
  out[7] = h.frag_id;
  put16(out + 8, h.size);
  return kPacketFixedSize + encode_address(h.has_address ? &h.address : nullptr, out + 10);
}

size_t encode_dissociate(uint16_t assoc_id, uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(Command::dissociate);
  put16(out + 2, assoc_id);
  return kDissociateSize;
}

size_t encode_heartbeat(uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(Command::heartbeat);
  return kHeartbeatSize;
}

ParseResult<ParsedCommand> parse_command(std::span<const uint8_t> in) {
  using R = ParseResult<ParsedCommand>;
  if (in.empty()) return R::more();
  if (in[0] != kVersion) return R::fail(Errc::unsupported_version);
  if (in.size() < 2) return R::more();
  ParsedCommand c;
  switch (in[1]) {
    case static_cast<uint8_t>(Command::authenticate):
      if (in.size() < kAuthenticateSize) return R::more();
      c.command = Command::authenticate;
      std::memcpy(c.uuid.data(), in.data() + 2, kUuidSize);
      std::memcpy(c.token.data(), in.data() + 2 + kUuidSize, kTokenSize);
      return R::ok(c, kAuthenticateSize);
    case static_cast<uint8_t>(Command::connect): {
      c.command = Command::connect;
      bool none = false;
      auto a = parse_address(in.subspan(2), &none);
      if (a.need_more()) return R::more();
      if (a.failed()) return R::fail(a.error);
      // A Connect needs a real target; None carries no port.
      if (none) return R::fail(Errc::malformed);
      c.target = a.value;
      return R::ok(c, 2 + a.consumed);
    }
    case static_cast<uint8_t>(Command::packet): {
      c.command = Command::packet;
      if (in.size() < kPacketFixedSize) return R::more();
      PacketHeader& h = c.packet;
      h.assoc_id = get16(in.data() + 2);
      h.packet_id = get16(in.data() + 4);
      h.frag_total = in[6];
      h.frag_id = in[7];
      h.size = get16(in.data() + 8);
      bool none = false;
      auto a = parse_address(in.subspan(kPacketFixedSize), &none);
      if (a.need_more()) return R::more();
      if (a.failed()) return R::fail(a.error);
      h.has_address = !none;
      h.address = a.value;
      return R::ok(c, kPacketFixedSize + a.consumed);
    }
    case static_cast<uint8_t>(Command::dissociate):
      if (in.size() < kDissociateSize) return R::more();
      c.command = Command::dissociate;
      c.assoc_id = get16(in.data() + 2);
      return R::ok(c, kDissociateSize);
    case static_cast<uint8_t>(Command::heartbeat):
      c.command = Command::heartbeat;
      return R::ok(c, kHeartbeatSize);
    default:
      return R::fail(Errc::unknown_command);
  }
}

ParseResult<ParsedCommand> parse_datagram(std::span<const uint8_t> in) {
  using R = ParseResult<ParsedCommand>;
  auto r = parse_command(in);
  if (r.need_more()) return R::fail(Errc::truncated);
  if (r.failed()) return r;
  if (r.value.command == Command::heartbeat) return r;
  if (r.value.command != Command::packet) return R::fail(Errc::protocol_violation);
  if (in.size() - r.consumed < r.value.packet.size) return R::fail(Errc::truncated);
  return r;
}

}  // namespace sluice::tuic

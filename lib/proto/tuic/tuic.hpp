// proto/tuic/tuic.hpp: the TUIC v5 command codec, sans I/O
// (docs/protocols/tuic.md; the TUIC v5 SPEC.md, sing-quic's tuic package).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every TUIC command starts with VER (0x05) and TYPE, then a type-specific
// part; there are no responses:
//
//   Authenticate  05 00 UUID[16] TOKEN[32]                  client uni stream, FIN
//   Connect       05 01 ADDR                                client bidi stream, TCP bytes follow
//   Packet        05 02 ASSOC u16 PKT u16 FRAG_TOTAL u8 FRAG_ID u8 SIZE u16 ADDR
//                 then SIZE payload bytes                   DATAGRAM, or a uni stream of its own
//   Dissociate    05 03 ASSOC u16                           client uni stream, FIN
//   Heartbeat     05 04                                     DATAGRAM
//
// ADDR is 0xff (None, no port: only in non-first fragments), 0x00 len
// domain port, 0x01 IPv4 port, 0x02 IPv6 port; every integer big endian.
//
// parse_command reads the header of one command from the front of its
// input, incrementally (a stream may deliver it a byte at a time); a
// Packet's payload is not part of the header. parse_datagram takes a whole
// DATAGRAM frame: a Packet's payload is the rest of it.
//
// Threading: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::tuic {

inline constexpr uint8_t kVersion = 0x05;

enum class Command : uint8_t {
  authenticate = 0x00,
  connect = 0x01,
  packet = 0x02,
  dissociate = 0x03,
  heartbeat = 0x04,
};

// ADDR type bytes.
inline constexpr uint8_t kAddrNone = 0xff;
inline constexpr uint8_t kAddrDomain = 0x00;
inline constexpr uint8_t kAddrIpv4 = 0x01;
inline constexpr uint8_t kAddrIpv6 = 0x02;

inline constexpr size_t kUuidSize = 16;
inline constexpr size_t kTokenSize = 32;
using Uuid = std::array<uint8_t, kUuidSize>;
using Token = std::array<uint8_t, kTokenSize>;

// Sizes of the fixed parts.
inline constexpr size_t kAuthenticateSize = 2 + kUuidSize + kTokenSize;  // 50
inline constexpr size_t kDissociateSize = 4;
inline constexpr size_t kHeartbeatSize = 2;
inline constexpr size_t kPacketFixedSize = 10;  // VER TYPE ASSOC PKT TOTAL ID SIZE
// kMaxAddressSize: type, length, a 255-byte domain, port.
inline constexpr size_t kMaxAddressSize = 1 + 1 + TargetAddress::kMaxDomain + 2;
// kMaxHeaderSize: the longest header any command has (a Packet with a domain).
inline constexpr size_t kMaxHeaderSize = kPacketFixedSize + kMaxAddressSize;
// kMaxPacketSize: SIZE is a u16; a reassembled packet is bounded the same
// way (sing-box refuses writes above it, tuic-quinn's u16 SIZE).
inline constexpr size_t kMaxPacketSize = 65535;

// PacketHeader is a Packet command's header. |has_address| false is ADDR
// None (only valid in a non-first fragment).
struct PacketHeader {
  uint16_t assoc_id = 0;
  uint16_t packet_id = 0;
  uint8_t frag_total = 1;
  uint8_t frag_id = 0;
  uint16_t size = 0;  // payload bytes of this fragment
  bool has_address = false;
  TargetAddress address;
};

// ParsedCommand is one decoded command header; which fields mean anything
// depends on |command|.
struct ParsedCommand {
  Command command = Command::heartbeat;
  Uuid uuid{};            // authenticate
  Token token{};          // authenticate
  TargetAddress target;   // connect
  PacketHeader packet;    // packet
  uint16_t assoc_id = 0;  // dissociate
};

// address_size: the ADDR encoding's length (nullptr: None, 1 byte).
size_t address_size(const TargetAddress* a) noexcept;
// encode_address writes ADDR into |out| (at least address_size(a) bytes).
size_t encode_address(const TargetAddress* a, uint8_t* out) noexcept;
// parse_address reads ADDR from the front of |in| (incremental). |*none|
// is set for None (the TargetAddress is then the default). Errors:
// unsupported_address_type, malformed (empty domain, control byte).
ParseResult<TargetAddress> parse_address(std::span<const uint8_t> in, bool* none);

// Encoders write into |out| and return the bytes written (|out| must have
// room: the sizes above, connect_size, packet_header_size).
size_t encode_authenticate(const Uuid& uuid, const Token& token, uint8_t* out) noexcept;
size_t connect_size(const TargetAddress& target) noexcept;
size_t encode_connect(const TargetAddress& target, uint8_t* out) noexcept;
size_t packet_header_size(const PacketHeader& h) noexcept;
size_t encode_packet_header(const PacketHeader& h, uint8_t* out) noexcept;
size_t encode_dissociate(uint16_t assoc_id, uint8_t* out) noexcept;
size_t encode_heartbeat(uint8_t* out) noexcept;

// parse_command reads one command header from the front of |in|
// (incremental; |consumed| is the header's length, a Packet's payload not
// included). Errors: unsupported_version (VER != 5), unknown_command, and
// parse_address's.
ParseResult<ParsedCommand> parse_command(std::span<const uint8_t> in);

// parse_datagram decodes a whole DATAGRAM frame: a Packet (its payload is
// in[consumed, consumed + packet.size)) or a Heartbeat. Lenient as tuic
// peers need (early tuic-quinn mis-sized them, tuic#170): bytes past SIZE
// are ignored. Errors:
// truncated (a partial header, or fewer than SIZE payload bytes),
// protocol_violation (any other command in a datagram), and
// parse_command's.
ParseResult<ParsedCommand> parse_datagram(std::span<const uint8_t> in);

}  // namespace sluice::tuic

// proto/trojan/trojan.hpp: the Trojan protocol's wire format, sans I/O
// (trojan-gfw docs/protocol.md; sing-box protocol/trojan).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Inside TLS the client sends one request header, then the stream:
//
//   hex(SHA224(password)) (56 bytes) | CRLF | CMD (1) | ATYP | DST.ADDR |
//   DST.PORT | CRLF | payload...
//
// CMD 0x01 is CONNECT, 0x03 UDP ASSOCIATE (its destination is ignored by
// servers). The server sends no reply. After a UDP ASSOCIATE header the
// stream carries packets, each framed as
//
//   ATYP | DST.ADDR | DST.PORT | Length (u16, big endian) | CRLF | payload
//
// (the address is the destination client -> server and the source server
// -> client).
//
// The header parser is strict and fails as early as the bytes allow
// (a non-hex byte in the first 56, a missing CR or LF, an unknown command
// or address type), because a Trojan server hands everything that does not
// parse to its fallback web server (trojan::ServerCore, trojan/server.hpp);
// it must decide on a prober's first bytes without waiting for more.
//
// Threading: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice::trojan {

// kHashLen: hex of a SHA-224 digest.
inline constexpr size_t kHashLen = 56;
using PasswordHash = std::array<char, kHashLen>;

enum class Command : uint8_t { connect = 0x01, udp_associate = 0x03 };

// kMaxRequestSize: hash, CRLF, CMD, the longest address, CRLF.
inline constexpr size_t kMaxRequestSize = kHashLen + 2 + 1 + TargetAddress::kMaxSocksSize + 2;
// kMaxUdpHeaderSize: the longest address, length, CRLF.
inline constexpr size_t kMaxUdpHeaderSize = TargetAddress::kMaxSocksSize + 2 + 2;
// kMaxUdpPayload: what the length field can carry.
inline constexpr size_t kMaxUdpPayload = 65535;

// hash_password returns the lower-case hex SHA-224 of |password|.
PasswordHash hash_password(std::string_view password);

struct Request {
  PasswordHash hash{};
  Command command = Command::connect;
  TargetAddress target;
};

// request_size is the header length for |target|.
size_t request_size(const TargetAddress& target) noexcept;
// encode_request writes the header into |out|; buffer_too_small if it does
// not fit. Returns the bytes written.
Result<size_t> encode_request(const PasswordHash& hash, Command cmd, const TargetAddress& target,
                              std::span<uint8_t> out);
// parse_request reads a header from the front of |in| (incremental).
// Errors: malformed (not hex, CR/LF missing, empty domain), unknown_command,
// unsupported_address_type.
ParseResult<Request> parse_request(std::span<const uint8_t> in);

// UdpPacket is one decoded packet; the payload is at
// [consumed - length, consumed) of the parsed input.
struct UdpPacket {
  TargetAddress target;
  size_t header = 0;  // bytes before the payload
  size_t length = 0;  // payload bytes
};

// udp_header_size is the framing in front of a payload for |target|.
inline size_t udp_header_size(const TargetAddress& target) noexcept {
  return target.socks_size() + 4;
}
// encode_udp_header writes ATYP..CRLF for a payload of |length| bytes.
// invalid_argument if |length| > kMaxUdpPayload.
Result<size_t> encode_udp_header(const TargetAddress& target, size_t length,
                                 std::span<uint8_t> out);
// parse_udp_packet reads one framed packet (header and payload) from the
// front of |in| (incremental). Errors as parse_request.
ParseResult<UdpPacket> parse_udp_packet(std::span<const uint8_t> in);
// parse_udp_header reads only the framing (ATYP..CRLF) from the front of
// |in|; consumed = header = the framing's length, length = the payload's,
// which need not have arrived yet.
ParseResult<UdpPacket> parse_udp_header(std::span<const uint8_t> in);

// frame_udp_packet appends to |out| one framed packet for |target|: the
// framing goes into |payload|'s headroom when its chunk is unique and has
// room (one Slice, nothing copied), else into a small chunk from |pool| in
// front of |payload| (two Slices; the payload is still not copied).
// Errors: frame_too_large (payload > kMaxUdpPayload), no_memory.
Status frame_udp_packet(const TargetAddress& target, Slice&& payload, BufferPool& pool, Chain* out);

// ReceivedUdpPacket is one packet taken off a stream by take_udp_packet.
struct ReceivedUdpPacket {
  TargetAddress target;
  Slice payload;  // empty for a zero-length datagram
};

// take_udp_packet removes one complete framed packet from the front of |in|
// (the stream's received bytes): true with |out| filled; false when |in|
// holds only part of a packet (read more); or the framing error
// (unsupported_address_type, malformed). The payload shares |in|'s chunk
// when it lies inside one Slice; only a payload or framing that straddles
// two Slices is gathered into one chunk from |pool|.
Result<bool> take_udp_packet(Chain& in, BufferPool& pool, ReceivedUdpPacket* out);

}  // namespace sluice::trojan

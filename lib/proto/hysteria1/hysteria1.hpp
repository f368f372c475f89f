// proto/hysteria1/hysteria1.hpp: Hysteria v1 (protocol version 3, ALPN
// "hysteria") wire format, sans I/O (apernet/hysteria v1.x core/cs/
// protocol.go; sing-quic hysteria/protocol.go).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Every integer is big-endian, a bool is one byte, a string is a u16
// length followed by its bytes (the encoding of Go's lunixbochs/struc).
//
// The first client-opened bidirectional QUIC stream is the control stream:
//
//   ClientHello  u8 version (3) | u64 sendBPS | u64 recvBPS | u16 authLen | auth
//   ServerHello  u8 ok | u64 sendBPS | u64 recvBPS | u16 msgLen | msg
//
// sendBPS/recvBPS are bytes per second from the sender's point of view: the
// client's sendBPS is its upload, the server's sendBPS what it will send to
// the client. The control stream then stays open and idle. Every later
// client-opened bidirectional stream is a request:
//
//   ClientRequest   u8 udp | u16 hostLen | host | u16 port
//   ServerResponse  u8 ok  | u32 udpSessionID   | u16 msgLen | msg
//
// A TCP request's stream carries raw bytes both ways after an OK response;
// a UDP request's stream only holds the UDP session (closing it ends the
// session). UDP packets travel in QUIC DATAGRAM frames as UdpMessages
// (udp_message.hpp).
//
// The stream parsers are incremental: given everything received so far they
// answer need_more, done (with the bytes consumed: payload may follow in the
// same read) or a specific error.
//
// Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/parse_result.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria1 {

inline constexpr uint8_t kProtocolVersion = 3;
inline constexpr std::string_view kDefaultAlpn = "hysteria";
// kMinRate: the smallest rate the official configuration accepts (bytes/s).
inline constexpr uint64_t kMinRate = 16384;
// kBytesPerMbps: Mbit/s -> bytes/s as the official client converts.
inline constexpr uint64_t kBytesPerMbps = 125000;
// kControlTimeoutMs: opening/accepting the control stream.
inline constexpr uint64_t kControlTimeoutMs = 10000;
// kMaxUdpRead: the official server's UDP read buffer; a reply packet is at
// most this long.
inline constexpr size_t kMaxUdpRead = 4096;
// kMaxHost: the longest host a request may carry (a DNS name is at most 253
// bytes; the wire allows 65535, sluice refuses anything past this).
inline constexpr size_t kMaxHost = 1024;

// QUIC application close codes and reasons.
inline constexpr uint64_t kCloseOk = 0;
inline constexpr uint64_t kCloseProtocolError = 1;
inline constexpr uint64_t kCloseAuthError = 2;
inline constexpr std::string_view kReasonProtocolError = "protocol error";
inline constexpr std::string_view kReasonAuthError = "auth error";

// Server refusal texts of the official server.
inline constexpr std::string_view kMsgUdpDisabled = "UDP disabled";
inline constexpr std::string_view kMsgResolveFailed = "host resolution failure";
inline constexpr std::string_view kMsgBlocked = "blocked by ACL";

// --- control stream ---

struct ClientHello {
  uint64_t send_bps = 0;  // client upload, bytes/s (non-zero)
  uint64_t recv_bps = 0;  // client download, bytes/s (non-zero)
  std::string auth;       // raw bytes
};

inline constexpr size_t client_hello_size(size_t auth_len) noexcept {
  return 1 + 8 + 8 + 2 + auth_len;
}
// encode_client_hello writes the version byte and the hello. invalid_argument
// for a zero rate or auth over 65535 bytes; buffer_too_small.
Result<size_t> encode_client_hello(uint64_t send_bps, uint64_t recv_bps,
                                   std::span<const uint8_t> auth, std::span<uint8_t> out) noexcept;
// parse_client_hello reads the version byte and the hello. Errors:
// unsupported_version (version byte other than 3), malformed (a zero rate).
ParseResult<ClientHello> parse_client_hello(std::span<const uint8_t> in);

struct ServerHello {
  bool ok = false;
  uint64_t send_bps = 0;  // server -> client rate the server uses
  uint64_t recv_bps = 0;  // client -> server rate the server accepts
  std::string message;    // refusal text (empty when ok)
};

inline constexpr size_t server_hello_size(size_t message_len) noexcept {
  return 1 + 8 + 8 + 2 + message_len;
}
// encode_server_hello: invalid_argument for a message over 65535 bytes.
Result<size_t> encode_server_hello(bool ok, uint64_t send_bps, uint64_t recv_bps,
                                   std::string_view message, std::span<uint8_t> out) noexcept;
// parse_server_hello: a non-zero ok byte means accepted (struc's bool).
// Errors: malformed (accepted with a zero rate).
ParseResult<ServerHello> parse_server_hello(std::span<const uint8_t> in);

// Rates is what a side will use after the handshake.
struct Rates {
  uint64_t send_bps = 0;
  uint64_t recv_bps = 0;
};

// server_rates: the official server's answer to |hello| given its own
// limits (0 = no limit): send = min(client recv, server up), recv =
// min(client send, server down).
Rates server_rates(const ClientHello& hello, uint64_t server_up, uint64_t server_down) noexcept;
// client_send_rate: the rate the client sends at after |hello|: the
// server's accepted receive rate, clamped to the client's own upload (a
// sing-box server reports its configured rate, which may be higher).
uint64_t client_send_rate(const ServerHello& hello, uint64_t own_send) noexcept;

// --- request streams ---

struct ClientRequest {
  bool udp = false;
  std::string host;  // domain or IP literal without brackets; empty for UDP
  uint16_t port = 0;
};

inline constexpr size_t client_request_size(size_t host_len) noexcept {
  return 1 + 2 + host_len + 2;
}
// encode_client_request: for UDP pass an empty host and port 0 (the bytes
// 01 00 00 00 00). invalid_argument for a TCP request with an empty host, a
// zero port or a host over kMaxHost; buffer_too_small.
Result<size_t> encode_client_request(bool udp, std::string_view host, uint16_t port,
                                     std::span<uint8_t> out) noexcept;
// parse_client_request. Errors: malformed (udp byte not 0/1; a TCP request
// with an empty host, port 0, or a host over kMaxHost).
ParseResult<ClientRequest> parse_client_request(std::span<const uint8_t> in);

struct ServerResponse {
  bool ok = false;
  uint32_t udp_session_id = 0;
  std::string message;
};

inline constexpr size_t server_response_size(size_t message_len) noexcept {
  return 1 + 4 + 2 + message_len;
}
Result<size_t> encode_server_response(bool ok, uint32_t udp_session_id, std::string_view message,
                                      std::span<uint8_t> out) noexcept;
ParseResult<ServerResponse> parse_server_response(std::span<const uint8_t> in);

}  // namespace sluice::hysteria1

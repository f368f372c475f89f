// proto/hysteria2/hysteria2.hpp: Hysteria v2's stream wire format, sans I/O
// (apernet/hysteria PROTOCOL.md and core/internal/protocol; sing-quic
// hysteria2/internal/protocol).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A proxied TCP flow is one client-initiated bidirectional QUIC stream
// (never an HTTP/3 request). The client writes a TCPRequest, the server
// answers with a TCPResponse, and raw payload follows in both directions:
//
//   TCPRequest   varint 0x401 | varint addrLen | addr | varint padLen | pad
//   TCPResponse  u8 status    | varint msgLen  | msg  | varint padLen | pad
//
// Varints are QUIC's (RFC 9000 §16). The address is text, "host:port", an
// IPv6 literal in brackets. Padding content is ignored; only its length is
// checked (kMaxPadding). The parsers are incremental: given everything
// received so far they answer need_more, done (with the bytes consumed:
// payload may follow in the same read) or a specific error.
//
// Threading: pure functions (padding draws from the CSPRNG).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::hysteria2 {

// Protocol constants (PROTOCOL.md; core/internal/protocol/proxy.go).
inline constexpr uint64_t kFrameTcpRequest = 0x401;
inline constexpr int kStatusAuthOk = 233;
inline constexpr size_t kMaxAddress = 2048;
inline constexpr size_t kMaxMessage = 2048;
inline constexpr size_t kMaxPadding = 4096;
// kMaxUdpSize: the largest whole UDPMessage the official sender emits (its
// buffer); larger datagrams are dropped before they are sent.
inline constexpr size_t kMaxUdpSize = 4096;
// kMaxDatagramFrame: the max_datagram_frame_size both official ends use.
inline constexpr uint64_t kMaxDatagramFrame = 1200;

// Padding ranges [min, max) of the official implementation (padding.go).
struct PaddingRange {
  size_t min;
  size_t max;
};
inline constexpr PaddingRange kAuthRequestPadding{256, 2048};
inline constexpr PaddingRange kAuthResponsePadding{256, 2048};
inline constexpr PaddingRange kTcpRequestPadding{64, 512};
inline constexpr PaddingRange kTcpResponsePadding{128, 1024};

// random_padding_length draws a length in [r.min, r.max).
size_t random_padding_length(PaddingRange r) noexcept;
// fill_padding writes |out.size()| characters of [a-zA-Z0-9] (the official
// alphabet: padding that is also valid as an HTTP header value).
void fill_padding(std::span<uint8_t> out) noexcept;
// padding_string returns a random padding string of a length in |r|.
std::string padding_string(PaddingRange r);

// QUIC variable-length integers (RFC 9000 §16).
size_t varint_size(uint64_t v) noexcept;
// write_varint writes |v| at |out| (varint_size(v) bytes must fit).
size_t write_varint(uint64_t v, uint8_t* out) noexcept;
// read_varint reads one varint from the front of |in|: done with the value,
// or need_more.
ParseResult<uint64_t> read_varint(std::span<const uint8_t> in) noexcept;

// address_text is "host:port" for |t| ("[::1]:443" for IPv6).
std::string address_text(const TargetAddress& t);
// parse_address reads Hysteria's address text; malformed if it is not
// "host:port" with a port 1..65535.
Result<TargetAddress> parse_address(std::string_view text);

// --- TCPRequest (client -> server) ---

// tcp_request_size: the request's length for |addr| with |padding| bytes.
size_t tcp_request_size(std::string_view addr, size_t padding) noexcept;
// encode_tcp_request writes the request (frame type included) with
// |padding| random padding bytes; buffer_too_small if |out| is short,
// invalid_argument for an empty or over-long address or padding.
Result<size_t> encode_tcp_request(std::string_view addr, size_t padding, std::span<uint8_t> out);

struct TcpRequest {
  TargetAddress target;
  size_t padding = 0;
};
// parse_tcp_request reads a whole request, frame type first. Errors:
// unknown_command (another frame type), malformed (address empty, too long
// or not host:port; padding too long).
ParseResult<TcpRequest> parse_tcp_request(std::span<const uint8_t> in);
// parse_tcp_request_body reads the request after the frame type (what the
// official reader does once the HTTP/3 dispatcher consumed 0x401).
ParseResult<TcpRequest> parse_tcp_request_body(std::span<const uint8_t> in);

// --- TCPResponse (server -> client) ---

inline constexpr uint8_t kTcpStatusOk = 0x00;
inline constexpr uint8_t kTcpStatusError = 0x01;

size_t tcp_response_size(std::string_view message, size_t padding) noexcept;
// encode_tcp_response writes a response with |status|, |message| (at most
// kMaxMessage bytes) and |padding| random bytes.
Result<size_t> encode_tcp_response(uint8_t status, std::string_view message, size_t padding,
                                   std::span<uint8_t> out);

struct TcpResponse {
  uint8_t status = kTcpStatusOk;
  std::string message;
};
// parse_tcp_response reads a whole response. Any status other than 0 is a
// refusal (the official client tests status == 0). Errors: malformed (a
// message or padding over its limit).
ParseResult<TcpResponse> parse_tcp_response(std::span<const uint8_t> in);

}  // namespace sluice::hysteria2

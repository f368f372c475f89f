// proto/vless/header.hpp: the VLESS request and response headers
// (vless.md sections 3 and 4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Request (client -> server, the first bytes of the stream):
//   VER (1) = 0 | USER ID (16) | A (1) | ADDONS (A) | CMD (1)
//   | PORT (2) | ATYP (1) | ADDR          -- only for CMD 0x01 TCP, 0x02 UDP
// Response (server -> client, in front of the first reply byte):
//   VER (1) = request VER | A (1) | ADDONS (A, skipped)
//
// parse_request is incremental (proto/parse_result.hpp) and fails as soon as
// a field is wrong, with one Errc per field:
//   VER != 0                        unsupported_version
//   addons message not well formed  malformed        (addons.hpp)
//   CMD not 1..4                    unknown_command
//   ATYP not 1/2/3                  unsupported_address_type
//   empty domain / control byte     malformed
// The user id is not checked here: looking it up is the server's business,
// and a miss is its auth_failed (and fallback, vless.md section 5).
//
// Threading: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/address.hpp"
#include "proto/vless/user_id.hpp"
#include "sluice/error.hpp"

namespace sluice::vless {

// kVersion is the only request version (vless.md section 3).
inline constexpr uint8_t kVersion = 0x00;

// Command is the request command byte (vless.md section 3).
enum class Command : uint8_t {
  tcp = 0x01,
  udp = 0x02,  // length-framed datagrams to one target (section 6.1)
  mux = 0x03,  // Mux.Cool, "v1.mux.cool"; XUDP rides on session 0 (section 6.2)
  rvs = 0x04,  // Xray reverse proxy, "v1.rvs.cool" (parsed, never served)
};

// has_address: TCP and UDP carry PORT | ATYP | ADDR; Mux and Rvs do not.
constexpr bool has_address(Command c) noexcept { return c == Command::tcp || c == Command::udp; }

// Request is a decoded or to-be-encoded request header.
struct Request {
  UserId user{};
  Addons addons;  // Addons::with_flow(...) to encode
  Command command = Command::tcp;
  TargetAddress target;  // meaningful for tcp/udp only
};

// kMaxRequestSize: VER + id + A + 255 addons + CMD + the longest address.
inline constexpr size_t kMaxRequestSize =
    1 + kUserIdSize + 1 + kMaxAddonsSize + 1 + kMaxAddrPortSize;
// kResponseSize: what sluice's server sends (VER, A = 0).
inline constexpr size_t kResponseSize = 2;

// request_size is the encoded length of |r|.
size_t request_size(const Request& r) noexcept;

// encode_request writes |r| into |out| (typically the headroom in front of
// the first payload). invalid_argument for Flow::other; buffer_too_small if
// |out| is short. Returns the bytes written. Example (vless.md section 3):
// Vision, TCP to example.com:443 is 52 bytes.
Result<size_t> encode_request(const Request& r, std::span<uint8_t> out);

// parse_request decodes a request from the front of |in| (see the error
// table above). Bytes after |consumed| are the first payload.
ParseResult<Request> parse_request(std::span<const uint8_t> in);

// Response is a decoded response header.
struct Response {
  uint8_t version = kVersion;
  uint8_t addons_len = 0;  // bytes skipped
};

// encode_response writes VER, A = 0 (what Xray and sing-box servers send).
Result<size_t> encode_response(std::span<uint8_t> out);

// parse_response decodes the response; |consumed| includes the skipped
// addons. unsupported_version if VER differs from |request_version| (Xray's
// client refuses it, vless.md section 4).
ParseResult<Response> parse_response(std::span<const uint8_t> in,
                                     uint8_t request_version = kVersion);

}  // namespace sluice::vless

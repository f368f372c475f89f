// proto/socks5/socks5.hpp: SOCKS5 frames (RFC 1928) and username/password
// authentication (RFC 1929), sans I/O.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Parsers take whatever bytes have arrived and return a ParseResult (need
// more / done with bytes consumed / error); builders write into a caller's
// buffer and return the bytes written, or buffer_too_small. Nothing here
// allocates. ServerHandshake and ClientHandshake (handshake.hpp) chain these
// into the per-connection state machines.
//
// Errors a parser returns and what a server answers (RFC 1928 section 6):
//   unsupported_version       wrong VER byte (also SOCKS4's 0x04): close, no reply
//   malformed                 NMETHODS 0, RSV not 0, empty domain, ...: close
//   unknown_command           CMD not 1, 2 or 3: reply 0x07
//   unsupported_address_type  ATYP not 1, 3 or 4: reply 0x08
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/parse_result.hpp"
#include "proto/target_address.hpp"
#include "sluice/error.hpp"

namespace sluice::socks5 {

inline constexpr uint8_t kVersion = 0x05;      // RFC 1928 section 3
inline constexpr uint8_t kAuthVersion = 0x01;  // RFC 1929 section 2

// Method codes (RFC 1928 section 3).
inline constexpr uint8_t kMethodNoAuth = 0x00;
inline constexpr uint8_t kMethodGssapi = 0x01;
inline constexpr uint8_t kMethodUserPass = 0x02;
inline constexpr uint8_t kMethodNoAcceptable = 0xFF;

// Command codes (RFC 1928 section 4).
enum class Command : uint8_t { connect = 0x01, bind = 0x02, udp_associate = 0x03 };

// Reply codes, REP (RFC 1928 section 6).
enum class Rep : uint8_t {
  succeeded = 0x00,
  general_failure = 0x01,
  not_allowed = 0x02,
  network_unreachable = 0x03,
  host_unreachable = 0x04,
  connection_refused = 0x05,
  ttl_expired = 0x06,
  command_not_supported = 0x07,
  address_type_not_supported = 0x08,
};

// Largest frames, for sizing stack buffers.
inline constexpr size_t kMaxGreetingSize = 2 + 255;
inline constexpr size_t kMaxAuthRequestSize = 1 + 1 + 255 + 1 + 255;
inline constexpr size_t kMaxRequestSize = 3 + TargetAddress::kMaxSocksSize;
inline constexpr size_t kMaxReplySize = kMaxRequestSize;

// Greeting is the client's version/method selection message.
struct Greeting {
  uint8_t nmethods = 0;                // 1..255
  std::array<uint8_t, 255> methods{};  // the first nmethods are valid
  bool offers(uint8_t method) const noexcept;
};

// AuthRequest is an RFC 1929 username/password request. Both fields point
// into the AuthRequest itself.
struct AuthRequest {
  uint8_t ulen = 0;  // 1..255
  uint8_t plen = 0;  // 0..255 (RFC 1929 says 1..255; empty passwords are seen in the wild)
  std::array<char, 255> user{};
  std::array<char, 255> pass{};
  std::string_view username() const noexcept { return {user.data(), ulen}; }
  std::string_view password() const noexcept { return {pass.data(), plen}; }
};

// Request is a CONNECT / BIND / UDP ASSOCIATE request.
struct Request {
  Command command = Command::connect;
  TargetAddress target;
};

// Reply is the server's answer to a Request; |bound| is BND.ADDR:BND.PORT
// (for UDP ASSOCIATE, where to send datagrams).
struct Reply {
  Rep rep = Rep::succeeded;
  TargetAddress bound;
};

// --- server side -----------------------------------------------------------

// parse_greeting: VER=5 | NMETHODS (>= 1) | METHODS.
ParseResult<Greeting> parse_greeting(std::span<const uint8_t> in);
// choose_method picks user/pass when |require_auth|, else no-auth; 0xFF when
// the client offers neither (the server then closes, RFC 1928 section 3).
uint8_t choose_method(const Greeting& g, bool require_auth) noexcept;
// method_choice is the 2-byte reply VER | METHOD.
std::array<uint8_t, 2> method_choice(uint8_t method) noexcept;
// parse_auth_request: VER=1 | ULEN (>= 1) | UNAME | PLEN | PASSWD.
ParseResult<AuthRequest> parse_auth_request(std::span<const uint8_t> in);
// auth_status is the 2-byte RFC 1929 reply: VER=1 | STATUS (0 = success).
std::array<uint8_t, 2> auth_status(bool ok) noexcept;
// parse_request: VER=5 | CMD | RSV=0 | ATYP | DST.ADDR | DST.PORT. BIND parses
// (the server answers it with Rep::command_not_supported).
ParseResult<Request> parse_request(std::span<const uint8_t> in);
// build_reply writes VER | REP | RSV | ATYP | BND.ADDR | BND.PORT.
Result<size_t> build_reply(Rep rep, const TargetAddress& bound, std::span<uint8_t> out);
// rep_for_error maps a parse error or a dial error to the REP code a server
// sends (unknown_command -> 0x07, connection_refused -> 0x05, ...).
Rep rep_for_error(Errc e) noexcept;

// --- client side -----------------------------------------------------------

// build_greeting offers no-auth, plus user/pass when |offer_user_pass|.
Result<size_t> build_greeting(bool offer_user_pass, std::span<uint8_t> out);
// parse_method_choice: VER=5 | METHOD. The value is the METHOD byte.
ParseResult<uint8_t> parse_method_choice(std::span<const uint8_t> in);
// build_auth_request: invalid_argument if the username is empty or either
// field exceeds 255 bytes.
Result<size_t> build_auth_request(std::string_view username, std::string_view password,
                                  std::span<uint8_t> out);
// parse_auth_status: VER=1 | STATUS. The value is true for STATUS 0. A VER of
// 5 is accepted too: some servers echo the SOCKS version there.
ParseResult<bool> parse_auth_status(std::span<const uint8_t> in);
Result<size_t> build_request(Command cmd, const TargetAddress& target, std::span<uint8_t> out);
// parse_reply: a reply with any REP parses; the caller checks rep.
ParseResult<Reply> parse_reply(std::span<const uint8_t> in);
// errc_for_rep maps a non-success REP to the error a client reports.
Errc errc_for_rep(Rep rep) noexcept;

}  // namespace sluice::socks5

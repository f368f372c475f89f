// proto/reality/server_auth.hpp: the REALITY server's look at a client's
// first bytes: read the ClientHello out of its records (bounded), then decide
// whether it is an authorised REALITY client or must be relayed, untouched,
// to the real site.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Checks, in order, each with its own log reason: the hello offers TLS 1.3;
// the SNI is one of server_names (exact); there is an X25519 key (auth.hpp);
// the session id opens under the derived auth key; the client version is
// within [min, max]; the client time is within max_time_difference of ours;
// the short id is configured; the random was not seen before (replay). The
// replay cache remembers authenticated randoms only (a flood of garbage
// cannot push real entries out), for max_time_difference when it is set
// (older hellos fail the time check anyway), and up to replay_capacity
// entries in any case, oldest evicted first.
//
// Sans-I/O: the caller passes the time. One ServerAuth serves every
// connection of a server on one thread (the replay cache mutates).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "proto/reality/auth.hpp"
#include "proto/tls13/messages.hpp"

namespace sluice::reality {

// kMaxClientHelloBytes bounds what the server buffers before deciding
// (records included): a Chrome hello with an X25519MLKEM768 share is ~1.8 KB.
inline constexpr size_t kMaxClientHelloBytes = 16 * 1024 + 5 * 4;

// ClientHelloReader finds the first ClientHello in the client's bytes, which
// may span several handshake records. Call read() with everything received
// so far; it re-parses from the start (hellos are small).
class ClientHelloReader {
 public:
  enum class State : uint8_t { need_more, done, not_tls };

  ClientHelloReader() = default;
  ClientHelloReader(const ClientHelloReader&) = delete;  // hello_ points into message_
  ClientHelloReader& operator=(const ClientHelloReader&) = delete;

  State read(std::span<const uint8_t> in);
  // hello is the parsed ClientHello (valid after done; borrows this object).
  const tls13::ClientHello& hello() const noexcept { return hello_; }
  // consumed is the length of the records holding the hello.
  size_t consumed() const noexcept { return consumed_; }
  // reason says why the bytes are not a TLS ClientHello (static string).
  const char* reason() const noexcept { return reason_; }

 private:
  State fail(const char* why) noexcept {
    reason_ = why;
    return State::not_tls;
  }
  std::vector<uint8_t> message_;  // the reassembled handshake message
  tls13::ClientHello hello_;
  size_t consumed_ = 0;
  const char* reason_ = "";
};

struct ServerOptions {
  Key private_key{};
  std::vector<std::string> server_names;  // exact SNI values accepted
  std::vector<ShortId> short_ids;         // empty: the all-zero short id only
  uint64_t max_time_difference_ms = 0;    // 0: no time check
  std::optional<Version> min_version, max_version;
  size_t replay_capacity = 65536;
};

struct Decision {
  bool authenticated = false;
  const char* reason = "";  // why not (static string), for the log
  AuthKey auth_key{};
  SessionPlaintext plaintext;
};

// hello_server_name is the hello's SNI ("" if none or malformed).
std::string_view hello_server_name(const tls13::ClientHello& hello) noexcept;

// AlpnClass sorts hellos as Xray's post-handshake record detection does: no
// ALPN, a first protocol other than h2, or h2 first (a target may send
// different records after the handshake, e.g. an HTTP/2 SETTINGS frame).
enum class AlpnClass : uint8_t { none = 0, other = 1, h2 = 2 };
AlpnClass hello_alpn_class(const tls13::ClientHello& hello) noexcept;

class ServerAuth {
 public:
  explicit ServerAuth(ServerOptions options);

  // inspect decides on |hello|, received at |now_unix_ms|.
  Decision inspect(const tls13::ClientHello& hello, uint64_t now_unix_ms);

  const ServerOptions& options() const noexcept { return options_; }
  size_t replay_entries() const noexcept { return seen_.size(); }

 private:
  using Random = std::array<uint8_t, 32>;
  struct RandomHash {
    size_t operator()(const Random& r) const noexcept;
  };
  // remember reports false if |r| was seen; otherwise records it.
  bool remember(const Random& r, uint64_t now_unix_ms);

  ServerOptions options_;
  std::unordered_set<Random, RandomHash> seen_;
  std::deque<std::pair<uint64_t, Random>> order_;  // (time seen, random), oldest first
};

}  // namespace sluice::reality

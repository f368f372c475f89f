// retry_token.hpp: RetryTokenKey, the server's stateless Retry and
// NEW_TOKEN tokens (RFC 9000 §8.1.2-§8.1.4).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A server that validates addresses answers a client's first Initial with
// a Retry carrying a token; the client repeats its Initial with that token,
// and the token alone (no server state) proves that the client received
// the Retry at its address, which DCID it first chose, and when.
//
// Token layout (kTokenLen = 58 bytes):
//   magic 0x5a | nonce (12) | AES-256-GCM( issued_ms u64 BE | odcid_len u8 |
//   odcid padded to 20 ) | tag (16)
// The AEAD's associated data binds the token to the client's address
// (family, port, IP) and to the Retry's Source Connection ID, which the
// client must use as the DCID of the Initial carrying the token: a token
// replayed from another address or with another DCID fails to open. The
// key is random per Endpoint unless the Endpoint is given one
// (EndpointOptions::token_key): then tokens survive a restart and are
// valid on every server sharing the key.
//
// NEW_TOKEN tokens (§8.1.3), sent after a handshake for the client's next
// connection, use the same key (kNewTokenLen = 37 bytes):
//   magic 0x5b | nonce (12) | AES-256-GCM( issued_ms u64 BE ) | tag (16)
// with associated data binding the client's IP address (family and IP, not
// the port: clients rebind between connections). The two kinds differ in
// magic, length and the label that starts the associated data, so neither
// opens as the other: a Retry token cannot be replayed as a NEW_TOKEN nor
// the reverse. NEW_TOKEN times are wall-clock milliseconds (the tokens
// outlive the process's monotonic clock when the key is shared).
//
// Threads: immutable after construction; any thread.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/cipher.hpp"
#include "sluice/error.hpp"

namespace sluice::quic {

class RetryTokenKey {
 public:
  static constexpr uint8_t kMagic = 0x5a;
  static constexpr size_t kTokenLen = 1 + kAeadNonceLen + 8 + 1 + NGTCP2_MAX_CIDLEN + kAeadTagLen;

  static constexpr uint8_t kNewTokenMagic = 0x5b;
  static constexpr size_t kNewTokenLen = 1 + kAeadNonceLen + 8 + kAeadTagLen;
  // A NEW_TOKEN's issue time may be this far ahead of the validating
  // server's clock (servers sharing a key have slightly different clocks).
  static constexpr uint64_t kNewTokenClockSkewMs = 10000;

  RetryTokenKey() noexcept;  // a random key
  explicit RetryTokenKey(std::span<const uint8_t, 32> key) noexcept;

  // set_key replaces the key; invalid_argument unless |key| is 32 bytes.
  [[nodiscard]] Status set_key(std::span<const uint8_t> key) noexcept;

  // seal writes a token to |out| (kTokenLen bytes) for a client at |client|
  // whose first Initial had DCID |odcid|, answered by a Retry with SCID
  // |retry_scid|. invalid_argument for an odcid over 20 bytes.
  [[nodiscard]] Status seal(const sockaddr* client, const ngtcp2_cid& odcid,
                            const ngtcp2_cid& retry_scid, uint64_t now_ms,
                            std::span<uint8_t, kTokenLen> out) const noexcept;

  // open checks a token from an Initial sent by |client| to DCID
  // |retry_scid| and returns the original DCID it carries. malformed: not
  // one of our tokens (size, magic, a bad odcid length inside);
  // decrypt_failed: forged, or from another address or for another DCID;
  // timed_out: older than |lifetime_ms| or issued in the future.
  [[nodiscard]] Result<ngtcp2_cid> open(std::span<const uint8_t> token, const sockaddr* client,
                                        const ngtcp2_cid& retry_scid, uint64_t now_ms,
                                        uint64_t lifetime_ms) const noexcept;

  // seal_new_token writes a NEW_TOKEN token (kNewTokenLen bytes) for a
  // client at |client| (its IP only), issued at wall-clock |now_ms|.
  [[nodiscard]] Status seal_new_token(const sockaddr* client, uint64_t now_ms,
                                      std::span<uint8_t, kNewTokenLen> out) const noexcept;

  // open_new_token checks a NEW_TOKEN token from an Initial sent by
  // |client|. malformed: not a NEW_TOKEN of ours by size or magic (a Retry
  // token included); decrypt_failed: forged, another key, another IP, or
  // a Retry token relabelled; timed_out: older than |lifetime_ms|, or
  // issued more than kNewTokenClockSkewMs in the future.
  [[nodiscard]] Status open_new_token(std::span<const uint8_t> token, const sockaddr* client,
                                      uint64_t now_ms, uint64_t lifetime_ms) const noexcept;

 private:
  Aead aead_;
};

}  // namespace sluice::quic

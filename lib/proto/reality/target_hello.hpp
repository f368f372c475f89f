// proto/reality/target_hello.hpp: what the REALITY server learns from the
// real site (the handshake target) before answering an authorised client:
// its ServerHello to this very ClientHello and the lengths of its encrypted
// handshake records, and the engine server configuration built on them.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The target must answer TLS 1.3 (supported_versions 0x0304) with an X25519
// or X25519MLKEM768 key share, one of the three TLS 1.3 suites, a ServerHello
// with no extensions besides supported_versions and key_share, and the
// middlebox-compatibility CCS (14 03 03 00 01 01) right after it; anything
// else is unusable and the connection is closed with that reason.
//
// Record lengths: the engine sends EncryptedExtensions..Finished in one
// record. When the target's first encrypted record is over 512 bytes it
// carried the whole flight too, and ours is padded to its length; otherwise
// ours is padded to the wire length of the target's first (up to four)
// encrypted records together (headers included), so the byte count matches
// even though the record count does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proto/reality/auth.hpp"
#include "proto/reality/certificate.hpp"
#include "proto/tls13/server.hpp"

namespace sluice::reality {

// kMaxTargetHelloBytes bounds what is buffered from the target.
inline constexpr size_t kMaxTargetHelloBytes = 64 * 1024;
// kSingleRecordFlight: a first encrypted record longer than this holds the
// whole server flight (the Go servers use the same threshold).
inline constexpr size_t kSingleRecordFlight = 512;
// kFlightRecords is how many encrypted records make the usual flight (EE,
// Certificate, CertificateVerify, Finished).
inline constexpr size_t kFlightRecords = 4;

struct TargetHello {
  uint16_t cipher_suite = 0;
  uint16_t group = 0;
  std::vector<uint16_t> extension_order;  // of the target's ServerHello
  std::vector<size_t> record_lengths;     // encrypted records seen, wire length with header
};

class TargetHelloReader {
 public:
  enum class State : uint8_t {
    need_more,  // not even the first encrypted record yet
    partial,    // usable, but fewer than kFlightRecords small records so far
    done,       // usable and the flight's records are all in
    unusable,
  };

  // read takes everything the target sent so far (re-parsed each time).
  State read(std::span<const uint8_t> in);
  const TargetHello& hello() const noexcept { return hello_; }
  const char* reason() const noexcept { return reason_; }

  // flight_record_length is the wire length to pad our flight record to
  // (see the header comment); 0 before the first encrypted record.
  size_t flight_record_length() const noexcept;

 private:
  State fail(const char* why) noexcept {
    reason_ = why;
    return State::unusable;
  }
  TargetHello hello_;
  const char* reason_ = "";
};

// server_config builds the engine configuration that answers an
// authenticated client on the target's template: the target's suite, group
// and extension order, our temporary certificate signed for |auth_key|,
// ed25519 CertificateVerify, no ALPN, the flight padded to the target's.
tls13::ServerConfig server_config(const TargetHelloReader& target,
                                  const TemporaryCertificate& certificate, const AuthKey& auth_key);

}  // namespace sluice::reality

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
// Records, mirrored one for one as Xray's REALITY server does: our
// ServerHello is the target's (its random, suite, session id echo and
// extension order) with our key share; then the CCS; then, when the target
// sent EncryptedExtensions, Certificate, CertificateVerify and Finished in
// four records, ours go in four records padded to the same wire lengths.
// When the target's first encrypted record is over 512 bytes it carried the
// whole flight, and ours goes in one record padded to its length. A target
// whose flight is shorter than four small records (seen once the gate's
// wait for more ran out) gets one record padded to the wire length of its
// records together, so the byte count matches though the record count does
// not. A fifth encrypted record already received with the fourth (a
// NewSessionTicket sent before the client Finished, as Go servers do) is
// answered with an empty application_data record of its length. Records a
// target sends after the client Finished are learned by a separate probe
// connection (inbound/reality_source.hpp) and passed to server_config.
#pragma once

#include <array>
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
  std::array<uint8_t, 32> random{};  // of the target's ServerHello
  uint16_t cipher_suite = 0;
  uint16_t group = 0;
  std::vector<uint16_t> extension_order;  // of the target's ServerHello
  std::vector<size_t> record_lengths;     // encrypted records seen, wire length with header
  // extra_record_length: the wire length of a fifth encrypted record whose
  // header came with the flight's fourth (0: none).
  size_t extra_record_length = 0;
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
// authenticated client on the target's template: the target's random,
// suite, group and extension order, our temporary certificate signed for
// |auth_key|, ed25519 CertificateVerify, no ALPN, the flight's records
// padded to the target's (see above), and empty records of
// |post_handshake| wire lengths after the client Finished.
tls13::ServerConfig server_config(const TargetHelloReader& target,
                                  const TemporaryCertificate& certificate, const AuthKey& auth_key,
                                  std::span<const size_t> post_handshake = {});

}  // namespace sluice::reality

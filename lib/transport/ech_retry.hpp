// ech_retry.hpp: EchRetry, the ECH outcome rules every client dial follows
// (docs/protocols/tls-ech.md), shared by TlsDial (TLS over TCP) and
// quic::QuicDial.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A dial tells EchRetry how each handshake ended. EchRetry counts the ECH
// outcomes in the Engine (accepted, rejected, retried) and allows exactly
// one retry: when the server rejected ECH and sent retry configs that pass
// the same filter as a configured list (tls::filter_ech_config_list), the
// dial connects once more, on a new connection, with them. A rejection
// without retry configs, unusable retry configs, or a second rejection are
// final: the real server name is never sent in clear as a fallback.
//
// Threads: the dial's (the loop thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"

namespace sluice {

class EchRetry {
 public:
  // |proto| (a string literal: "tls", "quic") and |host|:|port| name the
  // dial in logs.
  EchRetry(Engine& e, const char* proto, std::string_view host, uint16_t port)
      : engine_(e), proto_(proto), host_(host), port_(port) {}

  // established: a handshake completed. |accepted|: the server used our
  // ECH; |configured|: the client offered ECH or GREASE.
  void established(bool accepted, bool configured) noexcept;

  // Verdict is what the dial does after a failed handshake: connect again
  // with |configs| (retry), or fail with the handshake's error and |reason|.
  struct Verdict {
    bool retry = false;
    std::vector<uint8_t> configs;  // the filtered retry ECHConfigList
    std::string reason;            // when !retry
  };
  // failed: a handshake failed with |e| and |reason|; |retry_configs| is
  // the ECHConfigList the server sent with an ECH rejection (empty if none).
  Verdict failed(Errc e, std::string_view reason, std::span<const uint8_t> retry_configs);

  // retried: the one retry has been used.
  bool retried() const noexcept { return retried_; }

 private:
  Engine& engine_;
  const char* proto_;
  std::string host_;
  uint16_t port_;
  bool retried_ = false;
};

}  // namespace sluice

// session/reality_dial.hpp: RealityDial, the TCP dial and REALITY handshake
// of a VLESS outbound with tls.reality, on sluice's own TLS 1.3 engine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The engine client gets the REALITY hook and verifier
// (proto/reality/client_auth.hpp) on top of the outbound's utls profile and
// verify policy (trust store, custom CA, pins, insecure), then:
//   * REALITY server (our HMAC certificate, CertificateVerify and Finished
//     verified): the Tls13Transport is the answer, ready for VLESS;
//   * another server whose chain the policy accepts for the SNI (the real
//     site: an unauthenticated hello was forwarded, or the server is not
//     REALITY at all): one browser-like request (proto/reality/spider.hpp),
//     up to kSpiderWaitMs for its answer, then the connection is closed and
//     the answer is Errc::auth_failed "not a REALITY server";
//   * a chain the policy refuses: the engine's alert went out and the answer
//     is the certificate error.
// No VLESS byte is ever written before the answer, so nothing of the
// application reaches a server that failed the check.
//
// Everything runs under one deadline (dial.connect_timeout_ms +
// handshake_timeout_ms), the spider's wait included. The answer comes
// through Tls13DialHandler, as Tls13Dial's; the object frees itself after
// answering or cancel(). Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "proto/reality/client_auth.hpp"
#include "sluice/config.hpp"

#include "sluice/engine.hpp"
#include "transport/tls13_transport.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

// reality_client_options decodes an outbound's tls.reality (already checked
// for shape by the config parser) for TlsDialOptions::reality.
// config_invalid with |why| on a bad key, short id or version.
Result<std::shared_ptr<const reality::ClientOptions>> reality_client_options(
    const TlsRealityClientOptions& o, std::string* why);

class RealityDial {
 public:
  // kSpiderWaitMs bounds the wait for the real site's answer to the request.
  static constexpr uint64_t kSpiderWaitMs = 2000;

  // start dials |host|:|port| with o.reality set (else invalid_argument is
  // answered at once, as are other failures to begin: nullptr returned).
  static RealityDial* start(Engine& e, std::string_view host, uint16_t port,
                            std::shared_ptr<const tls::TlsClientContext> ctx,
                            const TlsDialOptions& o, Tls13DialHandler* h) noexcept;
  void cancel() noexcept;

  struct Impl;

 private:
  explicit RealityDial(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace sluice

// tls_dial.hpp: TlsDial, one outgoing TLS connection: TCP dial, handshake,
// and the single ECH retry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The dial resolves and connects (net::Dial), wraps the connection in a
// client TlsTransport that takes and stores tickets in the Engine's cache,
// and runs the handshake under a timeout. When the server rejects ECH and
// sends retry configs, it dials once more with them (draft-ietf-tls-esni-22 section 6.1.6); a
// rejection without retry configs, or a second rejection, fails: the real
// server name is never sent in clear as a fallback.
//
// Lifetime: a TlsDial frees itself after delivering its result, or after
// cancel(); nothing is called back after cancel(). Threads: the loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "crypto/tls_context.hpp"
#include "net/dialer.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

namespace reality {
struct ClientOptions;
}

struct TlsDialOptions {
  net::DialOptions dial;
  uint64_t handshake_timeout_ms = 10000;
  bool use_session_cache = true;
  // one_record_reads: the transport delivers one TLS record per on_data
  // (TlsTransport::set_one_record_reads); false (the default) coalesces
  // every complete record received, for bulk relays. An owner that needs
  // record boundaries may also switch before its first read_start().
  bool one_record_reads = false;
  // utls: not empty = the connection is made by sluice's own TLS 1.3 engine
  // with this ClientHello fingerprint (Tls13Dial, `tls.utls`) instead of
  // BoringSSL's libssl; ClientConnect picks the dial. No ECH, no tickets.
  std::string utls;
  // reality: set = a REALITY client (session/reality_dial.hpp) on the
  // engine, with the utls fingerprint (chrome when empty).
  std::shared_ptr<const reality::ClientOptions> reality;
};

class TlsDialHandler {
 public:
  virtual ~TlsDialHandler() = default;
  // on_tls_dial delivers the connected, handshaken transport (reading
  // stopped), or the error with a reason (borrowed for the call).
  virtual void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) = 0;
};

class TlsDial {
 public:
  // start begins; |h| hears exactly once unless cancel() comes first (it
  // may hear before start returns).
  static TlsDial* start(Engine& e, std::string_view host, uint16_t port,
                        std::shared_ptr<const tls::TlsClientContext> ctx, const TlsDialOptions& o,
                        TlsDialHandler* h) noexcept;
  void cancel() noexcept;

  struct Impl;

 private:
  explicit TlsDial(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace sluice

// quic_dial.hpp: QuicDial, one outgoing QUIC connection: resolve, handshake
// under a timeout, and the single ECH retry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The QUIC counterpart of TlsDial (lib/transport/tls_dial.hpp), for clients
// that keep one connection to one server and run many streams on it
// (Hysteria v2, TUIC v5). The dial resolves the host as net::Dial does
// (lib/net/resolve; none for IP literals) and uses the first address in
// that order: UDP has no connect step to race, opens a client Endpoint of its own bound to the
// wildcard address of that family, connects, and waits for the handshake.
//
// ECH (draft-ietf-tls-esni-22 section 6.1.6; the rules are EchRetry's, shared with TlsDial): when
// the server rejects ECH and sends retry configs, the dial builds a new
// client context from the same QuicTlsOptions with those configs and
// connects once more, from a new Endpoint (new socket, new connection IDs:
// nothing links the two attempts but the server address). A rejection
// without retry configs, or a second rejection, fails: the real server name
// is never sent in clear as a fallback. The Engine counts the outcomes.
//
// The result is the Endpoint, which the handler then owns, and its one
// Connection, handshake completed and without a ConnectionHandler: the
// handler installs its own in on_quic_dial. The result is delivered from a
// timer callback, never from inside the connection's packet processing, so
// the handler may do anything with it, including closing the Endpoint.
// Streams the server opens between the handshake and that delivery (the
// same loop turn or the next) come with the result (early_streams: an
// HTTP/3 server opens its control and QPACK streams at once); a datagram
// it sends meanwhile is dropped.
// Session tickets and NEW_TOKEN tokens are taken and stored as Endpoint
// options say (by default in the Engine's cache and token store), so a
// later dial resumes and skips address validation; a dial never sends 0-RTT (it
// waits for the handshake): a client that wants to uses Endpoint::connect.
//
// Lifetime: a QuicDial frees itself after delivering its result, or after
// cancel(); nothing is called back after cancel(). Endpoints of failed or
// cancelled attempts close and free themselves. When the Engine stops
// during a dial, the handler hears Errc::closed. Threads: the loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "quic/endpoint.hpp"
#include "quic/quic_stream.hpp"
#include "quic/quic_tls.hpp"
#include "sluice/engine.hpp"

namespace sluice::quic {

struct QuicDialOptions {
  QuicDialOptions() { endpoint.bind_host.clear(); }
  // endpoint: the options of the dial's client Endpoint. bind_host empty
  // (the default here) binds 0.0.0.0 or :: by the server address's family;
  // endpoint.connection holds the connection's options, whose
  // handshake_timeout_ms the dial sets to its own.
  EndpointOptions endpoint;
  // handshake_timeout_ms bounds the whole dial: resolution and every
  // attempt's handshake, the ECH retry included (as TlsDial's timeout).
  uint64_t handshake_timeout_ms = 10000;
};

// QuicDialed is a successful dial's result.
struct QuicDialed {
  // endpoint owns |connection|; close() it before destroying it.
  std::unique_ptr<Endpoint> endpoint;
  // connection: handshake completed, no handler set yet.
  Connection* connection = nullptr;
  // early_streams: streams the server opened between the handshake and
  // this delivery, in order (an HTTP/3 server's control and QPACK streams);
  // the handler takes them as ConnectionHandler::on_stream would.
  std::vector<std::unique_ptr<QuicStream>> early_streams;
};

class QuicDialHandler {
 public:
  virtual ~QuicDialHandler() = default;
  // on_quic_dial delivers the connected endpoint, or the error with a
  // reason (borrowed for the call): timed_out, dns_failure, ech_rejected,
  // cert_verify_failed, pin_mismatch, tls_alert, ...
  virtual void on_quic_dial(Result<QuicDialed> r, const char* reason) = 0;
};

class QuicDial {
 public:
  // start begins; |h| hears exactly once unless cancel() comes first (it
  // may hear before start returns, then start returns nullptr). |tls| is a
  // client context (several dials may share it); its options() are the base
  // of the ECH retry's context.
  static QuicDial* start(Engine& e, std::string_view host, uint16_t port,
                         std::shared_ptr<QuicTlsContext> tls, const QuicDialOptions& o,
                         QuicDialHandler* h) noexcept;
  void cancel() noexcept;

  struct Impl;

 private:
  explicit QuicDial(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace sluice::quic

// trojan_session.hpp: TrojanSession, the `trojan` outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Each open_stream makes one TLS connection to the server (TlsDial: TCP,
// handshake with the Engine's ticket cache, one ECH retry) and writes the
// Trojan request header (lib/proto/trojan) as the first plaintext. Trojan
// has no reply, so the TLS transport is handed over as the Stream at once;
// the header and the first application bytes leave together as soon as the
// relay writes (TLS coalesces nothing across writes, so the header is its
// own record, as trojan-gfw's client does when it has no payload yet).
//
// open_datagram returns a StreamDatagramFlow carried by one TLS connection of
// its own (dialed at once): a UDP ASSOCIATE request (its address is the
// first datagram's destination; servers ignore it), then every datagram
// framed as
// ATYP|ADDR|PORT|LEN|CRLF|payload in both directions (lib/proto/trojan).
// Datagrams sent while the connection is still being made wait in a
// bounded queue; past it, and past a bounded TLS write queue later, they
// are dropped and counted (UDP semantics). A failed dial, the server ending
// the stream, or a malformed frame from it fail the flow (on_error, the
// reason in the log).
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "crypto/tls_context.hpp"
#include "proto/trojan/trojan.hpp"
#include "session/client_connect.hpp"
#include "sluice/session.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

// Bounds for a UDP flow: bytes of framed datagrams waiting for the TLS
// connection, and bytes the TLS write queue may hold before datagrams drop.
inline constexpr size_t kTrojanUdpConnectQueue = 256 * 1024;
inline constexpr size_t kTrojanUdpWriteQueue = 1024 * 1024;

struct TrojanSessionOptions {
  std::string server;
  uint16_t server_port = 0;
  std::string password;
  TlsDialOptions dial;
};

class TrojanSession final : public Session {
 public:
  // create builds the TLS client context from |tls|; |why| on failure.
  static Result<std::unique_ptr<TrojanSession>> create(Engine& e, std::string tag,
                                                       const TrojanSessionOptions& o,
                                                       const TlsClientOptions& tls,
                                                       std::string* why);
  ~TrojanSession() override;

  const char* type() const noexcept override { return "trojan"; }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override;
  void cancel_open(OpenHandler* h) noexcept override;
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override;
  // close fails the pending opens (Errc::canceled, "outbound closing",
  // or "engine stopping" when the Engine closes it at stop) and
  // detaches; the callback follows on the next loop turn (Session::close).
  // The streams and flows handed out belong to their takers. Opens asked
  // for afterwards fail at once.
  void close(CloseCallback cb, void* user) noexcept override;

  const tls::TlsClientContext& tls_context() const noexcept { return *ctx_; }

 private:
  TrojanSession(Engine& e, std::string tag, const TrojanSessionOptions& o,
                std::shared_ptr<tls::TlsClientContext> ctx);

  TrojanSessionOptions opts_;
  trojan::PasswordHash hash_;
  std::shared_ptr<tls::TlsClientContext> ctx_;
  PendingOpens pending_;
};

}  // namespace sluice

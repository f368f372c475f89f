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
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "crypto/tls_context.hpp"
#include "proto/trojan/trojan.hpp"
#include "sluice/session.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

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
  void engine_close() noexcept override;

  const tls::TlsClientContext& tls_context() const noexcept { return *ctx_; }

  struct Pending;

 private:
  TrojanSession(Engine& e, std::string tag, const TrojanSessionOptions& o,
                std::shared_ptr<tls::TlsClientContext> ctx);
  friend struct Pending;
  void forget(Pending* p) noexcept;

  TrojanSessionOptions opts_;
  trojan::PasswordHash hash_;
  std::shared_ptr<tls::TlsClientContext> ctx_;
  std::vector<std::unique_ptr<Pending>> pending_;
};

}  // namespace sluice

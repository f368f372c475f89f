// inbound/reality_source.hpp: RealitySource, the REALITY server's source of
// accepted Transports: a TCP listener whose connections pass a REALITY gate
// before the protocol server (VLESS) sees them.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Per accepted connection, under one deadline (handshake_timeout_ms):
//   1. dial the handshake target at once, and read the client's ClientHello
//      (bounded by reality::kMaxClientHelloBytes);
//   2. decide (proto/reality/server_auth.hpp):
//      * not TLS, not authenticated, or no complete hello before the
//        deadline: the bytes read so far go to the target and a Relay
//        splices client and target both ways (half-close included), so the
//        client sees the real site (rate-limited when fallback limits are
//        set: LimitedRelay, a copy instead of splice); the reason is logged
//        and counted;
//      * authenticated: the hello goes to the target, whose ServerHello and
//        encrypted record lengths are read (proto/reality/target_hello.hpp;
//        its four flight records, or up to kFlightWaitMs after its first
//        encrypted record when fewer come), the target connection is closed,
//        and the engine server answers on that template, record for record,
//        with the temporary certificate signed for this client, then sends
//        the post-handshake records learned by the probe (below) once the
//        client Finished is in; the Tls13Transport then goes to the
//        downstream Sink (the VLESS driver);
//   3. a target that is unreachable, closes, or answers with something
//      REALITY cannot mirror closes the client connection (after the
//      decision: an unauthenticated client just sees the target's
//      behaviour); every case logs its reason at info level.
//
// Post-handshake probe (Xray's DetectPostHandshakeRecordsLens): what a
// target sends after the client Finished (session tickets, an HTTP/2
// SETTINGS frame) never reaches an authenticated client's connection,
// because its Finished goes to us, not to the target. So at creation, for
// each server name and each ALPN class (none, other, h2 first), one probe
// connection makes a full TLS 1.3 handshake with the target (our engine
// client, that SNI and ALPN) and records the lengths of the records the
// target sends after it: until probe_idle_ms pass without more, at most
// probe_window_ms. Authenticated connections of that class answer with
// empty records of those lengths; one arriving before its probe ended
// waits for it (under its deadline) before answering.
//
// Ownership and closing: created by the protocol server, handed to its
// ServerDriver as a source. close() stops the listener and closes every
// connection still at the gate; exactly one callback. Connections already
// relayed to the target belong to their Relay (the Engine closes them).
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "inbound/source.hpp"
#include "net/dialer.hpp"
#include "proto/reality/certificate.hpp"
#include "proto/reality/rate_limit.hpp"
#include "proto/reality/server_auth.hpp"
#include "session/relay.hpp"
#include "sluice/config.hpp"
#include "sluice/engine.hpp"

namespace sluice {

struct RealitySourceOptions {
  std::string log_prefix = "reality";  // "vless <tag>"
  std::string listen = "127.0.0.1";
  uint16_t port = 0;
  net::ListenOptions listen_opts;
  std::string target_host;  // the real TLS 1.3 site
  uint16_t target_port = 443;
  net::DialOptions target_dial;
  reality::ServerOptions auth;
  uint64_t handshake_timeout_ms = 10000;
  RelayOptions relay;  // for connections relayed to the target
  // Rate limits on relayed connections (proto/reality/rate_limit.hpp):
  // upload is client -> target, download target -> client.
  reality::FallbackLimit fallback_upload;
  reality::FallbackLimit fallback_download;
  // The post-handshake probe (see above); false: no post-handshake records.
  bool post_handshake_probe = true;
  uint64_t probe_window_ms = 3000;
  uint64_t probe_idle_ms = 200;
};

// reality_source_options decodes an inbound's tls.reality (checked for
// shape by the config parser) into the gate's target and authentication
// options; the listen fields and timeouts are the caller's. config_invalid
// with |reason| on a bad key, short id or version.
Result<RealitySourceOptions> reality_source_options(const TlsRealityServerOptions& o,
                                                    std::string* reason);

// RealitySourceStats counts what the gate decided.
struct RealitySourceStats {
  uint64_t accepted = 0;
  uint64_t authenticated = 0;  // handed to the protocol server
  uint64_t relayed = 0;        // relayed to the target (not REALITY clients)
  uint64_t failed = 0;         // closed: target or handshake trouble, timeouts
  std::string last_reason;     // the last relay or failure reason
  uint64_t probes_done = 0;    // post-handshake probes finished (learned or failed)
};

class RealitySource final : public TransportSource, private TransportSource::Sink {
 public:
  // kFlightWaitMs: how long to wait for more of the target's encrypted
  // records once its first (small) one arrived, when fewer than four came
  // with it (Xray waits for four without a limit of its own).
  static constexpr uint64_t kFlightWaitMs = 250;

  // create listens and generates the temporary certificate. |downstream|
  // receives each authenticated connection (a Tls13Transport after its
  // handshake). invalid_argument (with |reason|) for options that cannot
  // work: no target, no server name.
  static Result<std::unique_ptr<RealitySource>> create(Engine& e, const RealitySourceOptions& o,
                                                       TransportSource::Sink* downstream,
                                                       std::string* reason);
  ~RealitySource() override;

  uint16_t port() const noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;
  const RealitySourceStats& stats() const noexcept { return stats_; }

  class Gate;          // one connection at the gate (internal)
  class Probe;         // one post-handshake probe (internal)
  class LimitedRelay;  // a rate-limited relay to the target (internal)

  // post_handshake_lengths: what the probe for (|sni|, |alpn|) learned;
  // empty while it runs or if it failed.
  std::vector<size_t> post_handshake_lengths(std::string_view sni, reality::AlpnClass alpn) const;

 private:
  RealitySource(Engine& e, const RealitySourceOptions& o, TransportSource::Sink* downstream,
                reality::TemporaryCertificate cert);
  void on_accepted(std::unique_ptr<Transport> t, const AcceptInfo& info) override;
  void gate_done(Gate* g, bool authenticated, bool relayed, const std::string& reason) noexcept;
  static void listener_closed(void* self);
  // probe_for finds (or starts) the probe for (|sni|, |alpn|); nullptr when
  // probing is off.
  Probe* probe_for(std::string_view sni, reality::AlpnClass alpn);
  void stop_probes() noexcept;

  Engine& engine_;
  RealitySourceOptions opts_;
  TransportSource::Sink* downstream_;
  reality::ServerAuth auth_;  // the replay cache lives here, shared by every gate
  reality::TemporaryCertificate cert_;
  std::unique_ptr<TcpSource> tcp_;
  std::vector<Gate*> gates_;
  std::vector<std::unique_ptr<Probe>> probes_;
  RealitySourceStats stats_;
  bool closing_ = false;
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;

  friend class Gate;
};

}  // namespace sluice

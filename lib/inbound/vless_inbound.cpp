// vless_inbound.cpp: the VLESS server, vless::ServerCore on the
// ServerDriver: (TLS,) the request, then a Relay to the target (through
// VlessStream or VisionStream), a DatagramRelay (0x02 or XUDP), or the
// fallback server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/vless_inbound.hpp"

#include <new>

#include "inbound/reality_source.hpp"
#include "proto/vless/header.hpp"
#include "proto/vless/udp_framing.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "session/vless_stream.hpp"
#include "session/vless_vision_stream.hpp"
#include "sluice/log.hpp"
#include "transport/tls13_transport.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

namespace {

ServerDriverOptions make_driver_options(const VlessInboundConfig& o) {
  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "vless";
  // One record per read until the request says whether this is Vision,
  // which must be able to stop at the record it switches after.
  d.tls_one_record_reads = true;
  d.handshake_timeout_ms = o.handshake_timeout_ms;  // the TLS handshake
  d.header_timeout_ms = o.header_timeout_ms;        // then the request header
  d.deadline_covers_open = false;
  d.fallback = o.fallback;
  d.fallback_for_alpn = o.fallback_for_alpn;
  d.fallback_dial = o.fallback_dial;
  d.relay = o.relay;
  d.udp.idle_timeout_ms = o.udp_idle_timeout_ms;
  d.udp.write_queue = 1024 * 1024;  // reply bytes queued to the client
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  return d;
}

}  // namespace

VlessInbound::VlessInbound(Engine& e, const VlessInboundConfig& o, ServerDriverOptions d, Router* r)
    : ServerDriver(e, std::move(d), r), opts_(o) {}

VlessInbound::~VlessInbound() = default;

Result<std::unique_ptr<VlessInbound>> VlessInbound::create(Engine& e, const VlessInboundConfig& o,
                                                           Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  if (o.users.empty()) {
    if (reason) *reason = "at least one user is required";
    return Errc::invalid_argument;
  }
  ServerDriverOptions d = make_driver_options(o);
  if (o.tls.enabled && o.tls.reality.enabled)
    return create_reality(e, o, std::move(d), router, reason);
  std::shared_ptr<tls::TlsServerContext> ctx;
  if (o.tls.enabled) {
    std::string why;
    auto c = tls::TlsServerContext::create(o.tls, &why);
    if (!c) {
      if (reason) *reason = "tls: " + why;
      return c.error();
    }
    ctx = std::move(*c);
    d.tls = ctx;
  }
  std::unique_ptr<VlessInbound> in(new (std::nothrow) VlessInbound(e, o, std::move(d), router));
  if (!in) return Errc::no_memory;
  in->ctx_ = std::move(ctx);
  in->vision_ = std::make_shared<VisionCounters>();
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

Result<std::unique_ptr<VlessInbound>> VlessInbound::create_reality(Engine& e,
                                                                   const VlessInboundConfig& o,
                                                                   ServerDriverOptions d,
                                                                   Router* router,
                                                                   std::string* reason) {
  auto src = reality_source_options(o.tls.reality, reason);
  if (!src) return src.error();
  src->log_prefix = ServerDriver::make_log_prefix("vless", o.tag);
  src->listen = o.listen;
  src->port = o.port;
  src->listen_opts = o.listen_opts;
  src->target_dial = o.fallback_dial;
  src->handshake_timeout_ms = o.handshake_timeout_ms;
  src->relay = o.relay;
  std::unique_ptr<VlessInbound> in(new (std::nothrow) VlessInbound(e, o, std::move(d), router));
  if (!in) return Errc::no_memory;
  in->vision_ = std::make_shared<VisionCounters>();
  auto s = RealitySource::create(e, *src, in->sink(), reason);
  if (!s) return s.error();
  in->reality_ = s->get();
  in->add_source(std::unique_ptr<TransportSource>(s->release()));
  return in;
}

std::unique_ptr<ServerCore> VlessInbound::make_core(TlsTransport* tls) {
  // REALITY connections are TLS 1.3 on the engine (no TlsTransport here).
  const bool tls13 = reality_ != nullptr || (tls != nullptr && tls->info().version == "TLSv1.3");
  return std::unique_ptr<ServerCore>(new (std::nothrow) vless::ServerCore(opts_.users, tls13));
}

void VlessInbound::refuse(Errc e, const char* reason) noexcept {
  stats_.last_error = e;
  stats_.last_reason = reason;
}

void VlessInbound::on_event(DriverEvent ev, const ServerDecision* d, const DatagramRelayResult* r) {
  switch (ev) {
    case DriverEvent::accepted:
      stats_.accepted++;
      break;
    case DriverEvent::tls_failed:
      stats_.tls_failures++;
      break;
    case DriverEvent::refused:
      if (d == nullptr) break;
      switch (d->cause) {
        case RefusalCause::not_protocol:
        case RefusalCause::auth:
          stats_.auth_failures++;
          refuse(d->error, d->reason);
          break;
        case RefusalCause::malformed:
          stats_.malformed++;
          refuse(d->error, d->reason);
          break;
        case RefusalCause::policy:
          stats_.rejected++;
          refuse(d->error, d->reason);
          break;
        case RefusalCause::timeout:
          stats_.timeouts++;
          if (d->kind == ServerDecision::reject) refuse(d->error, d->reason);
          break;
        case RefusalCause::truncated:
          if (d->kind == ServerDecision::reject) {
            stats_.malformed++;
            refuse(d->error, d->reason);
          }
          break;
        case RefusalCause::none:
        case RefusalCause::closed:
          break;
      }
      break;
    case DriverEvent::fallback:
      stats_.fallbacks++;
      break;
    case DriverEvent::opened:
      stats_.relayed++;
      break;
    case DriverEvent::open_failed:
      stats_.open_failures++;
      break;
    case DriverEvent::datagram:
      if (d && d->mode == DatagramMode::mux)
        stats_.xudp++;
      else
        stats_.udp++;
      break;
    case DriverEvent::datagram_end:
      // A frame that broke XUDP's rules (not a stream cut inside a frame).
      if (r && d && d->mode == DatagramMode::mux && r->malformed && r->error != Errc::truncated) {
        stats_.malformed++;
        // XudpServer's rules answer protocol_violation / not_supported; the
        // frame codec's errors are the frame's own.
        const bool sequence =
            r->error == Errc::protocol_violation || r->error == Errc::not_supported;
        refuse(r->error, sequence ? "bad XUDP frame sequence" : "malformed XUDP frame");
      }
      break;
    case DriverEvent::timed_out:
      break;
  }
}

// wrap_client puts the client connection under the VLESS layer that
// answers it: the response header in front of the first reply byte, and for
// Vision the padding and direct-copy machinery, which also reads the bytes
// already received after the request header (|*rest|).
Result<std::unique_ptr<Transport>> VlessInbound::wrap_client(std::unique_ptr<Transport> t,
                                                             TlsTransport* tls, ServerCore& core,
                                                             const ServerDecision&, Chain* rest) {
  auto& vc = static_cast<vless::ServerCore&>(core);
  auto b = engine().pool().get(vless::kResponseSize);
  if (!b) return b.error();
  auto w = vless::encode_response({b->append(vless::kResponseSize), vless::kResponseSize});
  if (!w) return w.error();
  // REALITY hands the driver its Tls13Transport as the client transport.
  auto* t13 = reality_ ? dynamic_cast<Tls13Transport*>(t.get()) : nullptr;
  if (vc.vision() && t13 != nullptr) {
    std::unique_ptr<Tls13Transport> tl(t13);
    (void)t.release();
    Chain in = std::move(*rest);
    rest->clear();
    auto v = VisionStream::create(engine(), std::move(tl), VisionStream::Role::server,
                                  vc.user()->id, std::move(*b), std::move(in), vision_);
    if (!v) {
      SLUICE_LOG_INFO("%s: vision: %s", log_prefix().c_str(), errc_message(v.error()));
      return v.error();
    }
    return std::unique_ptr<Transport>(v->release());
  }
  if (vc.vision()) {
    std::unique_ptr<TlsTransport> tl(tls);  // |t| is |tls|
    (void)t.release();
    Chain in = std::move(*rest);
    rest->clear();
    auto v = VisionStream::create(engine(), std::move(tl), VisionStream::Role::server,
                                  vc.user()->id, std::move(*b), std::move(in), vision_);
    if (!v) {
      SLUICE_LOG_INFO("%s: vision: %s", log_prefix().c_str(), errc_message(v.error()));
      return v.error();
    }
    return std::unique_ptr<Transport>(v->release());
  }
  if (tls) tls->set_one_record_reads(false);  // bulk from here on
  if (t13) t13->set_one_record_reads(false);
  std::unique_ptr<Transport> s(
      new (std::nothrow) VlessStream(std::move(t), VlessStream::Role::server, std::move(*b)));
  if (!s) return Errc::no_memory;
  return s;
}

std::unique_ptr<DatagramFraming> VlessInbound::framing(ServerCore&, const ServerDecision& d) {
  if (d.mode == DatagramMode::mux)
    return std::unique_ptr<DatagramFraming>(new (std::nothrow)
                                                vless::XudpFraming(vless::XudpFraming::server()));
  return std::unique_ptr<DatagramFraming>(new (std::nothrow) vless::UdpFraming(d.target));
}

}  // namespace sluice

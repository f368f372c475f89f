// trojan_session.cpp: the trojan outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/trojan_session.hpp"

#include "net/engine_internal.hpp"
#include "proto/trojan/udp_framing.hpp"
#include "session/client_connect.hpp"
#include "session/stream_datagram_flow.hpp"
#include "sluice/log.hpp"

namespace sluice {
namespace {

DialTarget trojan_dial_target(const TrojanSessionOptions& o,
                              const std::shared_ptr<tls::TlsClientContext>& ctx) {
  DialTarget d;
  d.strategy = DialTarget::Strategy::tls;
  d.host = o.server;
  d.port = o.server_port;
  d.tls_ctx = ctx;
  d.tls = o.dial;
  return d;
}

// TrojanOpen is one TLS connection to the server for an association (its
// request is the flow's prefix).
class TrojanOpen final : public DatagramCarrier::Open, ConnectHandler {
 public:
  explicit TrojanOpen(CarrierHandler* h) noexcept : handler_(h) {}
  void start(Engine& e, const DialTarget& to) noexcept {
    connect_.start(e, to, &protocol_, this, "");
  }

 private:
  void on_connected(Result<std::unique_ptr<Transport>> t, const char* reason) override {
    handler_->on_carrier(std::move(t), reason);  // may delete this
  }

  CarrierHandler* handler_;
  ConnectProtocol protocol_;  // nothing to write or wrap
  ClientConnect connect_;
};

// TrojanRequest: the Trojan request header (lib/proto/trojan) as the first
// plaintext; Trojan has no reply, so the TLS transport is the Stream.
class TrojanRequest final : public ConnectProtocol {
 public:
  TrojanRequest(const trojan::PasswordHash& hash, const TargetAddress& target) noexcept
      : hash_(hash), target_(target) {}
  Result<Slice> request(BufferPool& pool, std::string* why) noexcept override {
    (void)why;
    auto buf = pool.get(trojan::kMaxRequestSize);
    if (!buf) return buf.error();
    const size_t n = trojan::request_size(target_);
    auto w = trojan::encode_request(hash_, trojan::Command::connect, target_, {buf->append(n), n});
    if (!w) return w.error();
    return buf;
  }

 private:
  const trojan::PasswordHash& hash_;  // the session's, which outlives its opens
  TargetAddress target_;
};

// TrojanCarrier: one TLS connection per association, dialed when the flow
// is made; the UDP ASSOCIATE request (its address is the first datagram's
// destination; servers ignore it) goes in front of the first frames.
class TrojanCarrier final : public DatagramCarrier {
 public:
  TrojanCarrier(Engine& e, const TrojanSessionOptions& o, const trojan::PasswordHash& hash,
                std::shared_ptr<tls::TlsClientContext> ctx)
      : engine_(e), opts_(o), hash_(hash), ctx_(std::move(ctx)) {}

  std::unique_ptr<Open> open(const TargetAddress* first, CarrierHandler* h) noexcept override {
    (void)first;  // the request is the prefix, written once the first datagram is known
    auto o = std::unique_ptr<TrojanOpen>(new (std::nothrow) TrojanOpen(h));
    if (!o) {
      h->on_carrier(Errc::no_memory, "out of memory");
      return nullptr;
    }
    o->start(engine_, trojan_dial_target(opts_, ctx_));
    return o;
  }
  std::unique_ptr<DatagramFraming> framing(const TargetAddress& first) noexcept override {
    (void)first;
    return std::unique_ptr<DatagramFraming>(new (std::nothrow) trojan::UdpFraming());
  }
  Result<Slice> prefix(const TargetAddress& first, BufferPool& pool) noexcept override {
    auto buf = pool.get(trojan::kMaxRequestSize);
    if (!buf) return buf.error();
    const size_t n = trojan::request_size(first);
    auto w =
        trojan::encode_request(hash_, trojan::Command::udp_associate, first, {buf->append(n), n});
    if (!w) return w.error();
    return buf;
  }

 private:
  Engine& engine_;
  TrojanSessionOptions opts_;
  trojan::PasswordHash hash_;
  std::shared_ptr<tls::TlsClientContext> ctx_;
};

}  // namespace

TrojanSession::TrojanSession(Engine& e, std::string tag, const TrojanSessionOptions& o,
                             std::shared_ptr<tls::TlsClientContext> ctx)
    : Session(e, std::move(tag)),
      opts_(o),
      hash_(trojan::hash_password(o.password)),
      ctx_(std::move(ctx)) {}

Result<std::unique_ptr<TrojanSession>> TrojanSession::create(Engine& e, std::string tag,
                                                             const TrojanSessionOptions& o,
                                                             const TlsClientOptions& tls,
                                                             std::string* why) {
  std::string w;
  if (Status st = utls_check(tls, &w); !st) {
    if (why) *why = "tls: " + w;
    return st.error();
  }
  auto ctx = tls::TlsClientContext::create(tls, o.server, {}, &w);
  if (!ctx) {
    if (why) *why = "tls: " + w;
    return ctx.error();
  }
  TrojanSessionOptions opts = o;
  opts.dial.utls = utls_fingerprint(tls);  // the engine client instead of libssl
  return std::unique_ptr<TrojanSession>(
      new TrojanSession(e, std::move(tag), opts, std::move(*ctx)));
}

TrojanSession::~TrojanSession() = default;  // pending_ cancels its opens

void TrojanSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  auto p = std::unique_ptr<ConnectProtocol>(new (std::nothrow) TrojanRequest(hash_, *t));
  if (!p) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  pending_.open(engine(), trojan_dial_target(opts_, ctx_), std::move(p), h,
                "trojan server " + opts_.server + ": ");
}

Result<std::unique_ptr<DatagramFlow>> TrojanSession::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  auto c = std::unique_ptr<DatagramCarrier>(new (std::nothrow)
                                                TrojanCarrier(engine(), opts_, hash_, ctx_));
  if (!c) return Errc::no_memory;
  StreamDatagramFlowOptions o;
  o.eager = true;
  o.fail_on_loss = true;
  o.strict_send = true;
  o.send_empty = true;
  o.max_payload = trojan::kMaxUdpPayload;
  o.connect_queue = kTrojanUdpConnectQueue;
  o.write_queue = kTrojanUdpWriteQueue;
  o.name = "trojan udp via " + opts_.server + ":" + std::to_string(opts_.server_port);
  auto f = StreamDatagramFlow::create(engine(), std::move(c), o, h);
  if (!f) return f.error();
  return std::unique_ptr<DatagramFlow>(f->release());
}

void TrojanSession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

void TrojanSession::close(CloseCallback cb, void* user) noexcept {
  if (close_begun()) return;
  pending_.fail_all(Errc::canceled,
                    net::closing_all(engine()) ? "engine stopping" : "outbound closing");
  Session::close(cb, user);  // detaches; |cb| on the next loop turn
}

}  // namespace sluice

// trojan_session.cpp: the trojan outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/trojan_session.hpp"

#include <algorithm>

#include "session/stream_datagram_flow.hpp"
#include "sluice/log.hpp"

namespace sluice {
namespace {

// TrojanFraming: Trojan's ATYP|ADDR|PORT|LEN|CRLF frames (lib/proto/trojan)
// as the DatagramFraming of an association's stream.
class TrojanFraming final : public DatagramFraming {
 public:
  Status frame(const TargetAddress& address, Slice&& payload, BufferPool& pool,
               Chain* out) noexcept override {
    return trojan::frame_udp_packet(address, std::move(payload), pool, out);
  }
  Result<bool> take(Chain& in, BufferPool& pool, FramedDatagram* d) noexcept override {
    auto r = trojan::take_udp_packet(in, pool, &p_);
    if (!r || !*r) return r;
    d->address = p_.target;
    d->payload = std::move(p_.payload);
    return true;
  }

 private:
  trojan::ReceivedUdpPacket p_;
};

// TrojanOpen is one TLS dial to the server for an association.
class TrojanOpen final : public DatagramCarrier::Open, TlsDialHandler {
 public:
  explicit TrojanOpen(CarrierHandler* h) noexcept : handler_(h) {}
  ~TrojanOpen() override {
    if (dial_) dial_->cancel();
  }
  void start(Engine& e, const TrojanSessionOptions& o,
             const std::shared_ptr<tls::TlsClientContext>& ctx) noexcept {
    TlsDial* d = TlsDial::start(e, o.server, o.server_port, ctx, o.dial, this);
    if (!answered_) dial_ = d;  // an answer inside start ended the dial
  }

 private:
  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    dial_ = nullptr;
    answered_ = true;
    if (!t) {
      handler_->on_carrier(t.error(), reason);  // may delete this
      return;
    }
    handler_->on_carrier(std::unique_ptr<Transport>(t->release()), "");  // may delete this
  }

  CarrierHandler* handler_;
  TlsDial* dial_ = nullptr;
  bool answered_ = false;
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
    o->start(engine_, opts_, ctx_);
    return o;
  }
  std::unique_ptr<DatagramFraming> framing(const TargetAddress& first) noexcept override {
    (void)first;
    return std::unique_ptr<DatagramFraming>(new (std::nothrow) TrojanFraming());
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

struct TrojanSession::Pending final : TlsDialHandler {
  TrojanSession* session = nullptr;
  OpenHandler* handler = nullptr;
  TargetAddress target;
  TlsDial* dial = nullptr;

  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    dial = nullptr;
    OpenHandler* h = handler;
    TrojanSession* s = session;
    const TargetAddress tgt = target;
    s->forget(this);  // deletes this
    if (!t) {
      std::string why = std::string("trojan server ") + s->opts_.server + ": " + reason;
      h->on_open(t.error(), why.c_str());
      return;
    }
    std::unique_ptr<TlsTransport> tls = std::move(*t);
    auto buf = s->engine().pool().get(trojan::kMaxRequestSize);
    if (!buf) {
      close_and_delete(tls.release());
      h->on_open(buf.error(), "out of memory");
      return;
    }
    const size_t n = trojan::request_size(tgt);
    uint8_t* p = buf->append(n);
    auto w = trojan::encode_request(s->hash_, trojan::Command::connect, tgt, {p, n});
    Status st = w ? tls->write(std::move(*buf)) : Status{w.error()};
    if (!st) {
      const std::string why = tls->failure_reason();
      close_and_delete(tls.release());
      h->on_open(st.error(), why.c_str());
      return;
    }
    h->on_open(std::unique_ptr<Stream>(tls.release()), "");
  }
};

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
  auto ctx = tls::TlsClientContext::create(tls, o.server, {}, &w);
  if (!ctx) {
    if (why) *why = "tls: " + w;
    return ctx.error();
  }
  return std::unique_ptr<TrojanSession>(new TrojanSession(e, std::move(tag), o, std::move(*ctx)));
}

TrojanSession::~TrojanSession() {
  for (auto& p : pending_)
    if (p->dial) p->dial->cancel();
}

void TrojanSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  auto p = std::make_unique<Pending>();
  p->session = this;
  p->handler = h;
  p->target = *t;
  Pending* raw = p.get();
  pending_.push_back(std::move(p));
  TlsDial* d = TlsDial::start(engine(), opts_.server, opts_.server_port, ctx_, opts_.dial, raw);
  // The dial may have finished inside start (and freed raw).
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [raw](const std::unique_ptr<Pending>& q) { return q.get() == raw; });
  if (it != pending_.end()) raw->dial = d;
}

Result<std::unique_ptr<DatagramFlow>> TrojanSession::open_datagram(DatagramHandler* h) noexcept {
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

void TrojanSession::forget(Pending* p) noexcept {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [p](const std::unique_ptr<Pending>& q) { return q.get() == p; });
  if (it != pending_.end()) pending_.erase(it);
}

void TrojanSession::cancel_open(OpenHandler* h) noexcept {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if ((*it)->handler == h) {
      if ((*it)->dial) (*it)->dial->cancel();
      pending_.erase(it);
      return;
    }
  }
}

void TrojanSession::engine_close() noexcept {
  std::vector<std::unique_ptr<Pending>> pending = std::move(pending_);
  pending_.clear();
  for (auto& p : pending) {
    if (p->dial) p->dial->cancel();
    p->dial = nullptr;
    if (p->handler) p->handler->on_open(Errc::canceled, "engine stopping");
  }
  detach_from_engine();
}

}  // namespace sluice

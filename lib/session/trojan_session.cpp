// trojan_session.cpp: the trojan outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/trojan_session.hpp"

#include <uv.h>

#include <algorithm>

#include "sluice/log.hpp"

namespace sluice {
namespace {

// TrojanUdpFlow is one UDP ASSOCIATE over its own TLS connection.
class TrojanUdpFlow final : public DatagramFlow, TlsDialHandler, TransportHandler {
 public:
  TrojanUdpFlow(Engine& e, DatagramHandler* h, const TrojanSessionOptions& o,
                const trojan::PasswordHash& hash, std::shared_ptr<tls::TlsClientContext> ctx)
      : engine_(e), handler_(h), opts_(o), hash_(hash), ctx_(std::move(ctx)) {}
  ~TrojanUdpFlow() override {
    if (dial_) dial_->cancel();
    if (tls_) close_and_delete(tls_.release());
  }

  void start() noexcept {
    uv_timer_init(engine_.loop(), &timer_);
    timer_.data = this;
    starting_ = true;
    TlsDial* d = TlsDial::start(engine_, opts_.server, opts_.server_port, ctx_, opts_.dial, this);
    starting_ = false;
    if (!dialed_) dial_ = d;
  }

  Status send(const Endpoint& to, Slice&& payload) noexcept override {
    if (closing_) return Errc::closed;
    if (failed_) {
      stats_.dropped++;
      return error_;
    }
    auto t = TargetAddress::from_host(to.host, to.port);
    if (!t || to.port == 0) {
      stats_.dropped++;
      return t ? Status{Errc::invalid_argument} : Status{t.error()};
    }
    if (payload.size() > trojan::kMaxUdpPayload) {
      stats_.dropped++;
      return Errc::frame_too_large;
    }
    if (!have_first_) {
      first_ = *t;
      have_first_ = true;
    }
    const size_t framed_size = payload.size() + trojan::udp_header_size(*t);
    const bool connecting = !tls_ || !header_sent_;
    if (connecting ? queued_.size() + framed_size > kTrojanUdpConnectQueue
                   : tls_->write_buffered() + framed_size > kTrojanUdpWriteQueue) {
      stats_.dropped++;
      return {};
    }
    Chain framed;
    if (!trojan::frame_udp_packet(*t, std::move(payload), engine_.pool(), &framed) ||
        !queued_.append(std::move(framed))) {
      stats_.dropped++;
      return {};
    }
    stats_.sent++;
    if (tls_) flush();
    return {};
  }

  void close(CloseCallback cb, void* user) noexcept override {
    if (closing_) return;
    closing_ = true;
    handler_ = nullptr;
    close_cb_ = cb;
    close_user_ = user;
    if (dial_) dial_->cancel();
    dial_ = nullptr;
    if (tls_) close_and_delete(tls_.release());
    queued_.clear();
    in_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* h) {
      auto* f = static_cast<TrojanUdpFlow*>(h->data);
      if (f->close_cb_) f->close_cb_(f->close_user_);
    });
  }

  DatagramFlowStats stats() const noexcept override { return stats_; }

 private:
  void on_tls_dial(Result<std::unique_ptr<TlsTransport>> t, const char* reason) override {
    dial_ = nullptr;
    dialed_ = true;
    if (!t) {
      fail(t.error(), reason);
      return;
    }
    tls_ = std::move(*t);
    tls_->set_handler(this);
    tls_->read_start();
    if (!queued_.empty()) flush();
  }

  // flush writes what is queued, behind the request header the first time.
  void flush() noexcept {
    Chain out;
    if (!header_sent_) {
      const TargetAddress dst = have_first_ ? first_ : TargetAddress::from_ipv4({0, 0, 0, 0}, 0);
      auto buf = engine_.pool().get(trojan::kMaxRequestSize);
      if (!buf) {
        fail(buf.error(), "out of memory");
        return;
      }
      const size_t n = trojan::request_size(dst);
      auto w =
          trojan::encode_request(hash_, trojan::Command::udp_associate, dst, {buf->append(n), n});
      if (!w || !out.push_back(std::move(*buf))) {
        fail(w ? Errc::no_memory : w.error(), "cannot encode the request");
        return;
      }
      header_sent_ = true;
    }
    if (!out.append(std::move(queued_))) {
      fail(Errc::no_memory, "out of memory");
      return;
    }
    queued_.clear();
    Status st = tls_->write(std::move(out));
    if (!st) fail(st.error(), tls_->failure_reason());
  }

  void on_data(Slice&& data) override {
    if (!in_.push_back(std::move(data))) {
      fail(Errc::no_memory, "out of memory");
      return;
    }
    trojan::ReceivedUdpPacket p;
    while (!closing_ && !failed_) {
      auto r = trojan::take_udp_packet(in_, engine_.pool(), &p);
      if (!r) {
        fail(r.error(), "malformed UDP frame from the server");
        return;
      }
      if (!*r) return;
      from_.host = p.target.host();
      from_.port = p.target.port();
      stats_.received++;
      if (handler_) handler_->on_datagram(from_, std::move(p.payload));
    }
  }
  void on_eof() override {
    fail(in_.empty() ? Errc::closed : Errc::truncated,
         in_.empty() ? "the server ended the association" : "the server ended inside a frame");
  }
  void on_error(Errc e) override { fail(e, tls_ ? tls_->failure_reason() : ""); }

  // fail ends the association: the handler hears on_error (later, from the
  // loop, when the failure came inside start()).
  void fail(Errc e, const char* why) noexcept {
    if (failed_ || closing_) return;
    failed_ = true;
    error_ = e;
    SLUICE_LOG_INFO("trojan udp via %s:%u: %s%s%s", opts_.server.c_str(), opts_.server_port,
                    errc_message(e), *why ? ": " : "", why);
    if (dial_) dial_->cancel();
    dial_ = nullptr;
    if (tls_) close_and_delete(tls_.release());
    queued_.clear();
    in_.clear();
    if (starting_) {
      uv_timer_start(
          &timer_,
          [](uv_timer_t* t) {
            auto* f = static_cast<TrojanUdpFlow*>(t->data);
            if (f->handler_) f->handler_->on_error(f->error_);
          },
          0, 0);
      return;
    }
    if (handler_) handler_->on_error(e);
  }

  Engine& engine_;
  DatagramHandler* handler_;
  TrojanSessionOptions opts_;
  trojan::PasswordHash hash_;
  std::shared_ptr<tls::TlsClientContext> ctx_;
  TlsDial* dial_ = nullptr;
  std::unique_ptr<TlsTransport> tls_;
  Chain queued_;  // framed datagrams not yet written (while connecting)
  Chain in_;      // received bytes not yet framed into datagrams
  TargetAddress first_;
  bool have_first_ = false;
  bool header_sent_ = false;
  bool starting_ = false;
  bool dialed_ = false;
  bool failed_ = false;
  bool closing_ = false;
  Errc error_ = Errc::ok;
  Endpoint from_;
  uv_timer_t timer_{};
  CloseCallback close_cb_ = nullptr;
  void* close_user_ = nullptr;
  DatagramFlowStats stats_;
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
  auto* f = new (std::nothrow) TrojanUdpFlow(engine(), h, opts_, hash_, ctx_);
  if (!f) return Errc::no_memory;
  f->start();
  return std::unique_ptr<DatagramFlow>(f);
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

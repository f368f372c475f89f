// trojan_inbound.cpp: TLS, the Trojan request, then a Relay to the target
// or to the fallback server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/trojan_inbound.hpp"

#include <uv.h>

#include <algorithm>

#include "core/check.hpp"
#include "inbound/fallback.hpp"
#include "sluice/cipher.hpp"
#include "sluice/log.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

struct TrojanInbound::Conn final : ListeningInbound::TrackedConn,
                                   TransportHandler,
                                   TlsHandshakeHandler,
                                   OpenHandler,
                                   DatagramHandler,
                                   net::DialHandler {
  enum class State { handshake, request, opening, fallback, udp, closing };

  TrojanInbound* inbound;
  Engine& engine;
  std::unique_ptr<TlsTransport> tls;
  Chain in;  // plaintext received and not yet consumed (all of it, for the fallback)
  State state = State::handshake;
  Session* session = nullptr;  // while an open is pending
  net::Dial* dial = nullptr;   // while the fallback is being dialed
  TargetAddress target;
  uv_timer_t timer{};
  bool closed = false;
  // UDP ASSOCIATE
  std::unique_ptr<DatagramFlow> flow;
  uint64_t last_activity = 0;  // uv_now of the last datagram either way

  Conn(TrojanInbound* in_, std::unique_ptr<TlsTransport> t)
      : inbound(in_), engine(in_->engine()), tls(std::move(t)) {}

  void start() {
    uv_timer_init(engine.loop(), &timer);
    timer.data = this;
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->on_timeout(); },
        inbound->opts_.handshake_timeout_ms, 0);
    tls->set_handler(this);
    tls->start_handshake(this);
  }

  void on_timeout() {
    if (state == State::udp) {
      const uint64_t idle = uv_now(engine.loop()) - last_activity;
      if (idle < inbound->opts_.udp_timeout_ms) {
        uv_timer_start(
            &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->on_timeout(); },
            inbound->opts_.udp_timeout_ms - idle, 0);
        return;
      }
      SLUICE_LOG_DEBUG("trojan %s: UDP association idle, closing", inbound->opts_.tag.c_str());
      close_now();
      return;
    }
    // A client that finished TLS but never sent a full request is a prober
    // as far as we know: the fallback gets what it sent.
    if (state == State::request && !in.empty()) {
      fallback("request timed out");
      return;
    }
    SLUICE_LOG_DEBUG("trojan %s: handshake timed out", inbound->opts_.tag.c_str());
    close_now();
  }

  void on_handshake(Errc e, const char* reason) override {
    if (e != Errc::ok) {
      inbound->stats_.tls_failures++;
      SLUICE_LOG_DEBUG("trojan %s: %s", inbound->opts_.tag.c_str(), reason);
      close_now();
      return;
    }
    state = State::request;
    tls->read_start();
  }

  void on_data(Slice&& data) override {
    if (state == State::udp) {
      if (!in.push_back(std::move(data))) {
        close_now();
        return;
      }
      udp_from_client();
      return;
    }
    if (state == State::opening || state == State::fallback) {
      (void)in.push_back(std::move(data));  // kept for the stream
      return;
    }
    if (state != State::request) return;
    if (!in.push_back(std::move(data))) {
      close_now();
      return;
    }
    const size_t n = std::min(in.size(), trojan::kMaxRequestSize);
    auto p = in.linearize(n, engine.pool());
    if (!p) {
      close_now();
      return;
    }
    auto r = trojan::parse_request({*p, n});
    if (r.need_more()) return;
    if (r.failed()) {
      fallback(errc_message(r.error));
      return;
    }
    const std::string* user = inbound->user_for(r.value.hash);
    if (user == nullptr) {
      inbound->stats_.auth_failures++;
      fallback("unknown password");
      return;
    }
    in.advance(r.consumed);
    target = r.value.target;
    if (r.value.command == trojan::Command::udp_associate) {
      start_udp(*user);
      return;
    }
    open();
  }

  // --- UDP ASSOCIATE ----------------------------------------------------------
  void start_udp(const std::string& user) {
    auto f = inbound->router_->open_datagram(inbound->opts_.tag, target, this);
    if (!f) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("trojan %s: user %s: UDP ASSOCIATE: %s", inbound->opts_.tag.c_str(),
                      user.c_str(), errc_message(f.error()));
      close_now();
      return;
    }
    flow = std::move(*f);
    state = State::udp;
    inbound->stats_.udp_associations++;
    last_activity = uv_now(engine.loop());
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->on_timeout(); },
        inbound->opts_.udp_timeout_ms, 0);
    udp_from_client();  // datagrams that came with the request
  }

  // udp_from_client sends every complete datagram received so far.
  void udp_from_client() {
    trojan::ReceivedUdpPacket p;
    while (state == State::udp) {
      auto r = trojan::take_udp_packet(in, engine.pool(), &p);
      if (!r) {
        inbound->stats_.udp_malformed++;
        SLUICE_LOG_DEBUG("trojan %s: malformed UDP frame: %s", inbound->opts_.tag.c_str(),
                         errc_message(r.error()));
        close_now();
        return;
      }
      if (!*r) return;
      last_activity = uv_now(engine.loop());
      (void)flow->send(Endpoint{p.target.host(), p.target.port()}, std::move(p.payload));
    }
  }

  void on_datagram(const Endpoint& from, Slice&& payload) override {
    if (state != State::udp) return;
    if (tls->write_buffered() > inbound->opts_.udp_write_queue) return;  // dropped, as UDP
    auto src = TargetAddress::from_host(from.host, from.port);
    if (!src) return;
    Chain framed;
    if (!trojan::frame_udp_packet(*src, std::move(payload), engine.pool(), &framed)) return;
    last_activity = uv_now(engine.loop());
    if (!tls->write(std::move(framed))) close_now();
  }

  void on_eof() override {
    if (state == State::udp) {
      // The client ended the association; a partial frame is a truncation.
      if (!in.empty()) inbound->stats_.udp_malformed++;
      close_now();
      return;
    }
    // The client ended its side: whatever it sent goes on (to the target
    // once opened, or to the fallback); with nothing at all, just close.
    if (state == State::opening || state == State::fallback) return;
    if (state == State::request && !in.empty()) {
      fallback("end of stream inside the request");
      return;
    }
    close_now();
  }
  void on_error(Errc) override { close_now(); }

  void open() {
    state = State::opening;
    tls->read_stop();
    inbound->router_->open_stream(inbound->opts_.tag, target, this, &session);
  }

  void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) override {
    session = nullptr;
    if (!stream) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("trojan %s: open %s failed: %s%s%s", inbound->opts_.tag.c_str(),
                      target.to_string().c_str(), errc_message(stream.error()), *reason ? ": " : "",
                      reason);
      close_now();
      return;
    }
    std::unique_ptr<Stream> s = std::move(*stream);
    if (!write_pending(s, &in)) {
      close_now();
      return;
    }
    inbound->stats_.relayed++;
    hand_over(std::move(s));
  }

  void fallback(const char* why) {
    const TrojanFallback* f = select_fallback(inbound->opts_.fallback,
                                              inbound->opts_.fallback_for_alpn, &tls->info().alpn);
    if (f == nullptr) {
      SLUICE_LOG_DEBUG("trojan %s: not a Trojan request (%s), no fallback: closing",
                       inbound->opts_.tag.c_str(), why);
      close_now();
      return;
    }
    SLUICE_LOG_DEBUG("trojan %s: not a Trojan request (%s): fallback to %s:%u",
                     inbound->opts_.tag.c_str(), why, f->server.c_str(), f->server_port);
    inbound->stats_.fallbacks++;
    state = State::fallback;
    tls->read_stop();
    dial = net::Dial::start(engine, f->server, f->server_port, inbound->opts_.fallback_dial, this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override {
    dial = nullptr;
    // Unchanged: the bytes the prober sent, in order, before anything newer.
    std::unique_ptr<Stream> s = fallback_stream(t, reason, &in, "trojan", inbound->opts_.tag);
    if (!s) {
      close_now();
      return;
    }
    hand_over(std::move(s));
  }

  void hand_over(std::unique_ptr<Stream> s) {
    tls->set_handler(nullptr);
    Relay::start(engine, std::unique_ptr<Transport>(tls.release()), std::move(s),
                 inbound->opts_.relay, nullptr);
    close_now();  // frees this Conn; the TLS transport is the Relay's now
  }

  void close_now() noexcept override {
    if (closed) return;
    closed = true;
    state = State::closing;
    cancel_pending(&session, this, &dial, &flow);
    if (tls) close_and_delete(tls.release());
    in.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* h) {
      auto* c = static_cast<Conn*>(h->data);
      c->inbound->conn_closed(c);
    });
  }
};

TrojanInbound::TrojanInbound(Engine& e, const TrojanInboundConfig& o, Router* r)
    : ListeningInbound(e), opts_(o), router_(r) {}

TrojanInbound::~TrojanInbound() = default;

Result<std::unique_ptr<TrojanInbound>> TrojanInbound::create(Engine& e,
                                                             const TrojanInboundConfig& o,
                                                             Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  std::string why;
  auto ctx = tls::TlsServerContext::create(o.tls, &why);
  if (!ctx) {
    if (reason) *reason = "tls: " + why;
    return ctx.error();
  }
  std::unique_ptr<TrojanInbound> in(new (std::nothrow) TrojanInbound(e, o, router));
  if (!in) return Errc::no_memory;
  in->ctx_ = std::move(*ctx);
  for (const TrojanUser& u : o.users)
    in->users_.emplace_back(trojan::hash_password(u.password), u.name);
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

const std::string* TrojanInbound::user_for(const trojan::PasswordHash& h) const noexcept {
  // Clients send lower-case hex; compare every user in constant time.
  trojan::PasswordHash lower;
  for (size_t i = 0; i < h.size(); ++i)
    lower[i] = (h[i] >= 'A' && h[i] <= 'F') ? static_cast<char>(h[i] - 'A' + 'a') : h[i];
  const std::string* found = nullptr;
  for (const auto& [hash, name] : users_) {
    if (constant_time_equal({reinterpret_cast<const uint8_t*>(hash.data()), hash.size()},
                            {reinterpret_cast<const uint8_t*>(lower.data()), lower.size()}))
      found = &name;
  }
  return found;
}

void TrojanInbound::on_accept(std::unique_ptr<net::TcpTransport> t) {
  if (closing()) {
    close_and_delete(t.release());
    return;
  }
  stats_.accepted++;
  auto tls = TlsTransport::server(engine(), std::move(t), ctx_);
  if (!tls) return;
  auto* c = new (std::nothrow) Conn(this, std::move(*tls));
  if (!c) return;
  track(c);
  c->start();
}

}  // namespace sluice

// vless_inbound.cpp: (TLS,) the VLESS request, then a Relay to the target,
// a UDP flow, or the fallback server.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/vless_inbound.hpp"

#include <uv.h>

#include <algorithm>

#include "inbound/fallback.hpp"
#include "proto/vless/header.hpp"
#include "proto/vless/xudp.hpp"
#include "proto/vless/xudp_framing.hpp"
#include "session/vless_stream.hpp"
#include "proto/vless/udp_framing.hpp"
#include "session/vless_vision_stream.hpp"
#include "sluice/cipher.hpp"
#include "sluice/log.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

namespace {
constexpr size_t kMaxUdpBuffered = 1024 * 1024;  // reply bytes queued to the client
}

struct VlessInbound::Conn final : ListeningInbound::TrackedConn,
                                  TransportHandler,
                                  TlsHandshakeHandler,
                                  OpenHandler,
                                  DatagramHandler,
                                  net::DialHandler {
  enum class State { handshake, request, opening, udp, xudp, fallback, closing };

  VlessInbound* inbound;
  Engine& engine;
  std::unique_ptr<Transport> t;  // TlsTransport, TcpTransport, or (udp) a VlessStream over one
  TlsTransport* tls = nullptr;   // t as TLS, while it is one
  Chain in;                      // received and not yet consumed (all of it, for the fallback)
  State state = State::handshake;
  Session* session = nullptr;  // while an open is pending
  net::Dial* dial = nullptr;   // while the fallback is being dialed
  std::unique_ptr<DatagramFlow> flow;
  Endpoint udp_target;
  vless::XudpServer xudp;
  TargetAddress target;
  const VlessInboundUser* user = nullptr;
  bool vision = false;  // flow xtls-rprx-vision: the stream goes through a VisionStream
  uv_timer_t timer{};
  bool closed = false;

  Conn(VlessInbound* in_, std::unique_ptr<Transport> tr, TlsTransport* tl)
      : inbound(in_), engine(in_->engine()), t(std::move(tr)), tls(tl) {}

  // arm (re)starts the deadline; with |repeat|, uv_timer_again restarts it.
  void arm(uint64_t ms, bool repeat = false) {
    uv_timer_start(
        &timer, [](uv_timer_t* h) { static_cast<Conn*>(h->data)->on_timeout(); }, ms,
        repeat ? ms : 0);
  }

  void start() {
    uv_timer_init(engine.loop(), &timer);
    timer.data = this;
    t->set_handler(this);
    if (tls != nullptr) {
      arm(inbound->opts_.handshake_timeout_ms);
      tls->start_handshake(this);
      return;
    }
    begin_request();
  }

  void begin_request() {
    state = State::request;
    arm(inbound->opts_.header_timeout_ms);
    t->read_start();
  }

  void on_timeout() {
    if (state == State::udp || state == State::xudp) {
      SLUICE_LOG_DEBUG("vless %s: udp idle", inbound->opts_.tag.c_str());
      close_now();
      return;
    }
    if (state != State::request) {
      SLUICE_LOG_DEBUG("vless %s: handshake timed out", inbound->opts_.tag.c_str());
      close_now();
      return;
    }
    inbound->stats_.timeouts++;
    // An authenticated client that stalls inside its header is closed; a
    // stranger that sent something sees the fallback.
    if (user == nullptr && !in.empty()) {
      fallback("request timed out");
      return;
    }
    inbound->refuse(Errc::timed_out, "no complete request header before the deadline");
    close_now();
  }

  void on_handshake(Errc e, const char* reason) override {
    if (e != Errc::ok) {
      inbound->stats_.tls_failures++;
      SLUICE_LOG_DEBUG("vless %s: %s", inbound->opts_.tag.c_str(), reason);
      close_now();
      return;
    }
    begin_request();
  }

  void on_data(Slice&& data) override {
    if (state == State::udp) {
      on_udp_data(std::move(data));
      return;
    }
    if (state == State::xudp) {
      on_xudp_data(std::move(data));
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
    on_request_bytes();
  }

  void reject(Errc e, const char* why, uint64_t VlessInboundStats::*counter) {
    inbound->stats_.*counter += 1;
    inbound->refuse(e, why);
    SLUICE_LOG_DEBUG("vless %s: user %s: %s: %s", inbound->opts_.tag.c_str(),
                     user ? user->name.c_str() : "?", why, errc_message(e));
    close_now();
  }

  void on_request_bytes() {
    const size_t n = std::min(in.size(), vless::kMaxRequestSize);
    auto p = in.linearize(n, engine.pool());
    if (!p) {
      close_now();
      return;
    }
    const uint8_t* b = *p;
    // Authenticate first: a stranger (wrong version, unknown id) is not
    // told anything, it is handed to the fallback (vless.md section 5).
    if (b[0] != vless::kVersion) {
      inbound->stats_.auth_failures++;
      inbound->refuse(Errc::unsupported_version, "request version is not 0");
      fallback("not a VLESS request");
      return;
    }
    if (n < 1 + vless::kUserIdSize) return;
    if (user == nullptr) {
      user = inbound->user_for(b + 1);
      if (user == nullptr) {
        inbound->stats_.auth_failures++;
        inbound->refuse(Errc::auth_failed, "unknown user id");
        fallback("unknown user id");
        return;
      }
    }
    auto r = vless::parse_request({b, n});
    if (r.need_more()) return;
    if (r.failed()) {
      const char* what = r.error == Errc::unknown_command            ? "unknown command"
                         : r.error == Errc::unsupported_address_type ? "unknown address type"
                         : r.error == Errc::malformed                ? "malformed addons or address"
                                                                     : "malformed request";
      reject(r.error, what, &VlessInboundStats::malformed);
      return;
    }
    const vless::Request& req = r.value;
    // Flow rules (Xray's inbound): the request flow must be "" or the user's
    // flow; a Vision user may not do TCP or Mux without it.
    const vless::Flow rf = req.addons.flow();
    if (rf == vless::Flow::other) {
      reject(Errc::protocol_violation, "unknown flow", &VlessInboundStats::rejected);
      return;
    }
    if (rf != vless::Flow::none && rf != user->flow) {
      reject(Errc::protocol_violation, "flow not allowed for this user",
             &VlessInboundStats::rejected);
      return;
    }
    if (user->flow == vless::Flow::vision && rf == vless::Flow::none &&
        req.command != vless::Command::udp) {
      reject(Errc::protocol_violation, "flow-less request for a Vision user",
             &VlessInboundStats::rejected);
      return;
    }
    if (rf == vless::Flow::vision) {
      if (req.command == vless::Command::udp) {
        reject(Errc::not_supported, "Vision does not carry UDP (0x02)",
               &VlessInboundStats::rejected);
        return;
      }
      // vless.md 9 step 3: Vision only over TLS 1.3.
      if (tls == nullptr || tls->info().version != "TLSv1.3") {
        reject(Errc::not_supported, "Vision needs the outer TLS to be 1.3",
               &VlessInboundStats::rejected);
        return;
      }
      vision = true;
    }
    if (!vision && tls) tls->set_one_record_reads(false);  // bulk from here on
    if (req.command == vless::Command::rvs) {
      reject(Errc::not_supported, "reverse proxy is not supported", &VlessInboundStats::rejected);
      return;
    }
    in.advance(r.consumed);
    target = req.target;
    uv_timer_stop(&timer);
    if (req.command == vless::Command::udp) {
      start_udp();
      return;
    }
    if (req.command == vless::Command::mux) {
      start_xudp();
      return;
    }
    open();
  }

  void on_eof() override {
    // The client ended its side: what it sent goes on (to the target once
    // opened, or to the fallback); inside a stranger's request the fallback
    // gets it; otherwise just close.
    if (state == State::opening || state == State::fallback) return;
    if (state == State::request && !in.empty() && user == nullptr) {
      fallback("end of stream inside the request");
      return;
    }
    if (state == State::request && !in.empty()) {
      inbound->stats_.malformed++;
      inbound->refuse(Errc::truncated, "end of stream inside the request header");
    }
    close_now();
  }
  void on_error(Errc) override { close_now(); }

  // --- TCP ---------------------------------------------------------------
  void open() {
    state = State::opening;
    t->read_stop();
    inbound->router_->open_stream(inbound->opts_.tag, target, this, &session);
  }

  Result<Slice> response_header() {
    auto b = engine.pool().get(vless::kResponseSize);
    if (!b) return b.error();
    auto w = vless::encode_response({b->append(vless::kResponseSize), vless::kResponseSize});
    if (!w) return w.error();
    return std::move(*b);
  }

  void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) override {
    session = nullptr;
    if (!stream) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("vless %s: open %s failed: %s%s%s", inbound->opts_.tag.c_str(),
                      target.to_string().c_str(), errc_message(stream.error()), *reason ? ": " : "",
                      reason);
      close_now();
      return;
    }
    std::unique_ptr<Stream> s = std::move(*stream);
    auto hdr = response_header();
    if (!hdr || (!vision && !in.empty() && !s->write(std::move(in)))) {
      close_and_delete(s.release());
      close_now();
      return;
    }
    auto client = wrap_client(std::move(*hdr));
    if (!client) {
      close_and_delete(s.release());
      close_now();
      return;
    }
    inbound->stats_.relayed++;
    hand_over(std::move(*client), std::move(s));
  }

  // wrap_client puts the client connection under the VLESS layer that
  // answers it: the response header |hdr| in front of the first reply
  // byte, and for Vision the padding and direct-copy machinery, which also
  // reads the bytes already received after the request header.
  Result<std::unique_ptr<Transport>> wrap_client(Slice&& hdr) {
    t->set_handler(nullptr);
    if (vision) {
      std::unique_ptr<TlsTransport> tl(tls);
      (void)t.release();
      tls = nullptr;
      auto v = VisionStream::create(engine, std::move(tl), VisionStream::Role::server, user->id,
                                    std::move(hdr), std::move(in), inbound->vision_);
      in.clear();
      if (!v) {
        SLUICE_LOG_INFO("vless %s: vision: %s", inbound->opts_.tag.c_str(),
                        errc_message(v.error()));
        return v.error();
      }
      return std::unique_ptr<Transport>(v->release());
    }
    tls = nullptr;
    return std::unique_ptr<Transport>(
        std::make_unique<VlessStream>(std::move(t), VlessStream::Role::server, std::move(hdr)));
  }

  // --- UDP (0x02) --------------------------------------------------------
  void start_udp() {
    auto f = inbound->router_->open_datagram(inbound->opts_.tag, target, this);
    auto hdr = f ? response_header() : Result<Slice>(f.error());
    if (!hdr) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("vless %s: udp to %s: %s", inbound->opts_.tag.c_str(),
                      target.to_string().c_str(), errc_message(hdr.error()));
      close_now();
      return;
    }
    flow = std::move(*f);
    udp_target = Endpoint{target.host(), target.port()};
    inbound->stats_.udp++;
    state = State::udp;
    // From now on every write carries the response header first.
    t->set_handler(nullptr);
    t = std::make_unique<VlessStream>(std::move(t), VlessStream::Role::server, std::move(*hdr));
    tls = nullptr;
    serve_datagrams(&Conn::on_udp_data);
  }

  // serve_datagrams starts reading frames from |t| (the state is already
  // udp or xudp) and gives |feed| whatever came with the request, while the
  // state lasts.
  void serve_datagrams(void (Conn::*feed)(Slice&&)) {
    const State serving = state;
    t->set_handler(this);
    arm(inbound->opts_.udp_idle_timeout_ms, true);
    t->read_start();
    if (in.empty()) return;
    Chain rest = std::move(in);
    in.clear();
    while (!rest.empty()) {
      (this->*feed)(rest.pop_front());
      if (state != serving) return;
    }
  }

  void on_udp_data(Slice&& data) {
    if (!in.push_back(std::move(data))) {
      close_now();
      return;
    }
    uv_timer_again(&timer);
    vless::deframe_udp(in, engine.pool(), &dropped, [this](Slice&& d) {
      (void)flow->send(udp_target, std::move(d));  // a failure drops the datagram
      return state == State::udp;
    });
  }

  void on_datagram(const Endpoint& from, Slice&& payload) override {
    if (state != State::udp && state != State::xudp) return;
    uv_timer_again(&timer);
    if (t->write_buffered() > kMaxUdpBuffered || payload.size() > vless::kMaxUdpPayload) {
      ++dropped;
      return;
    }
    Chain c;
    Status st;
    if (state == State::udp) {
      st = vless::frame_udp(engine.pool(), std::move(payload), &c);
    } else {
      // XUDP replies name their source (full cone).
      auto src = TargetAddress::from_host(from.host, from.port);
      if (!src) {
        ++dropped;
        return;
      }
      const size_t len = payload.size();
      st = vless::prepend_header(
          engine.pool(), std::move(payload), vless::XudpServer::header_size(*src),
          [&](std::span<uint8_t> out) { return vless::XudpServer::encode_header(*src, len, out); },
          &c);
    }
    if (!st) {
      ++dropped;
      return;
    }
    if (!t->write(std::move(c))) close_now();
  }

  // --- XUDP (Mux.Cool session 0, vless.md section 6.2) --------------------
  void start_xudp() {
    auto hdr = response_header();
    if (!hdr) {
      close_now();
      return;
    }
    auto w = wrap_client(std::move(*hdr));  // Vision delivers what |in| held itself
    if (!w) {
      close_now();
      return;
    }
    t = std::move(*w);
    inbound->stats_.xudp++;
    state = State::xudp;
    serve_datagrams(&Conn::on_xudp_data);
  }

  void on_xudp_data(Slice&& data) {
    if (!in.push_back(std::move(data))) {
      close_now();
      return;
    }
    uv_timer_again(&timer);
    bool end = false;
    Status st = vless::deframe_mux(in, engine.pool(), [&](const vless::MuxFrame& f, Slice&& d) {
      const bool was_started = xudp.started();
      auto ev = xudp.on_frame(f);
      if (!ev) {
        inbound->stats_.malformed++;
        inbound->refuse(ev.error(), "bad XUDP frame sequence");
        end = true;
        return false;
      }
      if (!was_started && !open_xudp_flow()) {
        end = true;
        return false;
      }
      if (ev->kind == vless::XudpEvent::end) {
        end = true;
        return false;
      }
      if (ev->kind == vless::XudpEvent::datagram && !d.empty())
        (void)flow->send(Endpoint{ev->addr.host(), ev->addr.port()}, std::move(d));
      return state == State::xudp;
    });
    if (!st && st.error() != Errc::eof) {
      inbound->stats_.malformed++;
      inbound->refuse(st.error(), "malformed XUDP frame");
      end = true;
    } else if (!st) {
      end = true;  // a frame with metadata length < 4 ends the stream
    }
    if (end) close_now();
  }

  bool open_xudp_flow() {
    auto f = inbound->router_->open_datagram(inbound->opts_.tag, xudp.destination(), this);
    if (!f) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("vless %s: xudp to %s: %s", inbound->opts_.tag.c_str(),
                      xudp.destination().to_string().c_str(), errc_message(f.error()));
      return false;
    }
    flow = std::move(*f);
    return true;
  }
  uint64_t dropped = 0;

  // --- fallback ----------------------------------------------------------
  void fallback(const char* why) {
    const VlessFallback* f =
        select_fallback(inbound->opts_.fallback, inbound->opts_.fallback_for_alpn,
                        tls != nullptr ? &tls->info().alpn : nullptr);
    if (f == nullptr) {
      SLUICE_LOG_DEBUG("vless %s: %s, no fallback: closing", inbound->opts_.tag.c_str(), why);
      close_now();
      return;
    }
    SLUICE_LOG_DEBUG("vless %s: %s: fallback to %s:%u", inbound->opts_.tag.c_str(), why,
                     f->server.c_str(), f->server_port);
    inbound->stats_.fallbacks++;
    state = State::fallback;
    uv_timer_stop(&timer);
    t->read_stop();
    dial = net::Dial::start(engine, f->server, f->server_port, inbound->opts_.fallback_dial, this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> d, const char* reason) override {
    dial = nullptr;
    // Unchanged: the bytes the stranger sent, in order, before anything newer.
    std::unique_ptr<Stream> s = fallback_stream(d, reason, &in, "vless", inbound->opts_.tag);
    if (!s) {
      close_now();
      return;
    }
    t->set_handler(nullptr);
    tls = nullptr;
    hand_over(std::move(t), std::move(s));
  }

  void hand_over(std::unique_ptr<Transport> client, std::unique_ptr<Stream> s) {
    Relay::start(engine, std::move(client), std::move(s), inbound->opts_.relay, nullptr);
    close_now();  // frees this Conn; the client transport is the Relay's now
  }

  void close_now() noexcept override {
    if (closed) return;
    closed = true;
    state = State::closing;
    cancel_pending(&session, this, &dial, &flow);
    if (t) close_and_delete(t.release());
    tls = nullptr;
    in.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* h) {
      auto* c = static_cast<Conn*>(h->data);
      c->inbound->conn_closed(c);
    });
  }
};

VlessInbound::VlessInbound(Engine& e, const VlessInboundConfig& o, Router* r)
    : ListeningInbound(e), opts_(o), router_(r) {}

VlessInbound::~VlessInbound() = default;

Result<std::unique_ptr<VlessInbound>> VlessInbound::create(Engine& e, const VlessInboundConfig& o,
                                                           Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  if (o.users.empty()) {
    if (reason) *reason = "at least one user is required";
    return Errc::invalid_argument;
  }
  std::unique_ptr<VlessInbound> in(new (std::nothrow) VlessInbound(e, o, router));
  if (!in) return Errc::no_memory;
  if (o.tls.enabled) {
    std::string why;
    auto ctx = tls::TlsServerContext::create(o.tls, &why);
    if (!ctx) {
      if (reason) *reason = "tls: " + why;
      return ctx.error();
    }
    in->ctx_ = std::move(*ctx);
  }
  in->vision_ = std::make_shared<VisionCounters>();
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

const VlessInboundUser* VlessInbound::user_for(const uint8_t* id) const noexcept {
  // Compare with every user in constant time.
  const VlessInboundUser* found = nullptr;
  for (const VlessInboundUser& u : opts_.users) {
    if (constant_time_equal({u.id.data(), u.id.size()}, {id, vless::kUserIdSize})) found = &u;
  }
  return found;
}

void VlessInbound::refuse(Errc e, const char* reason) noexcept {
  stats_.last_error = e;
  stats_.last_reason = reason;
}

void VlessInbound::on_accept(std::unique_ptr<net::TcpTransport> tcp) {
  if (closing()) {
    close_and_delete(tcp.release());
    return;
  }
  stats_.accepted++;
  Conn* c = nullptr;
  if (ctx_) {
    auto tl = TlsTransport::server(engine(), std::move(tcp), ctx_);
    if (!tl) return;
    TlsTransport* raw = tl->get();
    // One record per read until the request says whether this is Vision,
    // which must be able to stop at the record it switches after.
    raw->set_one_record_reads(true);
    c = new (std::nothrow) Conn(this, std::unique_ptr<Transport>(tl->release()), raw);
  } else {
    c = new (std::nothrow) Conn(this, std::move(tcp), nullptr);
  }
  if (!c) return;
  track(c);
  c->start();
}

}  // namespace sluice

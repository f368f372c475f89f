// quic_dial.cpp: resolve + QUIC handshake + one ECH retry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic/quic_dial.hpp"

#include <uv.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "net/resolve.hpp"
#include "net/timer.hpp"
#include "net/uv_error.hpp"
#include "transport/ech_retry.hpp"

namespace sluice::quic {

struct QuicDial::Impl final : ConnectionHandler {
  // StopGuard tells the dial that the Engine is stopping. A new one is made
  // right after each Endpoint, so that it is the newer object: close_all()
  // tells the newest objects first (Engine::attach puts them at the head of
  // its list), so the dial closes its Endpoint, with the callback that frees
  // it, before the Engine closes it with none.
  struct StopGuard final : EngineObject {
    Impl* dial;
    StopGuard(Engine& e, Impl* d) noexcept : EngineObject(e), dial(d) {}
    void engine_close() noexcept override {
      detach_from_engine();
      dial->complete(Errc::closed, "engine stopping");
    }
  };

  // What a connection callback left for the timer to handle: results are
  // acted on outside ngtcp2's packet processing (closing an Endpoint from
  // inside it would free the Connection that is reading).
  enum class Event : uint8_t { none, handshake_done, closed };

  Engine& engine;
  std::string host;
  uint16_t port;
  std::shared_ptr<QuicTlsContext> tls;  // this attempt's client context
  QuicDialOptions opts;
  QuicDialHandler* handler;
  QuicDial* outer = nullptr;
  EchRetry ech;
  net::Timer timer;  // the dial's deadline, or 0 ms to handle |event|
  uint64_t deadline = 0;
  bool starting = false;  // inside QuicDial::start: freed only after it returns
  net::Resolution resolution;
  sockaddr_storage addr{};
  std::string addr_text;  // |addr| as an IP literal (Endpoint::connect takes one)
  std::unique_ptr<Endpoint> ep;
  Connection* conn = nullptr;  // ep's connection, until it closes
  std::unique_ptr<StopGuard> guard;
  Event event = Event::none;
  Errc close_error = Errc::ok;
  std::string close_reason;
  std::vector<uint8_t> close_retry;  // the server's ECH retry configs
  static constexpr size_t kMaxEarlyStreams = 16;
  std::vector<std::unique_ptr<QuicStream>> early_streams;  // see on_stream
  bool done = false;

  Impl(Engine& e, std::string_view h, uint16_t p, std::shared_ptr<QuicTlsContext> t,
       const QuicDialOptions& o, QuicDialHandler* hd)
      : engine(e),
        host(h),
        port(p),
        tls(std::move(t)),
        opts(o),
        handler(hd),
        ech(e, "quic", host, port),
        timer(e) {}

  std::string name() const { return host + ":" + std::to_string(port); }

  // ip_text: |a|'s address as a literal (Endpoint::connect takes one).
  static std::string ip_text(const sockaddr_storage& a) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET6)
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&a), text, sizeof text);
    else
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&a), text, sizeof text);
    return text;
  }

  void begin() {
    deadline = engine.now_ms() + opts.handshake_timeout_ms;
    timer.start(opts.handshake_timeout_ms, on_timer, this);
    guard.reset(new (std::nothrow) StopGuard(engine, this));
    if (!guard) {
      complete(Errc::no_memory, "out of memory");
      return;
    }
    if (!tls || tls->server()) {
      complete(Errc::invalid_argument, "QUIC dial needs a client TLS context");
      return;
    }
    if (port == 0) {
      complete(Errc::invalid_argument, "QUIC dial to " + name() + ": port 0");
      return;
    }
    // An IP literal answers at once (no lookup).
    int rc = resolution.start(engine.loop(), host, port, SOCK_DGRAM, on_resolved, this);
    if (rc != 0) complete(net::errc_from_uv(rc), "resolve " + host + ": " + uv_strerror(rc));
  }

  static void on_resolved(void* user, int status, std::vector<sockaddr_storage>&& addrs) {
    auto* self = static_cast<Impl*>(user);
    if (self->done) {
      self->maybe_free();
      return;
    }
    if (status != 0) {
      self->complete(net::errc_from_uv(status),
                     "resolve " + self->host + ": " + uv_strerror(status));
      return;
    }
    // The first address in the order TCP dials try them (RFC 8305 §4):
    // UDP has no connect step to race.
    self->addr = addrs.front();
    self->addr_text = ip_text(self->addr);
    self->attempt();
  }

  // attempt opens a client Endpoint for the current context and connects.
  void attempt() {
    EndpointOptions eo = opts.endpoint;
    if (eo.bind_host.empty()) eo.bind_host = addr.ss_family == AF_INET6 ? "::" : "0.0.0.0";
    eo.connection.handshake_timeout_ms = opts.handshake_timeout_ms;
    auto e = Endpoint::create(engine, eo, tls, nullptr);
    if (!e) {
      complete(e.error(),
               "QUIC client endpoint on " + eo.bind_host + ": " + errc_message(e.error()));
      return;
    }
    ep = std::move(*e);
    guard.reset(new (std::nothrow) StopGuard(engine, this));  // newer than |ep|
    if (!guard) {
      complete(Errc::no_memory, "out of memory");
      return;
    }
    auto c = ep->connect(addr_text, port, this);
    if (!c) {
      complete(c.error(), "QUIC connect to " + name() + ": " + errc_message(c.error()));
      return;
    }
    conn = *c;
  }

  void on_handshake_done(Connection& c) override {
    if (&c != conn || done) return;
    defer(Event::handshake_done);
  }

  // on_stream keeps what the server opens before the result is delivered
  // (an HTTP/3 server's control and QPACK streams come right after the
  // handshake), up to kMaxEarlyStreams; further ones are refused.
  void on_stream(Connection& c, std::unique_ptr<QuicStream> s) override {
    if (&c == conn && !done && early_streams.size() < kMaxEarlyStreams) {
      try {
        early_streams.push_back(std::move(s));
        return;
      } catch (...) {
      }
    }
    if (s) ConnectionHandler::on_stream(c, std::move(s));
  }

  void on_closed(Connection& c, Errc e, uint64_t, const char* reason) override {
    if (&c != conn) return;
    conn = nullptr;
    if (done) return;
    close_error = e;
    close_reason = reason ? reason : "";
    close_retry = c.ech_retry_configs();
    defer(Event::closed);
  }

  void defer(Event ev) {
    event = ev;
    timer.start(0, on_timer, this);  // runs on the next pass of the loop
  }

  static void on_timer(void* p) {
    auto* self = static_cast<Impl*>(p);
    const Event ev = self->event;
    self->event = Event::none;
    switch (ev) {
      case Event::none:
        self->complete(Errc::timed_out, "QUIC handshake with " + self->name() + " timed out");
        break;
      case Event::handshake_done:
        self->ech.established(self->conn->ech_accepted(),
                              !self->tls->options().ech_config_list.empty());
        self->complete(Errc::ok, "");
        break;
      case Event::closed:
        self->attempt_failed();
        break;
    }
  }

  void attempt_failed() {
    EchRetry::Verdict v = ech.failed(close_error, close_reason, close_retry);
    if (!v.retry) {
      complete(close_error, v.reason);
      return;
    }
    // The same options with the server's configs: a new context, as a
    // client Endpoint's context is fixed.
    QuicTlsOptions o = tls->options();
    o.ech_config_list = std::move(v.configs);
    std::string why;
    auto r = QuicTlsContext::create(o, &why);
    if (!r) {
      complete(r.error(), "QUIC TLS setup for the ECH retry failed: " + why);
      return;
    }
    tls = std::shared_ptr<QuicTlsContext>(std::move(*r));
    retire_endpoint();
    const uint64_t now = engine.now_ms();
    timer.start(deadline > now ? deadline - now : 0, on_timer, this);
    attempt();
  }

  // retire_endpoint closes the current Endpoint, which frees itself.
  void retire_endpoint() {
    if (!ep) return;
    if (conn) {
      conn->set_handler(nullptr);
      conn = nullptr;
    }
    Endpoint* raw = ep.release();
    raw->close([](void* u) { delete static_cast<Endpoint*>(u); }, raw);
  }

  void complete(Errc e, const std::string& why) {
    if (done) return;
    done = true;
    if (guard) guard->detach_from_engine();
    resolution.cancel();
    QuicDialHandler* h = handler;
    handler = nullptr;
    QuicDialed out;
    if (e == Errc::ok && h) {
      conn->set_handler(nullptr);
      out.connection = conn;
      out.endpoint = std::move(ep);
      out.early_streams = std::move(early_streams);
      conn = nullptr;
    } else {
      early_streams.clear();  // reset with their connection
      retire_endpoint();
    }
    timer.stop();
    delete outer;
    outer = nullptr;
    const std::string reason = why;  // |why| may be one of ours
    maybe_free();                    // may delete this
    if (!h) return;
    if (e == Errc::ok)
      h->on_quic_dial(std::move(out), "");
    else
      h->on_quic_dial(e, reason.c_str());
  }

  void cancel() {
    handler = nullptr;
    complete(Errc::canceled, "canceled");
  }

  // maybe_free frees the dial once it is over, no lookup is in flight and
  // QuicDial::start has returned (its Timer needs no asynchronous close).
  void maybe_free() {
    if (done && !starting && !resolution.busy()) delete this;
  }
};

QuicDial* QuicDial::start(Engine& e, std::string_view host, uint16_t port,
                          std::shared_ptr<QuicTlsContext> tls, const QuicDialOptions& o,
                          QuicDialHandler* h) noexcept {
  auto* impl = new (std::nothrow) Impl(e, host, port, std::move(tls), o, h);
  auto* d = impl ? new (std::nothrow) QuicDial(impl) : nullptr;
  if (!d) {
    delete impl;
    h->on_quic_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  impl->outer = d;
  impl->starting = true;
  impl->begin();
  impl->starting = false;
  // The dial may have completed inside begin() (bad arguments, no socket):
  // then |d| is already gone and the handler has heard.
  if (!impl->done) return d;
  impl->maybe_free();
  return nullptr;
}

void QuicDial::cancel() noexcept { impl_->cancel(); }

}  // namespace sluice::quic

// tls_dial.cpp: TCP dial + TLS handshake + one ECH retry.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "transport/tls_dial.hpp"

#include "net/timer.hpp"
#include "transport/ech_retry.hpp"
#include "transport/tls_session_registry.hpp"

namespace sluice {

struct TlsDial::Impl final : net::DialHandler, TlsHandshakeHandler {
  Engine& engine;
  std::string host;
  uint16_t port;
  std::shared_ptr<const tls::TlsClientContext> ctx;
  std::shared_ptr<tls::TlsSessionCache> cache;  // keeps the cache alive while dialing
  TlsDialOptions opts;
  TlsDialHandler* handler;
  TlsDial* outer = nullptr;
  net::Dial* dial = nullptr;
  std::unique_ptr<TlsTransport> tls;
  std::vector<uint8_t> retry_configs;  // set for the second attempt
  EchRetry ech;
  net::Timer timer;  // the whole dial, the ECH retry included
  bool done = false;
  bool starting = false;  // inside TlsDial::start: freed only after it returns

  Impl(Engine& e, std::string_view h, uint16_t p, std::shared_ptr<const tls::TlsClientContext> c,
       const TlsDialOptions& o, TlsDialHandler* hd)
      : engine(e),
        host(h),
        port(p),
        ctx(std::move(c)),
        opts(o),
        handler(hd),
        ech(e, "tls", host, port),
        timer(e) {}

  void begin() {
    arm();
    if (opts.use_session_cache) cache = session_cache_for(engine);
    dial = net::Dial::start(engine, host, port, opts.dial, this);
  }

  void arm() {
    timer.start(
        opts.dial.connect_timeout_ms + opts.handshake_timeout_ms,
        [](void* p) {
          auto* self = static_cast<Impl*>(p);
          self->complete(Errc::timed_out, "TLS connection to " + self->host + " timed out");
        },
        this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial = nullptr;
    if (!t) {
      complete(t.error(), why);
      return;
    }
    tls::TlsClientParams p;
    if (cache) {
      p.cache = cache.get();
      p.cache_key = tls::TlsSessionCache::key(host, port, ctx->server_name(), ctx->alpn(),
                                              ctx->policy().id());
    }
    p.ech_config_list = retry_configs;
    auto r =
        TlsTransport::client(engine, std::unique_ptr<Transport>(t->release()), ctx, std::move(p));
    if (!r) {
      complete(r.error(), "TLS setup failed");
      return;
    }
    tls = std::move(*r);
    tls->set_one_record_reads(opts.one_record_reads);
    tls->start_handshake(this);
  }

  void on_handshake(Errc e, const char* reason) override {
    if (e == Errc::ok) {
      ech.established(tls->info().ech_accepted, ctx->ech_enabled());
      complete(Errc::ok, "");
      return;
    }
    EchRetry::Verdict v = ech.failed(e, reason, tls->connection().ech_retry_configs());
    if (v.retry) {
      retry_configs = std::move(v.configs);
      close_and_delete(tls.release());
      dial = net::Dial::start(engine, host, port, opts.dial, this);
      return;
    }
    complete(e, v.reason);
  }

  void complete(Errc e, const std::string& reason) {
    if (done) return;
    done = true;
    timer.stop();
    if (dial) {
      dial->cancel();
      dial = nullptr;
    }
    TlsDialHandler* h = handler;
    handler = nullptr;
    std::unique_ptr<TlsTransport> t = std::move(tls);
    if (e != Errc::ok && t) close_and_delete(t.release());
    const std::string why = reason;  // |reason| may be one of ours
    if (!starting) free();           // else TlsDial::start frees it
    if (h) {
      if (e == Errc::ok)
        h->on_tls_dial(std::move(t), "");
      else
        h->on_tls_dial(e, why.c_str());
    } else if (t) {
      close_and_delete(t.release());
    }
  }

  void cancel() {
    handler = nullptr;
    complete(Errc::canceled, "canceled");
  }

  // free: nothing of the dial is left on the loop (its Timer needs no
  // asynchronous close, net::Dial frees itself after cancel()).
  void free() {
    delete outer;
    delete this;
  }
};

TlsDial* TlsDial::start(Engine& e, std::string_view host, uint16_t port,
                        std::shared_ptr<const tls::TlsClientContext> ctx, const TlsDialOptions& o,
                        TlsDialHandler* h) noexcept {
  auto* impl = new (std::nothrow) Impl(e, host, port, std::move(ctx), o, h);
  if (!impl) {
    h->on_tls_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  auto* d = new (std::nothrow) TlsDial(impl);
  impl->outer = d;
  impl->starting = true;
  impl->begin();
  impl->starting = false;
  // The dial may have completed inside begin() (bad address): it is freed
  // now, and the handler has heard.
  if (!impl->done) return d;
  impl->free();
  return nullptr;
}

void TlsDial::cancel() noexcept { impl_->cancel(); }

}  // namespace sluice

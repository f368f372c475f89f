// session/reality_dial.cpp: see reality_dial.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/reality_dial.hpp"

#include <chrono>
#include <cstring>
#include <new>
#include <string>

#include "net/timer.hpp"
#include "proto/reality/client_auth.hpp"
#include "proto/reality/spider.hpp"
#include "sluice/cipher.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct RealityDial::Impl final : net::DialHandler, TlsHandshakeHandler, TransportHandler {
  Engine& engine;
  std::string host;
  uint16_t port;
  tls13::ClientConfig config;
  TlsDialOptions opts;
  std::shared_ptr<reality::ClientAuth> auth;
  Tls13DialHandler* handler;
  RealityDial* outer = nullptr;
  net::Dial* dial = nullptr;
  std::unique_ptr<Tls13Transport> tls;
  net::Timer timer;
  net::Timer spider_timer;
  bool done = false;
  bool starting = false;

  Impl(Engine& e, std::string_view h, uint16_t p, tls13::ClientConfig c, const TlsDialOptions& o,
       Tls13DialHandler* hd)
      : engine(e),
        host(h),
        port(p),
        config(std::move(c)),
        opts(o),
        handler(hd),
        timer(e),
        spider_timer(e) {}

  void begin() {
    timer.start(
        opts.dial.connect_timeout_ms + opts.handshake_timeout_ms,
        [](void* p) {
          auto* self = static_cast<Impl*>(p);
          self->complete(Errc::timed_out, "REALITY connection to " + self->host + " timed out");
        },
        this);
    dial = net::Dial::start(engine, host, port, opts.dial, this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial = nullptr;
    if (!t) {
      complete(t.error(), why);
      return;
    }
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    auth = std::make_shared<reality::ClientAuth>(
        *opts.reality,
        static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count()));
    tls13::ClientConfig c = config;
    c.key_shares = opts.reality->x25519_only ? tls13::KeySharePolicy::x25519_only
                                             : tls13::KeySharePolicy::hybrid_and_x25519;
    tls13::CertificateVerifier browser = std::move(c.verifier);
    reality::install(auth, c, std::move(browser));
    auto engine_client = std::unique_ptr<tls13::Client>(new (std::nothrow) tls13::Client(c));
    if (!engine_client) {
      close_and_delete(t->release());
      complete(Errc::no_memory, "out of memory");
      return;
    }
    auto r = Tls13Transport::client(engine, std::unique_ptr<Transport>(t->release()),
                                    std::move(engine_client));
    if (!r) {
      complete(r.error(), "REALITY TLS setup failed");
      return;
    }
    tls = std::move(*r);
    tls->set_one_record_reads(opts.one_record_reads);
    tls->start_handshake(this);
  }

  void on_handshake(Errc e, const char* reason) override {
    if (e != Errc::ok) {
      complete(e, std::string("REALITY handshake with ") + host + ": " + reason);
      return;
    }
    if (!auth->sealed()) {
      complete(Errc::internal, "REALITY token was not sealed");
      return;
    }
    if (auth->verified()) {
      complete(Errc::ok, "");
      return;
    }
    // A real site with a valid chain: look like a browser, then fail.
    spider();
  }

  void spider() {
    uint8_t r = 0;
    random_bytes({&r, 1});
    const size_t padding = 30 + r % 32;  // sing-box: 30..61 zeros
    const auto req = reality::spider_request(tls->info().alpn, config.server_name,
                                             opts.reality->spider_x, padding);
    auto buf = engine.pool().get(req.size());
    if (!buf) {
      not_reality();
      return;
    }
    std::memcpy(buf->append(req.size()), req.data(), req.size());
    tls->set_handler(this);
    if (!tls->write(std::move(*buf))) {
      not_reality();
      return;
    }
    tls->read_start();
    spider_timer.start(
        kSpiderWaitMs, [](void* p) { static_cast<Impl*>(p)->not_reality(); }, this);
  }

  // The spider's connection: the first answer (or its end) is enough.
  void on_data(Slice&&) override { not_reality(); }
  void on_eof() override { not_reality(); }
  void on_error(Errc) override { not_reality(); }

  void not_reality() {
    complete(Errc::auth_failed, "not a REALITY server: " + host +
                                    " answered with a certificate valid for " + config.server_name +
                                    " that is not REALITY's");
  }

  void complete(Errc e, const std::string& reason) {
    if (done) return;
    done = true;
    timer.stop();
    spider_timer.stop();
    if (dial) {
      dial->cancel();
      dial = nullptr;
    }
    Tls13DialHandler* h = handler;
    handler = nullptr;
    std::unique_ptr<Tls13Transport> t = std::move(tls);
    if (t) t->set_handler(nullptr);
    if (e != Errc::ok && t) close_and_delete(t.release());
    const std::string why = reason;
    if (!starting) free();
    if (h) {
      if (e == Errc::ok)
        h->on_tls13_dial(std::move(t), "");
      else
        h->on_tls13_dial(e, why.c_str());
    } else if (t) {
      close_and_delete(t.release());
    }
  }

  void cancel() {
    handler = nullptr;
    complete(Errc::canceled, "canceled");
  }

  void free() {
    delete outer;
    delete this;
  }
};

Result<std::shared_ptr<const reality::ClientOptions>> reality_client_options(
    const TlsRealityClientOptions& o, std::string* why) {
  auto out = std::make_shared<reality::ClientOptions>();
  auto key = reality::parse_key(o.public_key);
  if (!key) {
    if (why) *why = "reality.public_key: expected a base64url X25519 public key";
    return Errc::config_invalid;
  }
  out->server_public_key = *key;
  auto id = reality::parse_short_id(o.short_id);
  if (!id) {
    if (why) *why = "reality.short_id: expected 0-16 hex digits, an even number of them";
    return Errc::config_invalid;
  }
  out->short_id = *id;
  if (!o.client_version.empty()) {
    auto v = reality::parse_version(o.client_version);
    if (!v) {
      if (why) *why = "reality.client_version: expected x.y.z";
      return Errc::config_invalid;
    }
    out->version = *v;
  }
  out->x25519_only = o.x25519_only;
  if (!o.spider_x.empty()) out->spider_x = o.spider_x;
  return std::shared_ptr<const reality::ClientOptions>(std::move(out));
}

RealityDial* RealityDial::start(Engine& e, std::string_view host, uint16_t port,
                                std::shared_ptr<const tls::TlsClientContext> ctx,
                                const TlsDialOptions& o, Tls13DialHandler* h) noexcept {
  if (!o.reality) {
    h->on_tls13_dial(Errc::invalid_argument, "REALITY dial without REALITY options");
    return nullptr;
  }
  std::string why;
  auto cfg = utls_client_config(std::move(ctx), o.utls, &why);
  if (!cfg) {
    h->on_tls13_dial(cfg.error(), why.c_str());
    return nullptr;
  }
  // Chrome offers h2 and http/1.1 (REALITY servers negotiate neither; a
  // real site answers the browser-like request in the protocol it chose).
  if (cfg->alpn.empty()) cfg->alpn = {"h2", "http/1.1"};
  if (cfg->profile->session_id_len != reality::kSessionIdLen) {
    h->on_tls13_dial(Errc::not_supported,
                     "REALITY needs a fingerprint with a 32-byte session id (chrome)");
    return nullptr;
  }
  if (cfg->server_name.empty()) {
    h->on_tls13_dial(Errc::invalid_argument, "REALITY needs a server name (tls.server_name)");
    return nullptr;
  }
  auto* impl = new (std::nothrow) Impl(e, host, port, std::move(*cfg), o, h);
  if (!impl) {
    h->on_tls13_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  auto* d = new (std::nothrow) RealityDial(impl);
  if (!d) {
    delete impl;
    h->on_tls13_dial(Errc::no_memory, "out of memory");
    return nullptr;
  }
  impl->outer = d;
  impl->starting = true;
  impl->begin();
  impl->starting = false;
  if (!impl->done) return d;
  impl->free();
  return nullptr;
}

void RealityDial::cancel() noexcept { impl_->cancel(); }

}  // namespace sluice

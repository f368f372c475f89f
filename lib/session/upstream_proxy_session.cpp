// upstream_proxy_session.cpp: SOCKS5 and HTTP CONNECT client handshakes.
#include "session/upstream_proxy_session.hpp"

#include <uv.h>

#include <algorithm>
#include <optional>

#include "proto/http_connect/connect_client.hpp"
#include "proto/socks5/handshake.hpp"
#include "sluice/log.hpp"

namespace sluice {

struct UpstreamProxySession::Pending final : net::DialHandler, TransportHandler {
  UpstreamProxySession* session;
  OpenHandler* handler;
  TargetAddress target;
  net::Dial* dial = nullptr;
  std::unique_ptr<net::TcpTransport> conn;
  std::optional<socks5::ClientHandshake> socks;
  Chain in;
  uv_timer_t timer{};
  bool timer_open = false;
  bool done = false;
  std::string reason;

  Pending(UpstreamProxySession* s, OpenHandler* h, TargetAddress t)
      : session(s), handler(h), target(std::move(t)) {}

  void start() {
    uv_timer_init(session->engine().loop(), &timer);
    timer.data = this;
    timer_open = true;
    uv_timer_start(
        &timer,
        [](uv_timer_t* t) {
          auto* p = static_cast<Pending*>(t->data);
          p->reason = "proxy handshake timed out";
          p->complete(Errc::timed_out);
        },
        session->opts_.handshake_timeout_ms + session->opts_.dial.connect_timeout_ms, 0);
    dial = net::Dial::start(session->engine(), session->opts_.server, session->opts_.server_port,
                            session->opts_.dial, this);
  }

  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* why) override {
    dial = nullptr;
    if (!t) {
      reason = std::string("proxy ") + why;
      complete(t.error());
      return;
    }
    conn = std::move(*t);
    conn->set_handler(this);
    Status st;
    if (session->opts_.kind == UpstreamProxyOptions::Kind::socks) {
      socks.emplace(socks5::Command::connect, target, session->opts_.username,
                    session->opts_.password);
      st = socks->start();
      if (st) st = send(socks->output());
      socks->clear_output();
    } else {
      http::ConnectRequestOptions o;
      o.username = session->opts_.username;
      o.password = session->opts_.password;
      for (const auto& [k, v] : session->opts_.headers) o.headers.push_back({k, v});
      auto req = http::build_connect_request(target, o);
      st = req ? send({reinterpret_cast<const uint8_t*>(req->data()), req->size()})
               : Status{req.error()};
    }
    if (!st) {
      reason = "proxy handshake could not be sent";
      complete(st.error());
      return;
    }
    conn->read_start();
  }

  Status send(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return {};
    auto s = session->engine().pool().copy_from(bytes.data(), bytes.size());
    if (!s) return s.error();
    return conn->write(std::move(*s));
  }

  void on_data(Slice&& data) override {
    if (!in.push_back(std::move(data))) {
      complete(Errc::no_memory);
      return;
    }
    const size_t n = std::min(in.size(), kClassPayload[1]);
    auto p = in.linearize(n, session->engine().pool());
    if (!p) {
      complete(p.error());
      return;
    }
    std::span<const uint8_t> bytes(*p, n);
    if (socks) {
      socks5::ClientStep step = socks->feed(bytes);
      // Several handshake replies may arrive in one read: keep feeding.
      while (step.kind == socks5::ClientStep::need_more && step.consumed > 0 &&
             step.consumed < bytes.size()) {
        Status st = send(socks->output());
        socks->clear_output();
        if (!st) {
          complete(st.error());
          return;
        }
        in.advance(step.consumed);
        bytes = bytes.subspan(step.consumed);
        step = socks->feed(bytes);
      }
      Status st = send(socks->output());
      socks->clear_output();
      if (!st) {
        complete(st.error());
        return;
      }
      in.advance(std::min(step.consumed, in.size()));
      if (step.kind == socks5::ClientStep::fail) {
        reason = "socks5 proxy refused: " + std::string(errc_message(step.error));
        complete(step.error);
      } else if (step.kind == socks5::ClientStep::done) {
        complete(Errc::ok);
      }
      return;
    }
    auto r = http::parse_connect_response(bytes);
    if (r.need_more()) {
      if (in.size() > kClassPayload[1]) complete(Errc::frame_too_large);
      return;
    }
    if (r.failed()) {
      reason = "malformed response from http proxy";
      complete(r.error);
      return;
    }
    in.advance(r.consumed);
    Errc e = http::errc_for_status(r.value.status);
    if (e != Errc::ok) reason = "http proxy answered " + std::to_string(r.value.status);
    complete(e);
  }
  void on_eof() override {
    reason = "proxy closed the connection during the handshake";
    complete(Errc::eof);
  }
  void on_error(Errc e) override {
    reason = std::string("proxy connection failed: ") + (conn ? conn->failure_reason() : "");
    complete(e);
  }

  // complete delivers the result once and frees this (after the timer closed).
  void complete(Errc e) {
    if (done) return;
    done = true;
    if (dial) {
      dial->cancel();
      dial = nullptr;
    }
    OpenHandler* h = handler;
    handler = nullptr;
    if (e == Errc::ok) {
      conn->read_stop();
      conn->set_handler(nullptr);
      if (!in.empty()) (void)conn->unread(std::move(in));
      std::unique_ptr<Stream> s(conn.release());
      session->finish(this);
      if (h) h->on_open(std::move(s), "");
    } else {
      if (conn) close_and_delete(conn.release());
      std::string why = reason.empty() ? errc_message(e) : reason;
      session->finish(this);
      if (h) h->on_open(e, why.c_str());
    }
  }

  void discard() {
    done = true;
    handler = nullptr;
    if (dial) {
      dial->cancel();
      dial = nullptr;
    }
    if (conn) close_and_delete(conn.release());
  }

  void free_later() {
    if (timer_open) {
      timer_open = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&timer),
               [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
    } else {
      delete this;
    }
  }
};

UpstreamProxySession::UpstreamProxySession(Engine& e, std::string tag, UpstreamProxyOptions o)
    : Session(e, std::move(tag)), opts_(std::move(o)) {}

void UpstreamProxySession::open_stream(std::string_view host, uint16_t port,
                                       OpenHandler* h) noexcept {
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  auto* p = new (std::nothrow) Pending(this, h, *t);
  if (!p) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  pending_.push_back(p);
  p->start();
}

void UpstreamProxySession::finish(Pending* p) noexcept {
  auto it = std::find(pending_.begin(), pending_.end(), p);
  if (it != pending_.end()) pending_.erase(it);
  p->free_later();
}

void UpstreamProxySession::cancel_open(OpenHandler* h) noexcept {
  for (Pending* p : pending_) {
    if (p->handler == h) {
      p->discard();
      finish(p);
      return;
    }
  }
}

void UpstreamProxySession::engine_close() noexcept {
  // Fail pending opens (never forget them silently), then detach.
  std::vector<Pending*> live = pending_;
  for (Pending* p : live) {
    p->reason = "engine stopping";
    p->complete(Errc::canceled);
  }
  detach_from_engine();
}

UpstreamProxySession::~UpstreamProxySession() {
  std::vector<Pending*> live = pending_;
  for (Pending* p : live) {
    p->discard();
    finish(p);
  }
}

}  // namespace sluice

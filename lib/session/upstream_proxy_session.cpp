// upstream_proxy_session.cpp: SOCKS5 and HTTP CONNECT client handshakes.
#include "session/upstream_proxy_session.hpp"

#include <algorithm>
#include <optional>

#include "net/engine_internal.hpp"
#include "proto/http_connect/connect_client.hpp"
#include "proto/socks5/handshake.hpp"

namespace sluice {
namespace {

using ReplyStep = ConnectProtocol::ReplyStep;

// ProxyHandshake: the client side of one SOCKS5 CONNECT or HTTP CONNECT,
// as the connector's request and reply phase.
class ProxyHandshake final : public ConnectProtocol {
 public:
  ProxyHandshake(const UpstreamProxyOptions& o, const TargetAddress& target)
      : opts_(o), target_(target) {}

  Result<Slice> request(BufferPool& pool, std::string* why) noexcept override {
    if (opts_.kind == UpstreamProxyOptions::Kind::socks) {
      socks_.emplace(socks5::Command::connect, target_, opts_.username, opts_.password);
      Status st = socks_->start();
      if (!st) {
        *why = "proxy handshake could not be sent";
        return st.error();
      }
      auto out = copy(pool, socks_->output());
      socks_->clear_output();
      if (!out) *why = "proxy handshake could not be sent";
      return out;
    }
    http::ConnectRequestOptions o;
    o.username = opts_.username;
    o.password = opts_.password;
    for (const auto& [k, v] : opts_.headers) o.headers.push_back({k, v});
    auto req = http::build_connect_request(target_, o);
    if (!req) {
      *why = "proxy handshake could not be sent";
      return req.error();
    }
    auto out = copy(pool, {reinterpret_cast<const uint8_t*>(req->data()), req->size()});
    if (!out) *why = "proxy handshake could not be sent";
    return out;
  }

  bool reply_phase() const noexcept override { return true; }

  ReplyStep on_reply(Chain& in, BufferPool& pool, Chain* out) noexcept override {
    const size_t n = std::min(in.size(), kClassPayload[1]);
    auto p = in.linearize(n, pool);
    if (!p) return {ReplyStep::fail, p.error(), ""};
    std::span<const uint8_t> bytes(*p, n);
    if (socks_) return socks_reply(in, bytes, pool, out);
    auto r = http::parse_connect_response(bytes);
    if (r.need_more()) {
      if (in.size() > kClassPayload[1]) return {ReplyStep::fail, Errc::frame_too_large, ""};
      return {};
    }
    if (r.failed()) return {ReplyStep::fail, r.error, "malformed response from http proxy"};
    in.advance(r.consumed);
    const Errc e = http::errc_for_status(r.value.status);
    if (e != Errc::ok)
      return {ReplyStep::fail, e, "http proxy answered " + std::to_string(r.value.status)};
    return {ReplyStep::done};
  }

  uint64_t deadline_ms() const noexcept override {
    return opts_.handshake_timeout_ms + opts_.dial.connect_timeout_ms;
  }

 private:
  static Result<Slice> copy(BufferPool& pool, std::span<const uint8_t> bytes) {
    if (bytes.empty()) return Slice{};
    return pool.copy_from(bytes.data(), bytes.size());
  }

  // queue appends what the handshake wants sent to |out|.
  Status queue(BufferPool& pool, Chain* out) {
    auto s = copy(pool, socks_->output());
    socks_->clear_output();
    if (!s) return s.error();
    if (!s->empty() && !out->push_back(std::move(*s))) return Errc::no_memory;
    return {};
  }

  ReplyStep socks_reply(Chain& in, std::span<const uint8_t> bytes, BufferPool& pool, Chain* out) {
    socks5::ClientStep step = socks_->feed(bytes);
    // Several handshake replies may arrive in one read: keep feeding.
    while (step.kind == socks5::ClientStep::need_more && step.consumed > 0 &&
           step.consumed < bytes.size()) {
      Status st = queue(pool, out);
      if (!st) return {ReplyStep::fail, st.error(), ""};
      in.advance(step.consumed);
      bytes = bytes.subspan(step.consumed);
      step = socks_->feed(bytes);
    }
    Status st = queue(pool, out);
    if (!st) return {ReplyStep::fail, st.error(), ""};
    in.advance(std::min(step.consumed, in.size()));
    if (step.kind == socks5::ClientStep::fail)
      return {ReplyStep::fail, step.error,
              "socks5 proxy refused: " + std::string(errc_message(step.error))};
    if (step.kind == socks5::ClientStep::done) return {ReplyStep::done};
    return {};
  }

  const UpstreamProxyOptions& opts_;  // the session's, which outlives its opens
  TargetAddress target_;
  std::optional<socks5::ClientHandshake> socks_;
};

}  // namespace

UpstreamProxySession::UpstreamProxySession(Engine& e, std::string tag, UpstreamProxyOptions o)
    : Session(e, std::move(tag)), opts_(std::move(o)) {
  target_.host = opts_.server;
  target_.port = opts_.server_port;
  target_.tcp = opts_.dial;
}

UpstreamProxySession::~UpstreamProxySession() = default;  // pending_ cancels its opens

void UpstreamProxySession::open_stream(std::string_view host, uint16_t port,
                                       OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  auto p = std::unique_ptr<ConnectProtocol>(new (std::nothrow) ProxyHandshake(opts_, *t));
  if (!p) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  pending_.open(engine(), target_, std::move(p), h, "proxy ");
}

void UpstreamProxySession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

void UpstreamProxySession::close(CloseCallback cb, void* user) noexcept {
  if (close_begun()) return;
  pending_.fail_all(Errc::canceled,
                    net::closing_all(engine()) ? "engine stopping" : "outbound closing");
  Session::close(cb, user);  // detaches; |cb| on the next loop turn
}

}  // namespace sluice

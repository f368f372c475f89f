// proxy_inbound.cpp: SOCKS5 / HTTP / mixed handshakes, then a Relay.
#include "inbound/proxy_inbound.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cstring>

#include "core/check.hpp"
#include "net/uv_error.hpp"
#include "proto/http_connect/proxy_server.hpp"
#include "proto/socks5/handshake.hpp"
#include "proto/socks5/udp.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

Slice slice_of(BufferPool& pool, std::string_view s) {
  auto r = pool.copy_from(s.data(), s.size());
  return r ? std::move(*r) : Slice();
}

bool sockaddr_from(const std::string& host, uint16_t port, sockaddr_storage* ss) {
  return uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(ss)) == 0 ||
         uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(ss)) == 0;
}

// same_ip compares the address part of two socket addresses (v4-mapped
// IPv6 equals its IPv4 form).
bool same_ip(const sockaddr* a, const sockaddr* b) {
  auto v4 = [](const sockaddr* s, uint8_t out[4]) -> bool {
    if (s->sa_family == AF_INET) {
      std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(s)->sin_addr, 4);
      return true;
    }
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(s);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(s6->sin6_addr.s6_addr, kMapped, 12) == 0) {
      std::memcpy(out, s6->sin6_addr.s6_addr + 12, 4);
      return true;
    }
    return false;
  };
  uint8_t x[4], y[4];
  bool xa = v4(a, x), ya = v4(b, y);
  if (xa && ya) return std::memcmp(x, y, 4) == 0;
  if (xa || ya) return false;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, 16) == 0;
}

}  // namespace

// Conn is one accepted connection from accept until it is handed to a Relay
// (or, for UDP ASSOCIATE, until the control connection ends).
struct ProxyInbound::Conn final : ListeningInbound::TrackedConn,
                                  TransportHandler,
                                  OpenHandler,
                                  DatagramHandler {
  enum class State { sniff, socks, http, opening, udp, closing };

  ProxyInbound* inbound;
  Engine& engine;
  std::unique_ptr<net::TcpTransport> client;
  Chain in;  // received, not yet consumed handshake bytes
  State state = State::sniff;
  socks5::ServerHandshake socks;
  http::ProxyRequest http_req;
  TargetAddress target;
  Session* session = nullptr;  // set while an open is pending
  uv_timer_t timer{};
  int open_handles = 0;           // timer (+ UDP socket) still to close
  bool flush_then_close = false;  // close once the last reply is written

  // UDP ASSOCIATE
  uv_udp_t udp{};
  bool udp_open = false;
  std::unique_ptr<DatagramFlow> flow;
  sockaddr_storage client_udp{};  // the client's UDP source, fixed by its first datagram
  bool client_udp_known = false;
  sockaddr_storage client_tcp{};  // the control connection's peer, for the source check
  Slice udp_buf;

  Conn(ProxyInbound* in_, std::unique_ptr<net::TcpTransport> t)
      : inbound(in_),
        engine(in_->engine()),
        client(std::move(t)),
        socks(!in_->opts_.users.empty()) {}

  void start() {
    uv_timer_init(engine.loop(), &timer);
    timer.data = this;
    open_handles = 1;
    uv_timer_start(
        &timer, [](uv_timer_t* t) { static_cast<Conn*>(t->data)->on_timeout(); },
        inbound->opts_.handshake_timeout_ms, 0);
    if (inbound->opts_.kind == ProxyKind::socks) state = State::socks;
    if (inbound->opts_.kind == ProxyKind::http) state = State::http;
    client->set_handler(this);
    client->read_start();
  }

  void on_timeout() {
    SLUICE_LOG_DEBUG("inbound %s: handshake timed out", inbound->opts_.tag.c_str());
    inbound->stats_.handshake_failures++;
    close_now();
  }

  // --- TransportHandler -------------------------------------------------------
  void on_data(Slice&& data) override {
    if (state == State::udp) return;  // the control connection carries nothing more
    if (state == State::opening || state == State::closing) {
      (void)in.push_back(std::move(data));  // kept for the stream
      return;
    }
    if (!in.push_back(std::move(data))) {
      close_now();
      return;
    }
    process();
  }
  void on_eof() override {
    // A client that half-closes before its handshake finished gets nothing.
    if (state == State::opening) return;  // bytes so far go to the stream
    close_now();
  }
  // Serves TransportHandler and DatagramHandler alike: the control connection
  // or the association's flow failing ends the connection.
  void on_error(Errc) override { close_now(); }
  void on_drained() override {
    if (flush_then_close) close_now();
  }

  void fail(Errc e, const char* what) {
    inbound->stats_.handshake_failures++;
    SLUICE_LOG_DEBUG("inbound %s: %s: %s", inbound->opts_.tag.c_str(), what, errc_message(e));
    flush_and_close();
  }

  void flush_and_close() {
    state = State::closing;
    if (client->write_buffered() == 0)
      close_now();
    else
      flush_then_close = true;
  }

  void send(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    Slice s = slice_of(engine.pool(), {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
    if (s.empty() || !client->write(std::move(s))) {
      close_now();
    }
  }

  // contiguous returns the buffered bytes as one span (copies only when the
  // handshake arrived in several reads).
  std::span<const uint8_t> contiguous() {
    if (in.empty()) return {};
    auto p = in.linearize(std::min(in.size(), kClassPayload[2]), engine.pool());
    if (!p) return {};
    return {*p, std::min(in.size(), kClassPayload[2])};
  }

  void process() {
    if (state == State::sniff) {
      const uint8_t first = in[0].data()[0];
      state = first == 0x05 ? State::socks : State::http;
    }
    if (state == State::socks)
      process_socks();
    else if (state == State::http)
      process_http();
  }

  void process_socks() {
    for (;;) {
      if (state != State::socks) return;
      socks5::ServerStep step = socks.feed(contiguous());
      send(socks.output());
      socks.clear_output();
      if (state == State::closing) return;  // a write failed
      in.advance(std::min(step.consumed, in.size()));
      switch (step.kind) {
        case socks5::ServerStep::need_more:
          // A greeting may arrive with the request pipelined behind it: feed
          // what is left before waiting for more.
          if (step.consumed > 0 && !in.empty()) continue;
          return;
        case socks5::ServerStep::check_auth: {
          bool ok = false;
          for (const auto& u : inbound->opts_.users)
            ok |= constant_time_equal(u.username, socks.username()) &
                  constant_time_equal(u.password, socks.password());
          socks.auth_result(ok);
          send(socks.output());
          socks.clear_output();
          if (!ok) {
            inbound->stats_.auth_failures++;
            fail(Errc::auth_failed, "socks5 authentication");
            return;
          }
          continue;
        }
        case socks5::ServerStep::request:
          target = socks.request().target;
          if (socks.request().command == socks5::Command::udp_associate) {
            start_udp();
          } else {
            open(target);
          }
          return;
        case socks5::ServerStep::fail:
          fail(step.error, "socks5 handshake");
          return;
      }
    }
  }

  void process_http() {
    auto r = http::parse_proxy_request(contiguous());
    if (r.need_more()) return;
    if (r.failed()) {
      send_http_error(http::status_for_error(r.error));
      fail(r.error, "http proxy request");
      return;
    }
    in.advance(r.consumed);
    http_req = std::move(r.value);
    if (!inbound->opts_.users.empty()) {
      bool ok = false;
      for (const auto& u : inbound->opts_.users)
        ok |= http::check_basic_auth(http_req, u.username, u.password);
      if (!ok) {
        inbound->stats_.auth_failures++;
        send_http_error(407);
        fail(Errc::auth_failed, "http proxy authentication");
        return;
      }
    }
    target = http_req.target;
    open(target);
  }

  void send_http_error(int status) {
    const std::string resp = http::build_response(status);
    send({reinterpret_cast<const uint8_t*>(resp.data()), resp.size()});
  }

  // --- opening the stream -----------------------------------------------------
  void open(const TargetAddress& t) {
    state = State::opening;
    // Bytes the client pipelined after its request stay in |in| and go to the
    // stream first; stop reading until the stream exists.
    client->read_stop();
    inbound->router_->open_stream(inbound->opts_.tag, t, this, &session);
  }

  void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) override {
    session = nullptr;
    if (!stream) {
      inbound->stats_.open_failures++;
      SLUICE_LOG_INFO("inbound %s: open %s failed: %s%s%s", inbound->opts_.tag.c_str(),
                      target.to_string().c_str(), errc_message(stream.error()), *reason ? ": " : "",
                      reason);
      if (socks.request().command == socks5::Command::connect && !http_req.method.size() &&
          inbound_socks()) {
        (void)socks.reply(socks5::rep_for_error(stream.error()), TargetAddress());
        send(socks.output());
        socks.clear_output();
      } else {
        send_http_error(http::status_for_error(stream.error()));
      }
      flush_and_close();
      return;
    }
    std::unique_ptr<Stream> s = std::move(*stream);
    if (inbound_socks()) {
      (void)socks.reply(socks5::Rep::succeeded, TargetAddress());
      send(socks.output());
      socks.clear_output();
    } else if (http_req.connect) {
      const std::string ok = http::build_response(200);
      send({reinterpret_cast<const uint8_t*>(ok.data()), ok.size()});
    } else {
      const std::string head = http::build_forward_head(http_req);
      Slice h = slice_of(engine.pool(), head);
      if (h.empty() || !s->write(std::move(h))) {
        close_and_delete(s.release());
        close_now();
        return;
      }
    }
    if (state == State::closing) {
      close_and_delete(s.release());
      return;
    }
    if (!in.empty() && !s->write(std::move(in))) {
      close_and_delete(s.release());
      close_now();
      return;
    }
    inbound->stats_.relayed++;
    client->set_handler(nullptr);
    Relay::start(engine, std::move(client), std::move(s), inbound->opts_.relay, nullptr);
    close_now();  // frees this Conn (the client is the Relay's now)
  }

  bool inbound_socks() const { return http_req.method.empty(); }

  // --- UDP ASSOCIATE (RFC 1928 section 7) -------------------------------------
  void start_udp() {
    if (!inbound->opts_.udp) {
      (void)socks.reply(socks5::Rep::command_not_supported, TargetAddress());
      send(socks.output());
      socks.clear_output();
      fail(Errc::not_supported, "socks5 udp associate (udp disabled)");
      return;
    }
    auto f = inbound->router_->open_datagram(inbound->opts_.tag, target, this);
    if (!f) {
      (void)socks.reply(socks5::rep_for_error(f.error()), TargetAddress());
      send(socks.output());
      socks.clear_output();
      fail(f.error(), "socks5 udp associate");
      return;
    }
    flow = std::move(*f);
    sockaddr_storage bind_addr{};
    if (!sockaddr_from(inbound->opts_.listen, 0, &bind_addr))
      sockaddr_from("0.0.0.0", 0, &bind_addr);
    int rc = uv_udp_init(engine.loop(), &udp);
    if (rc == 0) {
      udp.data = this;
      udp_open = true;
      open_handles++;
      rc = uv_udp_bind(&udp, reinterpret_cast<const sockaddr*>(&bind_addr), 0);
    }
    if (rc == 0) rc = uv_udp_recv_start(&udp, on_udp_alloc, on_udp_recv);
    sockaddr_storage local{};
    int len = sizeof local;
    if (rc == 0) rc = uv_udp_getsockname(&udp, reinterpret_cast<sockaddr*>(&local), &len);
    if (rc != 0) {
      (void)socks.reply(socks5::Rep::general_failure, TargetAddress());
      send(socks.output());
      socks.clear_output();
      fail(net::errc_from_uv(rc), "socks5 udp associate bind");
      return;
    }
    int plen = sizeof client_tcp;
    uv_tcp_getpeername(client->handle(), reinterpret_cast<sockaddr*>(&client_tcp), &plen);
    TargetAddress bound;
    if (local.ss_family == AF_INET) {
      std::array<uint8_t, 4> a;
      std::memcpy(a.data(), &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 4);
      bound = TargetAddress::from_ipv4(a, ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port));
    } else {
      std::array<uint8_t, 16> a;
      std::memcpy(a.data(), &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 16);
      bound =
          TargetAddress::from_ipv6(a, ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port));
    }
    (void)socks.reply(socks5::Rep::succeeded, bound);
    send(socks.output());
    socks.clear_output();
    state = State::udp;
    inbound->stats_.udp_associations++;
    uv_timer_stop(&timer);  // the association lives as long as the TCP connection
  }

  static void on_udp_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(h->data);
    if (!c->udp_buf.chunk()) {
      auto r = c->engine.pool().get(SizeClass::k64K);
      if (!r) {
        *buf = uv_buf_init(nullptr, 0);
        return;
      }
      c->udp_buf = std::move(*r);
    }
    buf->base = reinterpret_cast<char*>(c->udp_buf.chunk()->base() + c->udp_buf.headroom());
    buf->len = kClassPayload[2];
  }

  static void on_udp_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t*, const sockaddr* addr,
                          unsigned flags) {
    auto* c = static_cast<Conn*>(u->data);
    if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || c->state != State::udp) return;
    // Only the client that owns the control connection may use the relay.
    if (!same_ip(addr, reinterpret_cast<const sockaddr*>(&c->client_tcp))) return;
    if (!c->client_udp_known) {
      std::memcpy(&c->client_udp, addr,
                  addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
      c->client_udp_known = true;
    }
    Slice data = std::move(c->udp_buf);
    data.append(static_cast<size_t>(nread));
    auto d = socks5::decode_udp(data.span());
    if (!d) {
      SLUICE_LOG_DEBUG("socks5 udp: dropped datagram: %s", errc_message(d.error()));
      return;
    }
    const size_t header = static_cast<size_t>(nread) - d->payload.size();
    Endpoint to{d->target.host(), d->target.port()};
    data.advance(header);
    (void)c->flow->send(to, std::move(data));
  }

  void on_datagram(const Endpoint& from, Slice&& payload) override {
    if (!client_udp_known || state != State::udp) return;
    auto src = TargetAddress::from_host(from.host, from.port);
    if (!src) return;
    const size_t hlen = socks5::udp_header_size(*src);
    Slice out;
    if (uint8_t* h = payload.prepend(hlen)) {
      (void)socks5::encode_udp_header(*src, {h, hlen});
      out = std::move(payload);
    } else {
      auto r = engine.pool().get(hlen + payload.size());
      if (!r) return;
      out = std::move(*r);
      uint8_t* p = out.append(hlen + payload.size());
      (void)socks5::encode_udp_header(*src, {p, hlen});
      std::memcpy(p + hlen, payload.data(), payload.size());
    }
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(out.data())),
                             static_cast<unsigned>(out.size()));
    (void)uv_udp_try_send(&udp, &b, 1, reinterpret_cast<const sockaddr*>(&client_udp));
  }

  // --- teardown ---------------------------------------------------------------
  void close_now() noexcept override {
    if (closed) return;
    closed = true;
    state = State::closing;
    if (session) {
      session->cancel_open(this);
      session = nullptr;
    }
    if (client) close_and_delete(client.release());
    if (flow) {
      DatagramFlow* f = flow.release();
      f->close([](void* u) { delete static_cast<DatagramFlow*>(u); }, f);
    }
    udp_buf.reset();
    in.clear();
    auto on_closed = [](uv_handle_t* h) {
      auto* c = static_cast<Conn*>(h->data);
      if (--c->open_handles == 0) c->inbound->conn_closed(c);
    };
    if (udp_open) {
      udp_open = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&udp), on_closed);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_closed);
  }
  bool closed = false;  // close_now ran
};

ProxyInbound::ProxyInbound(Engine& e, const ProxyInboundOptions& o, Router* r)
    : ListeningInbound(e), opts_(o), router_(r) {}

ProxyInbound::~ProxyInbound() = default;

Result<std::unique_ptr<ProxyInbound>> ProxyInbound::create(Engine& e, const ProxyInboundOptions& o,
                                                           Router* router, std::string* reason) {
  if (!router) return Errc::invalid_argument;
  std::unique_ptr<ProxyInbound> in(new (std::nothrow) ProxyInbound(e, o, router));
  if (!in) return Errc::no_memory;
  Status st = in->listen(o.listen, o.port, o.listen_opts, reason);
  if (!st) return st.error();
  return in;
}

void ProxyInbound::on_accept(std::unique_ptr<net::TcpTransport> t) {
  if (closing()) {
    close_and_delete(t.release());
    return;
  }
  stats_.accepted++;
  auto* c = new (std::nothrow) Conn(this, std::move(t));
  if (!c) return;
  track(c);
  c->start();
}

}  // namespace sluice

// quic_rows.cpp: see quic_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "quic_rows.hpp"

#include "bench_material.hpp"

#if __has_include(<ngtcp2/ngtcp2.h>)  // lib/quic is built only with ngtcp2

#include <cstdlib>
#include <cstring>
#include <vector>

#include <cinttypes>
#include <cstdio>

#include "core/check.hpp"
#include "proto/target_address.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_stream.hpp"
#include "session/direct_session.hpp"
#include "session/relay.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kAlpn = "sluice-bench";

// bench_cc: SLUICE_BENCH_QUIC_CC (cubic, reno, bbr, bbr2) picks the
// congestion controller of both sides for experiments; cubic by default.
// bench_payload: SLUICE_BENCH_QUIC_PAYLOAD=N makes both sides send N-byte
// datagrams from the start (ConnectionOptions::fixed_udp_payload_size), to
// measure what the per-packet costs are; loopback carries up to 65507.
void bench_payload(quic::ConnectionOptions& o) {
  const char* v = std::getenv("SLUICE_BENCH_QUIC_PAYLOAD");
  if (v == nullptr || *v == '\0') return;
  const long n = std::strtol(v, nullptr, 10);
  if (n < 1200 || n > 65507) return;
  o.max_tx_udp_payload_size = static_cast<size_t>(n);
  o.fixed_udp_payload_size = true;
}

quic::CongestionControl bench_cc() {
  const char* v = std::getenv("SLUICE_BENCH_QUIC_CC");
  const std::string_view s = v ? v : "";
  if (s == "reno") return quic::CongestionControl::reno;
  if (s == "bbr") return quic::CongestionControl::bbr;
  if (s == "bbr2") return quic::CongestionControl::bbr2;
  return quic::CongestionControl::cubic;
}

// StatsReporter: with SLUICE_BENCH_QUIC_STATS set, each side prints its
// connection's counters every second to stderr (deltas, one line): where
// a QUIC row's time goes (packets per syscall, cwnd, RTT, flow control).
class StatsReporter {
 public:
  static StatsReporter* start(uv_loop_t* loop, const char* side) {
    const char* v = std::getenv("SLUICE_BENCH_QUIC_STATS");
    if (v == nullptr || *v == '\0') return nullptr;
    auto* r = new StatsReporter;
    r->side_ = side;
    uv_timer_init(loop, &r->t_);
    r->t_.data = r;
    uv_timer_start(&r->t_, on_tick, 1000, 1000);
    return r;
  }
  void set(quic::Connection* c, quic::Endpoint* ep) {
    conn_ = c;
    ep_ = ep;
    if (c) last_ = c->stats();
    if (ep) last_sock_ = ep->socket().stats();
  }
  // stop closes the timer; the reporter deletes itself afterwards.
  void stop() {
    conn_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&t_),
             [](uv_handle_t* h) { delete static_cast<StatsReporter*>(h->data); });
  }

 private:
  static void on_tick(uv_timer_t* t) {
    auto* r = static_cast<StatsReporter*>(t->data);
    if (r->conn_ == nullptr || r->ep_ == nullptr) return;
    const quic::ConnectionStats& c = r->conn_->stats();
    const quic::UdpSocketStats& u = r->ep_->socket().stats();
    const ngtcp2_conn_stat cs = r->conn_->conn_stat();
    const quic::ConnectionStats& l = r->last_;
    const quic::UdpSocketStats& lu = r->last_sock_;
    const double sent = static_cast<double>(u.datagrams_sent - lu.datagrams_sent);
    const double calls = static_cast<double>(u.send_calls - lu.send_calls);
    const double rcvd = static_cast<double>(u.datagrams_received - lu.datagrams_received);
    const double batches = static_cast<double>(u.recv_batches - lu.recv_batches);
    std::fprintf(
        stderr,
        "quic-stats %s: pkts out %" PRIu64 " in %" PRIu64
        " | dgrams/send %.1f dgrams/recv-batch %.1f | writes %" PRIu64 " timers %" PRIu64
        " (due %" PRIu64 ", idle %" PRIu64
        ")"
        " fc-blocked %" PRIu64 " eagain %" PRIu64 " | cwnd %" PRIu64 " KiB inflight %" PRIu64
        " KiB srtt %.0f us minrtt %.0f us"
        " ssthresh %" PRIu64 " KiB quantum %zu pacing %.2f ns/B\n",
        r->side_, c.packets_written - l.packets_written, c.packets_read - l.packets_read,
        calls > 0 ? sent / calls : 0.0, batches > 0 ? rcvd / batches : 0.0,
        c.write_calls - l.write_calls, c.timer_fires - l.timer_fires,
        c.timer_immediate - l.timer_immediate, c.timer_idle - l.timer_idle,
        c.stream_blocked - l.stream_blocked, u.send_would_block - lu.send_would_block,
        cs.cwnd / 1024, cs.bytes_in_flight / 1024, cs.smoothed_rtt / 1000.0, cs.min_rtt / 1000.0,
        cs.ssthresh > (1ull << 50) ? 0 : cs.ssthresh / 1024, cs.send_quantum, cs.pacing_rate);
    r->last_ = c;
    r->last_sock_ = u;
  }

  uv_timer_t t_{};
  const char* side_ = "";
  quic::Connection* conn_ = nullptr;
  quic::Endpoint* ep_ = nullptr;
  quic::ConnectionStats last_;
  quic::UdpSocketStats last_sock_;
};

// ---------------------------------------------------------------- server side

// QuicTunnelServer accepts connections; each peer stream starts with a
// target address, then carries the flow.
class QuicTunnelServer final : public EngineObject,
                               public quic::AcceptHandler,
                               public quic::ConnectionHandler {
 public:
  explicit QuicTunnelServer(Engine& e)
      : EngineObject(e), direct_(e, "direct", net::DialOptions{}) {}
  ~QuicTunnelServer() override { SLUICE_CHECK(flows_.empty()); }

  Status start(const EngineObject* /*unused*/, bool gso, quic::CwndCeiling ceiling,
               std::string* reason) {
    auto cert = material_file("cert.pem", reason);
    auto key = material_file("key.pem", reason);
    if (!cert || !key) return Errc::invalid_argument;
    quic::QuicTlsOptions t;
    t.server = true;
    t.alpn = {kAlpn};
    t.cert_pem = *cert;
    t.key_pem = *key;
    auto tls = quic::QuicTlsContext::create(t, reason);
    if (!tls) return tls.error();
    quic::EndpointOptions o;
    o.allow_gso = gso;
    o.connection.cc = bench_cc();
    o.connection.cwnd_ceiling = ceiling;
    bench_payload(o.connection);
    auto ep = quic::Endpoint::create(engine(), o, std::move(*tls), this);
    if (!ep) {
      *reason = "cannot open the QUIC server socket";
      return ep.error();
    }
    ep_ = std::move(*ep);
    stats_ = StatsReporter::start(engine().loop(), "server");
    return {};
  }
  uint16_t port() const { return ep_->port(); }

  void on_connection(quic::Connection& c) override {
    c.set_handler(this);
    if (stats_) stats_->set(&c, ep_.get());
  }
  void on_closed(quic::Connection&, Errc, uint64_t, const char*) override {
    if (stats_) stats_->set(nullptr, nullptr);
  }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    auto f = std::make_unique<Flow>();
    f->server = this;
    f->stream = std::move(s);
    f->stream->set_handler(f.get());
    f->stream->read_start();
    flows_.push_back(std::move(f));
  }

  void engine_close() noexcept override {
    if (stats_) stats_->stop();
    stats_ = nullptr;
    auto flows = std::move(flows_);
    flows_.clear();
    for (auto& f : flows) f->abandon();
    detach_from_engine();
  }

 private:
  // Flow reads the target address, dials it, and hands both to a Relay.
  struct Flow final : TransportHandler, OpenHandler {
    QuicTunnelServer* server = nullptr;
    std::unique_ptr<quic::QuicStream> stream;
    uint8_t head[TargetAddress::kMaxSocksSize];
    size_t have = 0;
    bool dialing = false;

    void on_data(Slice&& d) override {
      const size_t take = std::min(d.size(), sizeof head - have);
      std::memcpy(head + have, d.data(), take);
      have += take;
      auto r = TargetAddress::decode_socks({head, have});
      if (r.need_more()) {
        if (have == sizeof head) return fail();
        return;
      }
      if (r.failed()) return fail();
      // Bytes past the address are the flow's first bytes: give them back.
      Chain rest;
      if (r.consumed < have) {
        auto extra = server->engine().pool().copy_from(head + r.consumed, have - r.consumed);
        if (!extra || !rest.push_back(std::move(*extra))) return fail();
      }
      if (take < d.size()) {
        d.advance(take);
        if (!rest.push_back(std::move(d))) return fail();
      }
      stream->read_stop();
      if (!rest.empty() && !stream->unread(std::move(rest))) return fail();
      dialing = true;
      const TargetAddress& t = r.value;
      server->direct_.open_stream(t.host(), t.port(), this);
    }
    void on_eof() override { fail(); }
    void on_error(Errc) override { fail(); }
    void on_open(Result<std::unique_ptr<Stream>> out, const char*) override {
      dialing = false;
      if (!out) return fail();
      stream->set_handler(nullptr);
      Relay::start(server->engine(), std::move(stream), std::move(*out), RelayOptions{}, nullptr);
      server->forget(this);
    }
    void fail() {
      if (dialing) server->direct_.cancel_open(this);
      dialing = false;
      server->forget(this);
    }
    // abandon: the Engine stops; close the stream, no callbacks.
    void abandon() {
      if (dialing) server->direct_.cancel_open(this);
      dialing = false;
      if (stream) {
        stream->set_handler(nullptr);
        close_and_delete(stream.release());
      }
    }
  };

  void forget(Flow* f) {
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->get() != f) continue;
      std::unique_ptr<Flow> mine = std::move(*it);
      flows_.erase(it);
      if (mine->stream) {
        mine->stream->set_handler(nullptr);
        close_and_delete(mine->stream.release());
      }
      return;  // |mine| (the Flow) goes here, after its last use
    }
  }

  DirectSession direct_;
  std::unique_ptr<quic::Endpoint> ep_;
  std::vector<std::unique_ptr<Flow>> flows_;
  StatsReporter* stats_ = nullptr;
};

// ---------------------------------------------------------------- client side

// QuicTunnelSession: every open_stream is one new bidirectional stream on
// one shared QUIC connection (made on first use, made again after it ends).
class QuicTunnelSession final : public Session, public quic::ConnectionHandler {
 public:
  QuicTunnelSession(Engine& e, uint16_t server_port) : Session(e, "quic"), port_(server_port) {}

  Status start(bool gso, quic::CwndCeiling ceiling, std::string* reason) {
    auto pin = certificate_pin(reason);
    if (!pin) return pin.error();
    quic::QuicTlsOptions t;
    t.alpn = {kAlpn};
    t.server_name = kBenchServerName;
    t.cert_pins_hex = {*pin};
    auto tls = quic::QuicTlsContext::create(t, reason);
    if (!tls) return tls.error();
    quic::EndpointOptions o;
    o.allow_gso = gso;
    o.connection.cc = bench_cc();
    o.connection.cwnd_ceiling = ceiling;
    bench_payload(o.connection);
    auto ep = quic::Endpoint::create(engine(), o, std::move(*tls), nullptr);
    if (!ep) {
      *reason = "cannot open the QUIC client socket";
      return ep.error();
    }
    ep_ = std::move(*ep);
    stats_ = StatsReporter::start(engine().loop(), "client");
    return {};
  }

  const char* type() const noexcept override { return "quic-bench"; }

  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override {
    auto t = TargetAddress::from_host(host, port);
    if (!t) {
      h->on_open(t.error(), "bad target address");
      return;
    }
    waiting_.push_back({h, *t});
    if (conn_ == nullptr) {
      auto c = ep_->connect("127.0.0.1", port_, this);
      if (!c) return fail_waiting(c.error(), "QUIC connect failed");
      conn_ = *c;
      if (stats_) stats_->set(conn_, ep_.get());
      return;  // on_handshake_done opens the streams
    }
    if (up_) open_waiting();
  }

  void cancel_open(OpenHandler* h) noexcept override {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if (it->handler == h) {
        waiting_.erase(it);
        return;
      }
    }
  }

  void on_handshake_done(quic::Connection&) override {
    up_ = true;
    open_waiting();
  }
  void on_streams_available(quic::Connection&) override { open_waiting(); }
  void on_closed(quic::Connection&, Errc e, uint64_t, const char*) override {
    conn_ = nullptr;
    up_ = false;
    if (stats_) stats_->set(nullptr, nullptr);
    fail_waiting(e, "the QUIC connection closed");
  }

  void engine_close() noexcept override {
    waiting_.clear();  // pending opens are cancelled: nobody is called back
    if (stats_) stats_->stop();
    stats_ = nullptr;
    if (conn_) conn_->set_handler(nullptr);
    conn_ = nullptr;
    detach_from_engine();
  }

 private:
  struct Waiting {
    OpenHandler* handler;
    TargetAddress target;
  };

  void open_waiting() {
    while (!waiting_.empty() && conn_ != nullptr) {
      auto s = conn_->open_bidi_stream();
      if (!s && s.error() == Errc::limit_exceeded) return;  // on_streams_available resumes
      Waiting w = waiting_.front();
      waiting_.erase(waiting_.begin());
      if (!s) {
        w.handler->on_open(s.error(), "cannot open a QUIC stream");
        continue;
      }
      // The address goes first on the stream, in the same packet as the
      // flow's first bytes when they follow at once.
      auto head = engine().pool().get(SizeClass::k2K);
      if (!head) {
        close_and_delete(s->release());
        w.handler->on_open(head.error(), "no buffer");
        continue;
      }
      auto n = w.target.encode_socks({head->append(w.target.socks_size()), w.target.socks_size()});
      if (!n || !(*s)->write(std::move(*head))) {
        close_and_delete(s->release());
        w.handler->on_open(Errc::internal, "cannot write the target address");
        continue;
      }
      w.handler->on_open(std::unique_ptr<Stream>(s->release()), nullptr);
    }
  }

  void fail_waiting(Errc e, const char* why) {
    auto w = std::move(waiting_);
    waiting_.clear();
    for (auto& x : w) x.handler->on_open(e, why);
  }

  uint16_t port_;
  std::unique_ptr<quic::Endpoint> ep_;
  quic::Connection* conn_ = nullptr;
  bool up_ = false;
  std::vector<Waiting> waiting_;
  StatsReporter* stats_ = nullptr;
};

// ---------------------------------------------------------------- rows

// Which tunnel a row runs: GSO or sendmmsg, and sluice's cwnd ceiling or
// ngtcp2 0.12.1's own (lib/quic/cc_hook.hpp), to show what the hook changes.
struct Variant {
  bool gso;
  quic::CwndCeiling ceiling;
};
constexpr Variant kGso{true, quic::CwndCeiling::smoothed_rtt};
constexpr Variant kNoGso{false, quic::CwndCeiling::smoothed_rtt};
constexpr Variant kGsoStock{true, quic::CwndCeiling::stock};

template <const Variant& V>
Result<uint16_t> server_side(Engine& e, uint16_t, Keep& keep, std::string* reason) {
  auto* s = keep.add(std::make_unique<QuicTunnelServer>(e));
  Status st = s->start(nullptr, V.gso, V.ceiling, reason);
  if (!st) return st.error();
  return s->port();
}

template <const Variant& V>
Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason) {
  auto s = std::make_unique<QuicTunnelSession>(e, upstream);
  Status st = s->start(V.gso, V.ceiling, reason);
  if (!st) return st.error();
  return socks_front(e, std::move(s), keep, reason);
}

const RowDef kRows[] = {
    {"quic-gso", "QUIC streams (GSO)", server_side<kGso>, client_side<kGso>},
    {"quic-nogso", "QUIC streams (sendmmsg)", server_side<kNoGso>, client_side<kNoGso>},
    {"quic-gso-stock", "QUIC (GSO, 0.12.1 cwnd rule)", server_side<kGsoStock>,
     client_side<kGsoStock>},
};

}  // namespace

std::span<const RowDef> quic_rows() { return kRows; }

}  // namespace sluice::perf

#else

namespace sluice::perf {
std::span<const RowDef> quic_rows() { return {}; }
}  // namespace sluice::perf

#endif

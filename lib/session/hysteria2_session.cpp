// hysteria2_session.cpp: the hysteria2 outbound: one authenticated QUIC
// connection, TCP streams, UDP flows, reconnect.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/hysteria2_session.hpp"

#include <algorithm>
#include <charconv>
#include <new>

#include "net/closer.hpp"
#include "net/engine_internal.hpp"
#include "proto/hysteria2/hysteria2.hpp"
#include "proto/hysteria2/udp_message.hpp"
#include "quic/brutal.hpp"
#include "quic/quic_stream.hpp"
#include "quic/salamander.hpp"
#include "session/hysteria2_udp.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {
constexpr uint64_t kH3GeneralProtocolError = 0x101;  // the official client's auth-failure close
}  // namespace

// ---------------------------------------------------------------------------
// Open: one open_stream
// ---------------------------------------------------------------------------

class Hysteria2Session::Open final : public StreamOpen {
 public:
  Open(Hysteria2Session& s, std::string target) noexcept
      : StreamOpen(s), target_(std::move(target)) {}

 private:
  Status write_request(quic::QuicStream& st, BufferPool& pool, const char** why) noexcept override {
    const size_t pad = hysteria2::random_padding_length(hysteria2::kTcpRequestPadding);
    const size_t n = hysteria2::tcp_request_size(target_, pad);
    auto buf = pool.get(n);
    if (!buf) {
      *why = "out of memory";
      return buf.error();
    }
    auto w = hysteria2::encode_tcp_request(target_, pad, {buf->append(n), n});
    if (!w) {
      *why = "bad target address";
      return w.error();
    }
    return st.write(std::move(*buf));
  }
  Response read_response(Chain& in, BufferPool& pool) noexcept override {
    const size_t n = std::min(in.size(), max_response());
    auto lin = in.linearize(n, pool);
    if (!lin) return Response::malformed(lin.error(), "out of memory");
    auto r = hysteria2::parse_tcp_response({*lin, n});
    if (r.need_more()) return {};
    if (r.failed()) return Response::malformed(Errc::malformed, "malformed TCP response");
    if (r.value.status != hysteria2::kTcpStatusOk) return Response::refused(r.value.message);
    return Response::ok(r.consumed);
  }
  static constexpr size_t max_response() noexcept {
    return 1 + 8 + hysteria2::kMaxMessage + 8 + hysteria2::kMaxPadding;
  }

  std::string target_;  // "host:port"
};

// ---------------------------------------------------------------------------
// Flow: one UDP session
// ---------------------------------------------------------------------------

class Hysteria2Session::Flow final : public DatagramFlow {
 public:
  Flow(Hysteria2Session* s, uint32_t sid, DatagramHandler* h) noexcept : s_(s), sid_(sid), h_(h) {}
  ~Flow() override {
    if (s_) s_->flows_.erase(sid_);
  }

  Status send(const Endpoint& to, Slice&& payload) noexcept override {
    if (failed_ || s_ == nullptr) return Errc::closed;
    auto t = TargetAddress::from_host(to.host, to.port);
    if (!t) {
      stats_.dropped++;
      return t.error();
    }
    if (s_->state() != State::ready) {
      if (queue_.size() >= s_->opts_.udp_queue) {
        stats_.dropped++;
        return Errc::limit_exceeded;
      }
      try {
        queue_.emplace_back(*t, std::move(payload));
      } catch (...) {
        stats_.dropped++;
        return Errc::no_memory;
      }
      s_->connect();
      return {};
    }
    return transmit(*t, std::move(payload));
  }
  void close(CloseCallback cb, void* user) noexcept override {
    if (s_) s_->flows_.erase(sid_);
    s_ = nullptr;
    h_ = nullptr;
    queue_.clear();
    // Nothing to wait for; the callback still never runs inside close().
    if (cb) net::defer(*engine_, cb, user);
  }
  DatagramFlowStats stats() const noexcept override { return stats_; }

  void set_engine(Engine& e) noexcept { engine_ = &e; }
  // ready: the connection is authenticated; queued datagrams go.
  void ready() noexcept {
    auto q = std::move(queue_);
    queue_.clear();
    for (auto& [t, p] : q) (void)transmit(t, std::move(p));
  }
  // fail: the connection ended or refused UDP; the handler hears it once.
  // It leaves the Session's table first, so the Session can fail every
  // flow by taking the first until none is left, whatever the handlers do.
  void fail(Errc e) noexcept {
    if (s_) s_->flows_.erase(sid_);
    s_ = nullptr;
    if (failed_) return;
    failed_ = true;
    queue_.clear();
    if (h_) h_->on_error(e);
  }
  void receive(const hysteria2::UdpMessage& m, BufferPool& pool) noexcept {
    if (h_ == nullptr) return;
    hysteria2::Defragmenter::Packet p;
    if (m.header.frag_count > 1) {
      if (!defrag_) defrag_.reset(new (std::nothrow) hysteria2::Defragmenter());
      if (!defrag_) return;
      p = defrag_->feed(m);
    } else {
      p = {true, m.data};
    }
    if (!p.complete) return;
    auto from = hysteria2::parse_address(m.address);
    if (!from) {
      stats_.dropped++;
      return;
    }
    auto sl = pool.copy_from(p.data.data(), p.data.size());
    if (!sl) {
      stats_.dropped++;
      return;
    }
    stats_.received++;
    h_->on_datagram(Endpoint{from->host(), from->port()}, std::move(*sl));
  }

 private:
  Status transmit(const TargetAddress& t, Slice&& payload) noexcept {
    if (s_ == nullptr || s_->conn_ == nullptr) return Errc::closed;
    std::string addr;
    try {
      addr = hysteria2::address_text(t);
    } catch (...) {
      stats_.dropped++;
      return Errc::no_memory;
    }
    Status st =
        hysteria2::send_udp(*s_->conn_, s_->engine().pool(), sid_, addr, std::move(payload));
    if (st)
      stats_.sent++;
    else
      stats_.dropped++;
    return st;
  }

  Hysteria2Session* s_;
  Engine* engine_ = nullptr;
  uint32_t sid_;
  DatagramHandler* h_;
  bool failed_ = false;
  std::vector<std::pair<TargetAddress, Slice>> queue_;  // until ready
  std::unique_ptr<hysteria2::Defragmenter> defrag_;
  DatagramFlowStats stats_;
};

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

Result<Hysteria2SessionOptions> hysteria2_session_options(const Hysteria2OutboundOptions& o,
                                                          const DialOptions& dial,
                                                          std::string* why) {
  Hysteria2SessionOptions s;
  SLUICE_TRY(quic::parse_port_ranges(o.server_ports, "server_ports", &s.server_ports, why));
  s.hop_interval_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.hop_interval).count());
  s.hop_interval_max_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.hop_interval_max).count());
  s.server = o.endpoint.server;
  s.server_port = o.endpoint.server_port;
  s.password = o.password;
  s.up_bps = uint64_t{o.up_mbps} * 125000;  // Mbit/s -> bytes/s, as sing-box
  s.down_bps = uint64_t{o.down_mbps} * 125000;
  if (o.obfs.type == "salamander") s.obfs_password = o.obfs.password;
  s.udp = o.network.udp;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(dial.connect_timeout);
  if (ms.count() > 0) s.handshake_timeout_ms = static_cast<uint64_t>(ms.count());
  auto tls = quic_client_tls(o.tls, o.endpoint.server, "h3", why);
  if (!tls) return tls.error();
  s.tls = std::move(*tls);
  return s;
}

// make_hysteria2_session: the definition behind the Instance's weak
// declaration (lib/inbound/hysteria2_factory.hpp).
Result<std::unique_ptr<Session>> make_hysteria2_session(Engine& e, const OutboundOptions& o,
                                                        std::string* why) {
  auto ho = hysteria2_session_options(std::get<Hysteria2OutboundOptions>(o.options), o.dial, why);
  if (!ho) return ho.error();
  auto s = Hysteria2Session::create(e, o.tag, *ho, why);
  if (!s) return s.error();
  return std::unique_ptr<Session>(std::move(*s));
}

// ---------------------------------------------------------------------------
// Hysteria2Session
// ---------------------------------------------------------------------------

namespace {

// ports_text names the server's port for log and error prefixes: the hop
// ranges when hopping ("20000-20010,443"), else server_port.
std::string ports_text(const Hysteria2SessionOptions& o) {
  if (o.server_ports.empty()) return std::to_string(o.server_port);
  return quic::format_port_ranges(o.server_ports);
}

}  // namespace

Hysteria2Session::Hysteria2Session(Engine& e, std::string tag, const Hysteria2SessionOptions& o,
                                   std::shared_ptr<quic::QuicTlsContext> tls)
    : QuicSharedSession(e, std::move(tag),
                        "hysteria2 server " + o.server + ":" + ports_text(o) + ": ", o.server,
                        o.server_port, o.handshake_timeout_ms, std::move(tls)),
      opts_(o) {}

Result<std::unique_ptr<Hysteria2Session>> Hysteria2Session::create(Engine& e, std::string tag,
                                                                   const Hysteria2SessionOptions& o,
                                                                   std::string* why) {
  if (o.server.empty() || (o.server_port == 0 && o.server_ports.empty())) {
    if (why) *why = "hysteria2: server and server_port (or server_ports) are required";
    return Errc::config_invalid;
  }
  if (!o.obfs_password.empty() && o.obfs_password.size() < quic::Salamander::kMinPsk) {
    if (why) *why = "hysteria2: the salamander password must have at least 4 bytes";
    return Errc::config_invalid;
  }
  quic::QuicTlsOptions to = o.tls;
  to.server = false;
  if (to.alpn.empty()) to.alpn = {"h3"};
  if (to.server_name.empty()) to.server_name = o.server;
  std::string w;
  auto ctx = quic::QuicTlsContext::create(to, &w);
  if (!ctx) {
    if (why) *why = "tls: " + w;
    return ctx.error();
  }
  return std::unique_ptr<Hysteria2Session>(new Hysteria2Session(
      e, std::move(tag), o, std::shared_ptr<quic::QuicTlsContext>(std::move(*ctx))));
}

Hysteria2Session::~Hysteria2Session() { fail_flows(Errc::closed); }

void Hysteria2Session::fail_flows(Errc e) noexcept {
  while (!flows_.empty()) flows_.begin()->second->fail(e);
}

Result<std::unique_ptr<QuicSharedSession::StreamOpen>> Hysteria2Session::new_open(
    std::string_view host, uint16_t port) noexcept {
  auto t = TargetAddress::from_host(host, port);
  if (!t) return t.error() == Errc::no_memory ? Errc::no_memory : Errc::invalid_argument;
  try {
    std::unique_ptr<StreamOpen> o(new Open(*this, hysteria2::address_text(*t)));
    return o;
  } catch (...) {
    return Errc::no_memory;
  }
}

Result<std::unique_ptr<DatagramFlow>> Hysteria2Session::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  if (!opts_.udp) return Errc::not_supported;
  if (state() == State::ready && !server_udp_) return Errc::not_supported;
  const uint32_t sid = next_sid_++;
  std::unique_ptr<Flow> f(new (std::nothrow) Flow(this, sid, h));
  if (!f) return Errc::no_memory;
  f->set_engine(engine());
  try {
    flows_.emplace(sid, f.get());
  } catch (...) {
    return Errc::no_memory;
  }
  stats_.udp_flows++;
  if (state() != State::ready) connect();
  return std::unique_ptr<DatagramFlow>(f.release());
}

Status Hysteria2Session::configure_dial(quic::QuicDialOptions& d, std::string* why) noexcept {
  quic::ConnectionOptions& co = d.endpoint.connection;
  co.idle_timeout_ms = opts_.idle_timeout_ms;
  co.keep_alive_ms = opts_.keep_alive_ms;
  co.max_datagram_frame_size = hysteria2::kMaxDatagramFrame;
  co.stream_window = 8u << 20;
  co.max_stream_window = 8u << 20;
  co.conn_window = 20u << 20;
  co.max_conn_window = 20u << 20;
  // BBR, under Brutal when there is a rate (the server's "auto" hands the
  // connection back to it: on_headers).
  co.cc = quic::CongestionControl::bbr;
  if (opts_.up_bps > 0) {
    const quic::BrutalOptions bo{opts_.up_bps, opts_.disable_loss_compensation};
    co.rate_controller = [bo] {
      return std::unique_ptr<quic::RateController>(new (std::nothrow) quic::Brutal(bo));
    };
  }
  if (!opts_.obfs_password.empty()) {
    auto s = quic::Salamander::create(opts_.obfs_password);
    if (!s) {
      *why = "bad obfs password";
      return s.error();
    }
    d.endpoint.transform = std::move(*s);
    co.max_tx_udp_payload_size -= quic::Salamander::kSaltLen;
  }
  if (!opts_.server_ports.empty()) {
    d.endpoint.hop.ranges = opts_.server_ports;
    d.endpoint.hop.interval_min_ms = opts_.hop_interval_ms;
    d.endpoint.hop.interval_max_ms = opts_.hop_interval_max_ms;
  }
  return {};
}

void Hysteria2Session::on_connected(quic::QuicDialed& r) noexcept {
  auto h = quic::H3Connection::create(*conn_, nullptr);
  if (!h) {
    conn_->close(quic::kH3InternalError, "http/3 setup failed");
    return;
  }
  h3_ = std::move(*h);
  // The server's control and QPACK streams, opened right after the handshake.
  for (auto& es : r.early_streams) on_stream(*conn_, std::move(es));
  quic::H3Fields f;
  try {
    f = {{"hysteria-auth", opts_.password},
         {"hysteria-cc-rx", std::to_string(opts_.down_bps)},
         {"hysteria-padding", hysteria2::padding_string(hysteria2::kAuthRequestPadding)}};
  } catch (...) {
    conn_->close(quic::kH3InternalError, "out of memory");
    return;
  }
  auto a = h3_->request("POST", "hysteria", "/auth", f, false, this);
  if (!a) {
    conn_->close(quic::kH3InternalError, "cannot send the auth request");
    return;
  }
  auth_ = *a;
  start_handshake_deadline();
}

void Hysteria2Session::on_handshake_timeout() noexcept {
  handshake_failed(Errc::timed_out, "no answer to the authentication request",
                   kH3GeneralProtocolError, "auth timeout");
}

void Hysteria2Session::on_headers(quic::H3Stream& s) {
  if (&s != auth_ || state() != State::handshake) return;
  const int status = s.status();
  if (status != hysteria2::kStatusAuthOk) {
    stats_.auth_failures++;
    auth_ = nullptr;
    std::string why;
    try {
      why = "authentication refused: HTTP " + std::to_string(status) +
            " from the server's masquerade (a wrong password, or not a Hysteria server)";
    } catch (...) {
    }
    handshake_failed(Errc::auth_failed, why, kH3GeneralProtocolError, "authentication refused");
    return;
  }
  // hysteria-udp is Go's strconv.ParseBool.
  const std::string_view u = s.field("hysteria-udp");
  server_udp_ = u == "1" || u == "t" || u == "T" || u == "true" || u == "TRUE" || u == "True";
  try {
    server_rx_ = std::string(s.field("hysteria-cc-rx"));
  } catch (...) {
  }
  if (auto* b = dynamic_cast<quic::Brutal*>(conn_->rate_controller());
      b != nullptr && server_rx_ == "auto") {
    // Spec C5: "auto" makes the client use its own congestion control:
    // Brutal hands the connection to the BBR beneath it.
    (void)quic::cc_hook::fall_back(b);
  } else if (b != nullptr) {
    // The server's receive limit caps our rate; 0 (unlimited) leaves ours.
    uint64_t rx = 0;
    auto [p, ec] = std::from_chars(server_rx_.data(), server_rx_.data() + server_rx_.size(), rx);
    if (ec == std::errc() && p == server_rx_.data() + server_rx_.size() && rx > 0 &&
        rx < opts_.up_bps)
      b->set_rate(rx);
    stats_.send_bps = b->rate();
  } else {
    stats_.send_bps = 0;
  }
  auth_ = nullptr;
  handshake_done();
}

void Hysteria2Session::on_ready() noexcept {
  if (!server_udp_) {
    fail_flows(Errc::not_supported);
  } else {
    for (auto& [sid, f] : flows_) {  // sends only: no handler runs
      (void)sid;
      f->ready();
    }
  }
}

void Hysteria2Session::on_close(quic::H3Stream& s, Errc e) {
  if (&s != auth_) return;
  auth_ = nullptr;
  if (state() == State::handshake && conn_ != nullptr) {
    fail_waiting(e == Errc::ok ? Errc::protocol_violation : e,
                 std::string("the authentication request failed: ") + errc_message(e));
    conn_->close(kH3GeneralProtocolError, "auth request failed");
  }
}

void Hysteria2Session::on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) {
  // The server's HTTP/3 control and QPACK streams; anything else is refused.
  if (h3_ && !s->bidi()) {
    h3_->accept_stream(std::move(s));
    return;
  }
  quic::ConnectionHandler::on_stream(c, std::move(s));
}

void Hysteria2Session::on_datagram(quic::Connection& c, const uint8_t* data, size_t len) {
  (void)c;
  if (state() != State::ready) return;
  auto m = hysteria2::parse_udp_message({data, len});
  if (!m) return;  // malformed: dropped
  auto it = flows_.find(m->header.session_id);
  if (it == flows_.end()) return;  // unknown session: dropped
  it->second->receive(*m, engine().pool());
}

void Hysteria2Session::connection_gone(State was, uint64_t app_error, Errc& err,
                                       std::string& why) noexcept {
  (void)app_error;
  (void)err;
  auth_ = nullptr;
  h3_.reset();
  if (was != State::ready) why = "connection closed before authentication: ";
}

void Hysteria2Session::on_closing() noexcept {
  h3_.reset();
  auth_ = nullptr;
}

}  // namespace sluice

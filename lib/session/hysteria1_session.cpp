// hysteria1_session.cpp: the hysteria (v1) outbound: one QUIC connection
// with a control-stream handshake, TCP streams, UDP flows, reconnect.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/hysteria1_session.hpp"

#include <algorithm>
#include <new>

#include "net/closer.hpp"
#include "net/engine_internal.hpp"
#include "proto/hysteria1/hysteria1.hpp"
#include "proto/hysteria1/udp_message.hpp"
#include "quic/brutal.hpp"
#include "quic/quic_stream.hpp"
#include "session/hysteria1_udp.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {
constexpr size_t kMaxResponse = hysteria1::server_response_size(0xffff);

// Reads a ServerResponse from |in| (bytes so far): need_more, or done /
// failed as parse_server_response.
ParseResult<hysteria1::ServerResponse> read_response(Chain& in, BufferPool& pool) noexcept {
  const size_t n = std::min(in.size(), kMaxResponse);
  auto lin = in.linearize(n, pool);
  if (!lin) return ParseResult<hysteria1::ServerResponse>::fail(lin.error());
  try {
    return hysteria1::parse_server_response({*lin, n});
  } catch (...) {
    return ParseResult<hysteria1::ServerResponse>::fail(Errc::no_memory);
  }
}

// Writes |n| bytes made by |enc| to |s|.
template <typename Enc>
Status write_frame(quic::QuicStream& s, BufferPool& pool, size_t n, Enc enc) noexcept {
  auto buf = pool.get(n);
  if (!buf) return buf.error();
  auto w = enc(std::span<uint8_t>(buf->append(n), n));
  if (!w) return w.error();
  return s.write(std::move(*buf));
}
}  // namespace

// ---------------------------------------------------------------------------
// Open: one open_stream
// ---------------------------------------------------------------------------

class Hysteria1Session::Open final : public StreamOpen {
 public:
  Open(Hysteria1Session& s, std::string host, uint16_t port) noexcept
      : StreamOpen(s), host_(std::move(host)), port_(port) {}

 private:
  Status write_request(quic::QuicStream& st, BufferPool& pool, const char** why) noexcept override {
    (void)why;  // "cannot write the request"
    return write_frame(st, pool, hysteria1::client_request_size(host_.size()),
                       [this](std::span<uint8_t> out) {
                         return hysteria1::encode_client_request(false, host_, port_, out);
                       });
  }
  Response read_response(Chain& in, BufferPool& pool) noexcept override {
    auto r = sluice::read_response(in, pool);
    if (r.need_more()) return {};
    if (r.failed()) return Response::malformed(r.error, "malformed response");
    if (!r.value.ok) return Response::refused(r.value.message);
    return Response::ok(r.consumed);
  }

  std::string host_;
  uint16_t port_;
};

// ---------------------------------------------------------------------------
// Flow: one UDP session (its request stream holds it)
// ---------------------------------------------------------------------------

class Hysteria1Session::Flow final : public DatagramFlow, private TransportHandler {
 public:
  Flow(Hysteria1Session* s, DatagramHandler* h) noexcept : s_(s), engine_(&s->engine()), h_(h) {}
  ~Flow() override { detach(); }

  Status send(const Endpoint& to, Slice&& payload) noexcept override {
    if (failed_ || s_ == nullptr) return Errc::closed;
    if (to.host.empty() || to.port == 0) {
      stats_.dropped++;
      return Errc::invalid_argument;
    }
    if (!has_sid_) {
      if (queue_.size() >= s_->opts_.udp_queue) {
        stats_.dropped++;
        return Errc::limit_exceeded;
      }
      try {
        queue_.emplace_back(to, std::move(payload));
      } catch (...) {
        stats_.dropped++;
        return Errc::no_memory;
      }
      if (s_->state() != State::ready) s_->connect();
      return {};
    }
    return transmit(to, std::move(payload));
  }
  void close(CloseCallback cb, void* user) noexcept override {
    detach();
    h_ = nullptr;
    queue_.clear();
    if (cb) net::defer(*engine_, cb, user);
  }
  DatagramFlowStats stats() const noexcept override { return stats_; }

  // start opens the request stream on a ready connection; false while the
  // stream limit holds it back.
  bool start(quic::Connection& c) noexcept {
    if (stream_ || failed_) return true;
    auto st = c.open_bidi_stream();
    if (!st) {
      if (st.error() == Errc::limit_exceeded) return false;
      fail(st.error());
      return true;
    }
    stream_ = std::move(*st);
    stream_->set_handler(this);
    Status ws = write_frame(
        *stream_, engine_->pool(), hysteria1::client_request_size(0),
        [](std::span<uint8_t> out) { return hysteria1::encode_client_request(true, {}, 0, out); });
    if (!ws) {
      fail(ws.error());
      return true;
    }
    stream_->read_start();
    return true;
  }
  // fail: the connection ended, the server refused or ended the session;
  // the handler hears it once.
  void fail(Errc e) noexcept {
    if (failed_) return;
    failed_ = true;
    queue_.clear();
    detach();
    if (h_) h_->on_error(e);
  }
  void receive(std::string_view host, uint16_t port, std::span<const uint8_t> data) noexcept {
    if (h_ == nullptr) return;
    auto sl = engine_->pool().copy_from(data.data(), data.size());
    if (!sl) {
      stats_.dropped++;
      return;
    }
    try {
      from_.host.assign(host);
    } catch (...) {
      stats_.dropped++;
      return;
    }
    from_.port = port;
    stats_.received++;
    h_->on_datagram(from_, std::move(*sl));
  }

 private:
  void detach() noexcept {
    if (s_) {
      auto& f = s_->flows_;
      f.erase(std::remove(f.begin(), f.end(), this), f.end());
      if (has_sid_) s_->by_sid_.erase(sid_);
    }
    s_ = nullptr;
    if (stream_) {
      stream_->set_handler(nullptr);
      close_and_delete(stream_.release());  // ends the session on the server
    }
  }
  void on_data(Slice&& d) override {
    if (has_sid_) return;  // the stream carries nothing after the response
    if (!in_.push_back_compact(std::move(d))) {
      fail(Errc::no_memory);
      return;
    }
    auto r = read_response(in_, engine_->pool());
    if (r.need_more()) return;
    if (r.failed() || !r.value.ok) {
      if (r.done())
        SLUICE_LOG_INFO("%sUDP refused: %s", s_ ? s_->prefix().c_str() : "",
                        r.value.message.c_str());
      fail(r.failed() ? r.error : Errc::connection_refused);
      return;
    }
    in_.clear();
    sid_ = r.value.udp_session_id;
    try {
      s_->by_sid_[sid_] = this;
    } catch (...) {
      fail(Errc::no_memory);
      return;
    }
    has_sid_ = true;
    auto q = std::move(queue_);
    queue_.clear();
    for (auto& [t, p] : q) (void)transmit(t, std::move(p));
  }
  void on_eof() override { fail(Errc::eof); }
  void on_error(Errc e) override { fail(e); }
  Status transmit(const Endpoint& to, Slice&& payload) noexcept {
    if (s_ == nullptr || s_->conn_ == nullptr) return Errc::closed;
    Status st = hysteria1::send_udp(*s_->conn_, engine_->pool(), sid_, to.host, to.port,
                                    std::move(payload));
    if (st)
      stats_.sent++;
    else
      stats_.dropped++;
    return st;
  }

  Hysteria1Session* s_;
  Engine* engine_;
  DatagramHandler* h_;
  std::unique_ptr<quic::QuicStream> stream_;
  Chain in_;
  uint32_t sid_ = 0;
  bool has_sid_ = false;
  bool failed_ = false;
  Endpoint from_;  // reused for every reply
  std::vector<std::pair<Endpoint, Slice>> queue_;
  DatagramFlowStats stats_;
};

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

Result<Hysteria1SessionOptions> hysteria1_session_options(const HysteriaOutboundOptions& o,
                                                          const DialOptions& dial,
                                                          std::string* why) {
  Hysteria1SessionOptions s;
  SLUICE_TRY(quic::parse_port_ranges(o.server_ports, "server_ports", &s.server_ports, why));
  s.hop_interval_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.hop_interval).count());
  s.server = o.endpoint.server;
  s.server_port = o.endpoint.server_port;
  s.auth = o.auth;
  s.up_bps = o.up_bps;
  s.down_bps = o.down_bps;
  s.obfs = o.obfs;
  s.udp = o.network.udp;
  if (o.recv_window_conn != 0) s.recv_window_conn = o.recv_window_conn;
  if (o.recv_window != 0) s.recv_window = o.recv_window;
  s.disable_mtu_discovery = o.disable_mtu_discovery;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(dial.connect_timeout);
  if (ms.count() > 0) s.handshake_timeout_ms = static_cast<uint64_t>(ms.count());
  auto tls = quic_client_tls(o.tls, o.endpoint.server, hysteria1::kDefaultAlpn, why);
  if (!tls) return tls.error();
  s.tls = std::move(*tls);
  return s;
}

Result<std::unique_ptr<Session>> make_hysteria1_session(Engine& e, const OutboundOptions& o,
                                                        std::string* why) {
  auto ho = hysteria1_session_options(std::get<HysteriaOutboundOptions>(o.options), o.dial, why);
  if (!ho) return ho.error();
  auto s = Hysteria1Session::create(e, o.tag, *ho, why);
  if (!s) return s.error();
  return std::unique_ptr<Session>(std::move(*s));
}

// ---------------------------------------------------------------------------
// Hysteria1Session
// ---------------------------------------------------------------------------

Hysteria1Session::Hysteria1Session(Engine& e, std::string tag, const Hysteria1SessionOptions& o,
                                   std::shared_ptr<quic::QuicTlsContext> tls)
    : QuicSharedSession(e, std::move(tag),
                        "hysteria server " + o.server + ":" +
                            (o.server_ports.empty() ? std::to_string(o.server_port)
                                                    : quic::format_port_ranges(o.server_ports)) +
                            ": ",
                        o.server, o.server_port, o.handshake_timeout_ms, std::move(tls)),
      opts_(o) {}

Result<std::unique_ptr<Hysteria1Session>> Hysteria1Session::create(Engine& e, std::string tag,
                                                                   const Hysteria1SessionOptions& o,
                                                                   std::string* why) {
  auto bad = [&](const char* w) -> Result<std::unique_ptr<Hysteria1Session>> {
    if (why) *why = w;
    return Errc::config_invalid;
  };
  if (o.server.empty() || (o.server_port == 0 && o.server_ports.empty()))
    return bad("hysteria: server and server_port (or server_ports) are required");
  if (o.up_bps < hysteria1::kMinRate || o.down_bps < hysteria1::kMinRate)
    return bad("hysteria: up and down are required, at least 16384 bytes/s (0.131 Mbps)");
  if (o.auth.size() > 0xffff) return bad("hysteria: auth over 65535 bytes");
  if (o.recv_window_conn < 65536 || o.recv_window < 65536)
    return bad("hysteria: recv_window_conn and recv_window must be at least 65536");
  quic::QuicTlsOptions to = o.tls;
  to.server = false;
  if (to.alpn.empty()) to.alpn = {std::string(hysteria1::kDefaultAlpn)};
  if (to.server_name.empty()) to.server_name = o.server;
  std::string w;
  auto ctx = quic::QuicTlsContext::create(to, &w);
  if (!ctx) {
    if (why) *why = "tls: " + w;
    return ctx.error();
  }
  return std::unique_ptr<Hysteria1Session>(new Hysteria1Session(
      e, std::move(tag), o, std::shared_ptr<quic::QuicTlsContext>(std::move(*ctx))));
}

Hysteria1Session::~Hysteria1Session() { fail_flows(Errc::closed); }

Result<std::unique_ptr<QuicSharedSession::StreamOpen>> Hysteria1Session::new_open(
    std::string_view host, uint16_t port) noexcept {
  if (host.empty() || host.size() > hysteria1::kMaxHost || port == 0) return Errc::invalid_argument;
  try {
    // IPv6 literals go without brackets, as the official client sends them.
    std::string_view bare = host;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
      bare = bare.substr(1, bare.size() - 2);
    std::unique_ptr<StreamOpen> o(new Open(*this, std::string(bare), port));
    return o;
  } catch (...) {
    return Errc::no_memory;
  }
}

Result<std::unique_ptr<DatagramFlow>> Hysteria1Session::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  if (!opts_.udp) return Errc::not_supported;
  std::unique_ptr<Flow> f(new (std::nothrow) Flow(this, h));
  if (!f) return Errc::no_memory;
  try {
    flows_.push_back(f.get());
  } catch (...) {
    return Errc::no_memory;
  }
  stats_.udp_flows++;
  if (state() == State::ready && conn_ != nullptr)
    (void)f->start(*conn_);
  else
    connect();
  return std::unique_ptr<DatagramFlow>(f.release());
}

Status Hysteria1Session::configure_dial(quic::QuicDialOptions& d, std::string* why) noexcept {
  quic::ConnectionOptions& co = d.endpoint.connection;
  co.idle_timeout_ms = opts_.idle_timeout_ms;
  co.keep_alive_ms = opts_.keep_alive_ms;
  co.max_datagram_frame_size = hysteria2::kMaxDatagramFrame;
  co.stream_window = opts_.recv_window_conn;
  co.max_stream_window = opts_.recv_window_conn;
  co.conn_window = opts_.recv_window;
  co.max_conn_window = opts_.recv_window;
  co.fixed_udp_payload_size = opts_.disable_mtu_discovery;
  const quic::BrutalOptions bo{opts_.up_bps, false, quic::BrutalVariant::v1};
  co.rate_controller = [bo] {
    return std::unique_ptr<quic::RateController>(new (std::nothrow) quic::Brutal(bo));
  };
  if (!opts_.obfs.empty()) {
    std::shared_ptr<hysteria1::XPlusTransform> x(new (std::nothrow)
                                                     hysteria1::XPlusTransform(opts_.obfs));
    if (!x) {
      *why = "out of memory";
      return Errc::no_memory;
    }
    d.endpoint.transform = std::move(x);
    co.max_tx_udp_payload_size -= hysteria1::XPlus::kSaltLen;
  }
  if (!opts_.server_ports.empty()) {
    d.endpoint.hop.ranges = opts_.server_ports;
    d.endpoint.hop.interval_min_ms = opts_.hop_interval_ms;
    d.endpoint.hop.interval_max_ms = 0;
  }
  return {};
}

void Hysteria1Session::on_connected(quic::QuicDialed& r) noexcept {
  for (auto& es : r.early_streams) quic::ConnectionHandler::on_stream(*conn_, std::move(es));
  auto st = conn_->open_bidi_stream();
  if (!st) {
    hello_failed(st.error(), hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
                 "cannot open the control stream");
    return;
  }
  ctrl_ = std::move(*st);
  ctrl_->set_handler(this);
  const std::span<const uint8_t> auth{reinterpret_cast<const uint8_t*>(opts_.auth.data()),
                                      opts_.auth.size()};
  Status ws =
      write_frame(*ctrl_, engine().pool(), hysteria1::client_hello_size(auth.size()),
                  [&](std::span<uint8_t> out) {
                    return hysteria1::encode_client_hello(opts_.up_bps, opts_.down_bps, auth, out);
                  });
  if (!ws) {
    hello_failed(ws.error(), hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
                 "cannot write the hello");
    return;
  }
  ctrl_->read_start();
  start_handshake_deadline();
}

void Hysteria1Session::hello_failed(Errc e, uint64_t code, std::string_view reason,
                                    const std::string& why) noexcept {
  handshake_failed(e, why, code, reason);
}

void Hysteria1Session::on_handshake_timeout() noexcept {
  hello_failed(Errc::timed_out, hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
               "no ServerHello before the deadline");
}

void Hysteria1Session::on_data(Slice&& d) {
  if (state() != State::handshake) return;  // the control stream stays open, unused
  try {
    hello_.insert(hello_.end(), d.data(), d.data() + d.size());
  } catch (...) {
    hello_failed(Errc::no_memory, hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
                 "out of memory");
    return;
  }
  ParseResult<hysteria1::ServerHello> r;
  try {
    r = hysteria1::parse_server_hello(hello_);
  } catch (...) {
    r = ParseResult<hysteria1::ServerHello>::fail(Errc::no_memory);
  }
  if (r.need_more()) return;
  hello_.clear();
  if (r.failed()) {
    hello_failed(r.error, hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
                 std::string("malformed ServerHello: ") + errc_message(r.error));
    return;
  }
  if (!r.value.ok) {
    stats_.auth_failures++;
    hello_failed(Errc::auth_failed, hysteria1::kCloseAuthError, hysteria1::kReasonAuthError,
                 "authentication refused by the server: " + r.value.message);
    return;
  }
  const uint64_t rate = hysteria1::client_send_rate(r.value, opts_.up_bps);
  if (auto* b = dynamic_cast<quic::Brutal*>(conn_->rate_controller()); b != nullptr)
    b->set_rate(rate);
  stats_.send_bps = rate;
  defrag_.reset();
  handshake_done();
}

void Hysteria1Session::on_eof() {
  if (state() == State::handshake)
    hello_failed(Errc::eof, hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError,
                 "the server closed the control stream before its ServerHello");
}

void Hysteria1Session::on_error(Errc e) {
  // The connection's close reports what happened (auth error, idle...).
  (void)e;
}

void Hysteria1Session::start_flows() noexcept {
  // Flow::start may fail (and so remove) the flow: work on a copy.
  std::vector<Flow*> f;
  try {
    f = flows_;
  } catch (...) {
    return;
  }
  for (Flow* fl : f) {
    if (state() != State::ready || conn_ == nullptr) return;
    if (std::find(flows_.begin(), flows_.end(), fl) == flows_.end()) continue;
    if (!fl->start(*conn_)) return;  // stream limit: on_streams_available
  }
}

void Hysteria1Session::fail_flows(Errc e) noexcept {
  std::vector<Flow*> f;
  f.swap(flows_);
  by_sid_.clear();
  for (Flow* fl : f) fl->fail(e);
}

void Hysteria1Session::on_datagram(quic::Connection&, const uint8_t* data, size_t len) {
  if (state() != State::ready) return;
  auto m = hysteria1::parse_udp_message({data, len});
  if (!m) return;  // malformed: dropped
  auto p = defrag_.feed(hysteria1::defrag_header(m->header), m->data);
  if (!p.complete) return;
  auto it = by_sid_.find(m->header.session_id);
  if (it == by_sid_.end()) return;  // unknown session: dropped
  it->second->receive(m->host, m->port, p.data);
}

void Hysteria1Session::on_streams_available(quic::Connection&) {
  if (state() != State::ready) return;
  start_flows();
  start_waiting();
}

void Hysteria1Session::close_control() noexcept {
  if (ctrl_) {
    ctrl_->set_handler(nullptr);
    close_and_delete(ctrl_.release());
  }
}

void Hysteria1Session::connection_gone(State was, uint64_t app_error, Errc& err,
                                       std::string& why) noexcept {
  close_control();
  if (was == State::handshake && app_error == hysteria1::kCloseAuthError) {
    // The server closed before (or instead of) its ServerHello reached us.
    stats_.auth_failures++;
    err = Errc::auth_failed;
    why = "authentication refused by the server: ";
  }
}

}  // namespace sluice

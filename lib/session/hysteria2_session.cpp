// hysteria2_session.cpp: the hysteria2 outbound: one authenticated QUIC
// connection, TCP streams, UDP flows, reconnect.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/hysteria2_session.hpp"

#include <algorithm>
#include <charconv>
#include <new>

#include "crypto/tls_ech.hpp"
#include "crypto/tls_pem.hpp"
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
constexpr uint64_t kBackoffFirstMs = 500;
constexpr uint64_t kBackoffMaxMs = 16000;
}  // namespace

// ---------------------------------------------------------------------------
// Open: one open_stream
// ---------------------------------------------------------------------------

class Hysteria2Session::Open final : public PendingOpen, private TransportHandler {
 public:
  Open(Hysteria2Session& s, std::string target) noexcept : s_(s), target_(std::move(target)) {}
  ~Open() override {
    // Cancelled (or answered): forget the wait, drop an unfinished stream.
    auto& w = s_.waiting_;
    w.erase(std::remove(w.begin(), w.end(), this), w.end());
    if (stream_) {
      stream_->set_handler(nullptr);
      close_and_delete(stream_.release());
    }
  }

  // start opens the stream and writes the request: false while the server's
  // stream limit holds it back (it stays waiting); an error answers it.
  bool start(quic::Connection& c) noexcept {
    auto st = c.open_bidi_stream();
    if (!st) {
      if (st.error() == Errc::limit_exceeded) return false;
      answer(st.error(), "cannot open a stream on the connection");
      return true;
    }
    stream_ = std::move(*st);
    const size_t pad = hysteria2::random_padding_length(hysteria2::kTcpRequestPadding);
    const size_t n = hysteria2::tcp_request_size(target_, pad);
    auto buf = s_.engine().pool().get(n);
    if (!buf) {
      answer(buf.error(), "out of memory");
      return true;
    }
    auto w = hysteria2::encode_tcp_request(target_, pad, {buf->append(n), n});
    if (!w) {
      answer(w.error(), "bad target address");
      return true;
    }
    stream_->set_handler(this);
    if (Status ws = stream_->write(std::move(*buf)); !ws) {
      answer(ws.error(), "cannot write the request");
      return true;
    }
    stream_->read_start();
    return true;
  }

  // answer removes this open from the Session and tells its handler.
  void answer(Result<std::unique_ptr<Stream>> r, const std::string& why) noexcept {
    OpenHandler* h = handler;
    Hysteria2Session& s = s_;
    std::unique_ptr<PendingOpen> self = s.pending_.finish(this);
    if (!self) return;  // cancelled meanwhile
    if (r) s.stats_.streams++;
    const std::string reason = r ? std::string() : s.prefix_ + why;
    self.reset();  // before calling back: the handler may close the Session
    h->on_open(std::move(r), reason.c_str());
  }

 private:
  void on_data(Slice&& d) override {
    if (!in_.push_back(std::move(d))) {
      answer(Errc::no_memory, "out of memory");
      return;
    }
    auto lin = in_.linearize(std::min(in_.size(), max_response()), s_.engine().pool());
    if (!lin) {
      answer(lin.error(), "out of memory");
      return;
    }
    auto r = hysteria2::parse_tcp_response({*lin, std::min(in_.size(), max_response())});
    if (r.need_more()) return;
    if (r.failed()) {
      answer(Errc::malformed, "malformed TCP response");
      return;
    }
    if (r.value.status != hysteria2::kTcpStatusOk) {
      answer(Errc::connection_refused, "the server could not connect: " + r.value.message);
      return;
    }
    in_.advance(r.consumed);
    stream_->read_stop();
    stream_->set_handler(nullptr);
    if (!in_.empty() && !stream_->unread(std::move(in_))) {
      answer(Errc::no_memory, "out of memory");
      return;
    }
    std::unique_ptr<Stream> out(stream_.release());
    answer(std::move(out), "");
  }
  void on_eof() override { answer(Errc::eof, "the server closed the stream before its response"); }
  void on_error(Errc e) override {
    answer(e, std::string("stream failed before the response: ") +
                  (stream_ ? stream_->failure_reason() : errc_message(e)));
  }
  static constexpr size_t max_response() noexcept {
    return 1 + 8 + hysteria2::kMaxMessage + 8 + hysteria2::kMaxPadding;
  }

  Hysteria2Session& s_;
  std::string target_;  // "host:port"
  std::unique_ptr<quic::QuicStream> stream_;
  Chain in_;  // response bytes so far
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
    if (s_->state_ != State::ready) {
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
  const TlsClientOptions& t = o.tls;
  s.tls.server_name = t.server_name.empty() ? o.endpoint.server : t.server_name;
  s.tls.alpn = t.alpn.empty() ? std::vector<std::string>{"h3"} : t.alpn;
  s.tls.verify_peer = !t.insecure;
  s.tls.ca_pem = t.certificate;
  s.tls.ca_file = t.certificate_path;
  s.tls.spki_pins_b64 = t.certificate_public_key_sha256;
  s.tls.cert_pins_hex = t.certificate_sha256;
  if (t.ech.enabled) {
    auto text = tls::pem_or_path(t.ech.config, t.ech.config_path, why);
    if (!text) return text.error();
    if (text->empty()) {
      if (why) *why = "tls.ech: no config (ECH configs from DNS are not supported)";
      return Errc::config_invalid;
    }
    std::string w;
    auto list = tls::ech_config_list_from_text(*text, &w);
    if (!list) {
      if (why) *why = "tls.ech.config: " + w;
      return Errc::config_invalid;
    }
    s.tls.ech_config_list = std::move(*list);
  }
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

Hysteria2Session::Hysteria2Session(Engine& e, std::string tag, const Hysteria2SessionOptions& o,
                                   std::shared_ptr<quic::QuicTlsContext> tls)
    : Session(e, std::move(tag)),
      opts_(o),
      tls_(std::move(tls)),
      prefix_("hysteria2 server " + o.server + ":" + std::to_string(o.server_port) + ": "),
      backoff_(e),
      auth_deadline_(e) {}

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

Hysteria2Session::~Hysteria2Session() {
  dial_ = nullptr;  // cancelled by close(); never deleted here
  fail_flows(Errc::closed);
}

void Hysteria2Session::fail_flows(Errc e) noexcept {
  while (!flows_.empty()) flows_.begin()->second->fail(e);
}

void Hysteria2Session::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(t.error(), "invalid target address");
    return;
  }
  Open* o = nullptr;
  try {
    o = new Open(*this, hysteria2::address_text(*t));
    waiting_.reserve(waiting_.size() + 1);
  } catch (...) {
    delete o;
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  o->handler = h;
  if (pending_.add(std::unique_ptr<PendingOpen>(o)) == nullptr) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  if (state_ == State::ready && conn_ != nullptr && o->start(*conn_)) return;
  waiting_.push_back(o);
  connect();
}

void Hysteria2Session::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

Result<std::unique_ptr<DatagramFlow>> Hysteria2Session::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  if (!opts_.udp) return Errc::not_supported;
  if (state_ == State::ready && !server_udp_) return Errc::not_supported;
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
  if (state_ != State::ready) connect();
  return std::unique_ptr<DatagramFlow>(f.release());
}

void Hysteria2Session::connect() noexcept {
  if (state_ != State::idle || close_begun() || backoff_.armed()) return;
  const uint64_t now = engine().now_ms();
  if (now < next_attempt_) {
    backoff_.start(next_attempt_ - now, on_backoff, this);
    return;
  }
  quic::QuicDialOptions d;
  d.handshake_timeout_ms = opts_.handshake_timeout_ms;
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
      fail_waiting(s.error(), "bad obfs password");
      return;
    }
    d.endpoint.transform = std::move(*s);
    co.max_tx_udp_payload_size -= quic::Salamander::kSaltLen;
  }
  uint16_t port = opts_.server_port;
  if (!opts_.server_ports.empty()) {
    d.endpoint.hop.ranges = opts_.server_ports;
    d.endpoint.hop.interval_min_ms = opts_.hop_interval_ms;
    d.endpoint.hop.interval_max_ms = opts_.hop_interval_max_ms;
    port = quic::random_port(opts_.server_ports);
  }
  state_ = State::dialing;
  stats_.dials++;
  dial_ = quic::QuicDial::start(engine(), opts_.server, port, tls_, d, this);
}

void Hysteria2Session::on_backoff(void* self) {
  auto* s = static_cast<Hysteria2Session*>(self);
  if (!s->waiting_.empty() || !s->flows_.empty()) s->connect();
}

void Hysteria2Session::on_quic_dial(Result<quic::QuicDialed> r, const char* reason) {
  dial_ = nullptr;
  if (!r) {
    state_ = State::idle;
    stats_.dial_failures++;
    lost(r.error(),
         std::string("cannot connect: ") + (reason && *reason ? reason : errc_message(r.error())));
    return;
  }
  ep_ = std::move(r->endpoint);
  conn_ = r->connection;
  conn_->set_handler(this);
  state_ = State::authenticating;
  auto h = quic::H3Connection::create(*conn_, nullptr);
  if (!h) {
    conn_->close(quic::kH3InternalError, "http/3 setup failed");
    return;
  }
  h3_ = std::move(*h);
  // The server's control and QPACK streams, opened right after the handshake.
  for (auto& es : r->early_streams) on_stream(*conn_, std::move(es));
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
  auth_deadline_.start(opts_.handshake_timeout_ms, on_auth_deadline, this);
}

void Hysteria2Session::on_auth_deadline(void* self) {
  auto* s = static_cast<Hysteria2Session*>(self);
  if (s->state_ != State::authenticating || s->conn_ == nullptr) return;
  s->fail_waiting(Errc::timed_out, "no answer to the authentication request");
  s->conn_->close(kH3GeneralProtocolError, "auth timeout");
}

void Hysteria2Session::on_headers(quic::H3Stream& s) {
  if (&s != auth_ || state_ != State::authenticating) return;
  auth_deadline_.stop();
  const int status = s.status();
  if (status != hysteria2::kStatusAuthOk) {
    stats_.auth_failures++;
    failures_++;
    next_attempt_ =
        engine().now_ms() + std::min(kBackoffMaxMs, kBackoffFirstMs << std::min(failures_ - 1, 5u));
    const std::string why = "authentication refused: HTTP " + std::to_string(status) +
                            " from the server's masquerade (a wrong password, or not a "
                            "Hysteria server)";
    SLUICE_LOG_INFO("%s%s", prefix_.c_str(), why.c_str());
    fail_waiting(Errc::auth_failed, why);
    fail_flows(Errc::auth_failed);
    auth_ = nullptr;
    if (conn_) conn_->close(kH3GeneralProtocolError, "authentication refused");
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
  }
  auth_ = nullptr;
  state_ = State::ready;
  failures_ = 0;
  next_attempt_ = 0;
  stats_.connections++;
  start_waiting();
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
  if (state_ == State::authenticating && conn_ != nullptr) {
    fail_waiting(e == Errc::ok ? Errc::protocol_violation : e,
                 std::string("the authentication request failed: ") + errc_message(e));
    conn_->close(kH3GeneralProtocolError, "auth request failed");
  }
}

void Hysteria2Session::start_waiting() noexcept {
  // Open::start may answer (and so remove) the open: work on a copy.
  std::vector<Open*> w;
  try {
    w = waiting_;
  } catch (...) {
    return;
  }
  for (Open* o : w) {
    if (state_ != State::ready || conn_ == nullptr) return;
    if (std::find(waiting_.begin(), waiting_.end(), o) == waiting_.end()) continue;
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), o), waiting_.end());
    if (!o->start(*conn_)) {
      waiting_.push_back(o);  // the stream limit: wait for on_streams_available
      return;
    }
  }
}

void Hysteria2Session::fail_waiting(Errc e, const std::string& why) noexcept {
  // One at a time: a handler may cancel other opens, which leave waiting_.
  while (!waiting_.empty()) {
    Open* o = waiting_.back();
    waiting_.pop_back();
    o->answer(e, why);
  }
}

void Hysteria2Session::lost(Errc e, const std::string& why) noexcept {
  if (state_ != State::ready) {
    failures_++;
    next_attempt_ =
        engine().now_ms() + std::min(kBackoffMaxMs, kBackoffFirstMs << std::min(failures_ - 1, 5u));
  }
  state_ = State::idle;
  SLUICE_LOG_INFO("%s%s", prefix_.c_str(), why.c_str());
  fail_waiting(e, why);
  fail_flows(e);
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
  if (state_ != State::ready) return;
  auto m = hysteria2::parse_udp_message({data, len});
  if (!m) return;  // malformed: dropped
  auto it = flows_.find(m->header.session_id);
  if (it == flows_.end()) return;  // unknown session: dropped
  it->second->receive(*m, engine().pool());
}

void Hysteria2Session::on_streams_available(quic::Connection& c) {
  (void)c;
  if (state_ == State::ready) start_waiting();
}

void Hysteria2Session::on_closed(quic::Connection& c, Errc e, uint64_t app_error,
                                 const char* reason) {
  (void)c;
  (void)app_error;
  auth_deadline_.stop();
  auth_ = nullptr;
  h3_.reset();
  conn_ = nullptr;
  const bool was_ready = state_ == State::ready;
  std::string why = was_ready ? "connection lost: " : "connection closed before authentication: ";
  why += reason && *reason ? reason : errc_message(e);
  retire_endpoint();
  lost(e == Errc::ok ? Errc::closed : e, why);
  (void)was_ready;
  // Opens that arrive from now on dial again (after the backoff).
  if (!close_begun() && (!waiting_.empty())) connect();
}

void Hysteria2Session::retire_endpoint() noexcept {
  if (!ep_) return;
  // Not from inside the connection's callback: the Endpoint is still
  // delivering it. Close it on the next loop turn.
  retiring_++;
  past_hops_ += ep_->hops();
  quic::Endpoint* ep = ep_.release();
  struct Retire {
    Hysteria2Session* s;
    quic::Endpoint* ep;
  };
  auto* r = new (std::nothrow) Retire{this, ep};
  if (r == nullptr) {  // leave it for the close, which is then immediate
    retiring_--;
    ep_.reset(ep);
    return;
  }
  net::defer(
      engine(),
      [](void* u) {
        auto* r = static_cast<Retire*>(u);
        r->ep->close(
            [](void* v) {
              auto* r = static_cast<Retire*>(v);
              delete r->ep;
              Hysteria2Session* s = r->s;
              delete r;
              s->retiring_--;
              s->maybe_closed();
            },
            r);
      },
      r);
}

void Hysteria2Session::close(CloseCallback cb, void* user) noexcept {
  if (!begin_close()) return;
  close_cb_ = cb;
  close_user_ = user;
  backoff_.stop();
  auth_deadline_.stop();
  const char* why = net::closing_all(engine()) ? "engine stopping" : "outbound closing";
  waiting_.clear();
  pending_.fail_all(Errc::canceled, why);
  fail_flows(Errc::canceled);
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  h3_.reset();
  auth_ = nullptr;
  if (conn_) conn_->set_handler(nullptr);
  conn_ = nullptr;
  state_ = State::idle;
  if (ep_) {
    retiring_++;
    quic::Endpoint* ep = ep_.release();
    struct Retire {
      Hysteria2Session* s;
      quic::Endpoint* ep;
    };
    auto* r = new (std::nothrow) Retire{this, ep};
    if (r == nullptr) {
      delete ep;  // no memory even for this: the Endpoint's destructor releases what it can
      retiring_--;
    } else {
      ep->close(
          [](void* v) {
            auto* r = static_cast<Retire*>(v);
            delete r->ep;
            Hysteria2Session* s = r->s;
            delete r;
            s->retiring_--;
            s->maybe_closed();
          },
          r);
    }
  }
  maybe_closed();
}

void Hysteria2Session::maybe_closed() noexcept {
  if (!close_begun() || retiring_ > 0 || dial_ != nullptr) return;
  if (close_done_) return;
  close_done_ = true;
  detach_from_engine();
  if (close_cb_) net::defer(engine(), close_cb_, close_user_);
}

}  // namespace sluice

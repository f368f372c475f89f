// session/tuic_session.cpp: the TUIC v5 client.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/tuic_session.hpp"

#include <algorithm>
#include <new>

#include "net/closer.hpp"
#include "net/engine_internal.hpp"
#include "net/resolve.hpp"
#include "quic/quic_stream.hpp"
#include "sluice/log.hpp"
#include "transport/forwarding_transport.hpp"

namespace sluice {

using tuic::Command;

// Fate is what became of one connection, shared with its streams so that a
// stream failing with its connection can say why (the server's close
// reason), even after the Session moved on or closed.
struct TuicSession::Fate {
  quic::Connection* conn = nullptr;  // null once the connection is gone
  bool ended = false;
  Errc error = Errc::ok;
  std::string reason;

  // classify turns a connection end into the error its flows report.
  static void classify(Errc local, const std::string& peer_reason, Errc* e, std::string* why) {
    if (peer_reason.find("authentication failed") != std::string::npos ||
        peer_reason.find("authentication timed out") != std::string::npos) {
      *e = Errc::auth_failed;
      *why = "TUIC server refused the authentication: " + peer_reason;
      return;
    }
    *e = local == Errc::ok ? Errc::connection_reset : local;
    *why = "connection to the TUIC server lost: " +
           (peer_reason.empty() ? std::string(errc_message(*e)) : peer_reason);
  }
};

namespace {

void delete_endpoint(void* u) { delete static_cast<quic::Endpoint*>(u); }

// TuicStream is a Connect stream: the QUIC stream itself, with failures of
// its connection reported as the connection's fate.
class TuicStream final : public ForwardingTransport {
 public:
  TuicStream(std::unique_ptr<Transport> s, std::shared_ptr<TuicSession::Fate> fate) noexcept
      : ForwardingTransport(std::move(s)), fate_(std::move(fate)) {}

 private:
  void on_error(Errc e) override {
    if (fate_->ended) {
      fail(fate_->error, fate_->reason);
      return;
    }
    if (fate_->conn != nullptr && fate_->conn->closed()) {
      Errc err;
      std::string why;
      TuicSession::Fate::classify(e, fate_->conn->close_reason(), &err, &why);
      fail(err, std::move(why));
      return;
    }
    fail(e);  // this stream alone was reset
  }
  void on_closing() noexcept override { fate_.reset(); }

  std::shared_ptr<TuicSession::Fate> fate_;
};

}  // namespace

// Flow is one UDP association (open_datagram).
class TuicSession::Flow final : public DatagramFlow {
 public:
  Flow(Engine& e, TuicSession* s, DatagramHandler* h, uint16_t id) noexcept
      : engine_(e), s_(s), h_(h), id_(id) {}
  ~Flow() override {
    // Deleted without close(): the session must not keep a dangling pointer.
    if (s_ != nullptr && !closed_) s_->flow_closed(this);
  }

  Status send(const Endpoint& to, Slice&& payload) noexcept override {
    if (s_ == nullptr || failed_) return Errc::closed;
    if (to.host != last_to_host_ || to.port != last_to_.port()) {
      auto t = TargetAddress::from_host(to.host, to.port);
      if (!t) {
        st_.dropped++;
        return {};
      }
      last_to_ = *t;
      last_to_host_ = to.host;
    }
    Status r = s_->flow_send(this, last_to_, payload);
    if (r)
      st_.sent++;
    else
      st_.dropped++;
    return {};
  }
  void close(CloseCallback cb, void* user) noexcept override {
    if (closed_) return;
    closed_ = true;
    if (s_) s_->flow_closed(this);
    s_ = nullptr;
    if (cb) net::defer(engine_, cb, user);
  }
  DatagramFlowStats stats() const noexcept override { return st_; }

  uint16_t id() const noexcept { return id_; }
  void deliver(const TargetAddress& from, Slice&& p) {
    if (failed_ || closed_) return;
    st_.received++;
    if (!(from == from_) || from_ep_.port == 0) {
      from_ = from;
      from_ep_.host = from.host();
      from_ep_.port = from.port();
    }
    h_->on_datagram(from_ep_, std::move(p));
  }
  void fail(Errc e) {
    if (failed_ || closed_) return;
    failed_ = true;
    h_->on_error(e);
  }
  void detach() noexcept { s_ = nullptr; }
  bool failed() const noexcept { return failed_; }

 private:
  Engine& engine_;
  TuicSession* s_;
  DatagramHandler* h_;
  uint16_t id_;
  bool failed_ = false;
  bool closed_ = false;
  DatagramFlowStats st_;
  // Caches: the last destination parsed, the last source formatted.
  TargetAddress last_to_;
  std::string last_to_host_;
  TargetAddress from_;
  Endpoint from_ep_;
};

TuicSession::TuicSession(Engine& e, std::string tag, const TuicSessionOptions& o,
                         std::shared_ptr<quic::QuicTlsContext> ctx)
    : Session(e, std::move(tag)),
      opts_(o),
      ctx_(std::move(ctx)),
      backoff_timer_(e),
      heartbeat_timer_(e) {}

TuicSession::~TuicSession() {
  if (dial_) dial_->cancel();
  while (readers_) drop_reader(readers_);
  outbox_.close_all();
  for (auto& [id, f] : flows_) f->detach();
}

Result<std::unique_ptr<TuicSession>> TuicSession::create(Engine& e, std::string tag,
                                                         const TuicSessionOptions& o,
                                                         std::string* why) {
  if (o.server.empty() || o.server_port == 0) {
    if (why) *why = "server and server_port are required";
    return Errc::config_invalid;
  }
  quic::QuicTlsOptions t = o.tls;
  t.server = false;
  t.enable_early_data = o.zero_rtt;
  if (t.alpn.empty()) {
    if (why) *why = "tls.alpn: TUIC over QUIC needs an ALPN (usually \"h3\")";
    return Errc::config_invalid;
  }
  if (t.server_name.empty()) t.server_name = o.server;
  std::string err;
  auto ctx = quic::QuicTlsContext::create(t, &err);
  if (!ctx) {
    if (why) *why = "tls: " + err;
    return ctx.error();
  }
  std::unique_ptr<TuicSession> s(new (std::nothrow) TuicSession(
      e, std::move(tag), o, std::shared_ptr<quic::QuicTlsContext>(std::move(*ctx))));
  if (!s) return Errc::no_memory;
  return s;
}

// --- connecting ---------------------------------------------------------------

void TuicSession::ensure_connecting() noexcept {
  if (close_begun() || conn_ != nullptr || dial_ != nullptr || backoff_timer_.armed() ||
      resolving_ || handshaking_ != nullptr)
    return;
  const uint64_t now = engine().now_ms();
  if (now < next_dial_ms_) {
    backoff_timer_.start(next_dial_ms_ - now, &TuicSession::on_backoff, this);
    return;
  }
  start_dial();
}

void TuicSession::on_backoff(void* self) { static_cast<TuicSession*>(self)->start_dial(); }

void TuicSession::start_dial() noexcept {
  if (close_begun() || conn_ != nullptr || dial_ != nullptr || resolving_ ||
      handshaking_ != nullptr)
    return;
  if (opts_.zero_rtt) {
    start_direct();
    return;
  }
  quic::QuicDialOptions o;
  o.endpoint = tuic::endpoint_options(opts_.congestion_control, opts_.idle_timeout_ms);
  o.endpoint.bind_host.clear();  // the server address's family
  o.handshake_timeout_ms = opts_.connect_timeout_ms;
  stats_.dials++;
  // A dial may answer before start() returns (then it returns nullptr).
  dialing_ = true;
  quic::QuicDial* d =
      quic::QuicDial::start(engine(), opts_.server, opts_.server_port, ctx_, o, this);
  if (dialing_) dial_ = d;
}

void TuicSession::on_quic_dial(Result<quic::QuicDialed> r, const char* reason) {
  dialing_ = false;
  dial_ = nullptr;
  if (!r) {
    dial_failed(r.error(), reason && *reason ? reason : errc_message(r.error()));
    return;
  }
  endpoint_ = std::move(r->endpoint);
  quic::Connection* c = r->connection;
  c->set_handler(this);
  fate_ = std::make_shared<Fate>();
  fate_->conn = c;
  connected(c);
}

void TuicSession::connected(quic::Connection* c) noexcept {
  conn_ = c;
  if (!authenticate()) {
    conn_ = nullptr;
    c->close(0, "tuic: client could not authenticate");
    dial_failed(Errc::crypto_failure, "TLS exporter unavailable for the TUIC token");
    return;
  }
  failures_ = 0;
  next_dial_ms_ = 0;
  stats_.connections++;
  SLUICE_LOG_DEBUG("tuic %s: connected to %s:%u (alpn %s)", tag().c_str(), opts_.server.c_str(),
                   opts_.server_port, c->alpn().c_str());
  if (opts_.heartbeat_ms > 0)
    heartbeat_timer_.start(opts_.heartbeat_ms, &TuicSession::on_heartbeat, this);
  drain_pending();
  std::vector<QueuedDatagram> q = std::move(queued_);
  queued_.clear();
  for (QueuedDatagram& d : q) {
    if (conn_ == nullptr) break;
    if (!flow_send(d.flow, d.to, d.payload)) stats_.udp_dropped++;
  }
}

bool TuicSession::authenticate() noexcept {
  tuic::Token token{};
  Status st = quic::export_keying_material(
      conn_->ssl(), token, {reinterpret_cast<const char*>(opts_.uuid.data()), opts_.uuid.size()},
      {reinterpret_cast<const uint8_t*>(opts_.password.data()), opts_.password.size()});
  if (!st) return false;
  auto b = engine().pool().get(tuic::kAuthenticateSize);
  if (!b) return false;
  tuic::encode_authenticate(opts_.uuid, token, b->append(tuic::kAuthenticateSize));
  Chain ch;
  if (!ch.push_back(std::move(*b))) return false;
  return static_cast<bool>(outbox_.send(*conn_, std::move(ch)));
}

// --- 0-RTT: resolve, connect on an Endpoint of our own, streams before the
// handshake completes, Authenticate once it has ---------------------------------

void TuicSession::start_direct() noexcept {
  stats_.dials++;
  resolving_ = true;
  const int rc = resolution_.start(engine().loop(), opts_.server, opts_.server_port, SOCK_DGRAM,
                                   &TuicSession::on_resolved, this);
  if (rc != 0) {
    resolving_ = false;
    dial_failed(Errc::dns_failure, std::string("resolve: ") + uv_strerror(rc));
  }
}

void TuicSession::on_resolved(void* user, int status, std::vector<sockaddr_storage>&& addrs) {
  auto* s = static_cast<TuicSession*>(user);
  s->resolving_ = false;
  if (s->close_begun()) {
    s->finish_close();
    return;
  }
  if (status != 0 || addrs.empty()) {
    s->dial_failed(Errc::dns_failure,
                   std::string("resolve: ") + (status != 0 ? uv_strerror(status) : "no address"));
    return;
  }
  s->connect_direct(addrs.front());
}

void TuicSession::connect_direct(const sockaddr_storage& to) noexcept {
  char ip[INET6_ADDRSTRLEN] = "";
  if (to.ss_family == AF_INET6)
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&to), ip, sizeof ip);
  else
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&to), ip, sizeof ip);
  quic::EndpointOptions eo =
      tuic::endpoint_options(opts_.congestion_control, opts_.idle_timeout_ms);
  eo.bind_host = to.ss_family == AF_INET6 ? "::" : "0.0.0.0";
  eo.connection.handshake_timeout_ms = opts_.connect_timeout_ms;
  auto ep = quic::Endpoint::create(engine(), eo, ctx_, nullptr);
  if (!ep) {
    dial_failed(ep.error(), "cannot open a UDP socket");
    return;
  }
  auto c = (*ep)->connect(ip, opts_.server_port, this);
  if (!c) {
    quic::Endpoint* raw = ep->release();
    raw->close(delete_endpoint, raw);
    dial_failed(c.error(), "cannot start the QUIC connection");
    return;
  }
  endpoint_ = std::move(*ep);
  handshaking_ = *c;
  fate_ = std::make_shared<Fate>();
  fate_->conn = *c;
  if ((*c)->early_data_attempted()) {
    // A ticket allows 0-RTT: Connect streams go now, in early data; the
    // server holds them until the Authenticate that follows the handshake.
    stats_.zero_rtt_attempted++;
    conn_ = *c;
    drain_pending();
  }
}

void TuicSession::on_handshake_done(quic::Connection& c) {
  if (&c != handshaking_) return;
  handshaking_ = nullptr;
  if (c.early_data_accepted()) stats_.zero_rtt_accepted++;
  if (c.session_resumed()) stats_.resumed++;
  connected(&c);
}

void TuicSession::dial_failed(Errc e, const std::string& why) noexcept {
  failures_++;
  stats_.dial_failures++;
  const uint64_t shift = std::min<uint64_t>(failures_ - 1, 16);
  const uint64_t backoff = std::min(opts_.reconnect_max_ms, opts_.reconnect_min_ms << shift);
  next_dial_ms_ = engine().now_ms() + backoff;
  last_error_ =
      "TUIC server " + opts_.server + ":" + std::to_string(opts_.server_port) + ": " + why;
  SLUICE_LOG_INFO("tuic %s: %s (next attempt in %llu ms)", tag().c_str(), last_error_.c_str(),
                  static_cast<unsigned long long>(backoff));
  fail_pending(e, last_error_.c_str());
  queued_.clear();
  for (auto& [id, f] : flows_) f->fail(e);
}

void TuicSession::fail_pending(Errc e, const char* why) noexcept {
  std::deque<PendingOpen> p = std::move(pending_);
  pending_.clear();
  release_pending();
  for (PendingOpen& o : p) o.h->on_open(e, why);
}

// --- streams ------------------------------------------------------------------

void TuicSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  if (!opts_.tcp) {
    h->on_open(Errc::not_supported, "tuic outbound: network tcp is disabled");
    return;
  }
  auto t = TargetAddress::from_host(host, port);
  if (!t) {
    h->on_open(Errc::invalid_argument, "bad target address");
    return;
  }
  if (live() && pending_.empty()) {
    open_now(h, *t);
    return;
  }
  if (pending_.size() >= opts_.max_pending_opens) {
    h->on_open(Errc::limit_exceeded, "too many opens waiting for the TUIC connection");
    return;
  }
  pending_.push_back({h, *t});
  pending_peak_ = std::max(pending_peak_, pending_.size());
  ensure_connecting();
}

void TuicSession::cancel_open(OpenHandler* h) noexcept {
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [h](const PendingOpen& o) { return o.h == h; }),
                 pending_.end());
  release_pending();
}

void TuicSession::release_pending() noexcept {
  // A PendingOpen holds a whole TargetAddress (~270 bytes): 4,096 opens that
  // waited for streams leave a 1 MiB block map behind.
  if (pending_.empty() && pending_peak_ > kKeptPending) {
    std::deque<PendingOpen>().swap(pending_);
    pending_peak_ = 0;
  }
}

void TuicSession::open_now(OpenHandler* h, const TargetAddress& t) noexcept {
  auto s = conn_->open_bidi_stream();
  if (!s) {
    if (s.error() == Errc::limit_exceeded) {
      // The server's stream limit: wait for MAX_STREAMS (on_streams_available).
      pending_.push_front({h, t});
      return;
    }
    h->on_open(s.error(), "cannot open a QUIC stream");
    return;
  }
  const size_t n = tuic::connect_size(t);
  auto b = engine().pool().get(n);
  Status st = b ? Status{} : Status(b.error());
  if (st) {
    tuic::encode_connect(t, b->append(n));
    st = (*s)->write(std::move(*b));
  }
  std::unique_ptr<quic::QuicStream> qs = std::move(*s);
  if (!st) {
    quic::QuicStream* raw = qs.release();
    raw->close([](void* u) { delete static_cast<quic::QuicStream*>(u); }, raw);
    h->on_open(st.error(), "cannot write the Connect command");
    return;
  }
  auto* ts = new (std::nothrow) TuicStream(std::move(qs), fate_);
  if (ts == nullptr) {
    h->on_open(Errc::no_memory, "out of memory");
    return;
  }
  stats_.streams++;
  h->on_open(std::unique_ptr<Stream>(ts), "");
}

void TuicSession::drain_pending() noexcept {
  while (conn_ != nullptr && !pending_.empty()) {
    PendingOpen o = std::move(pending_.front());
    pending_.pop_front();
    const size_t before = pending_.size();
    open_now(o.h, o.target);
    if (pending_.size() > before) return;  // stream limit: put back, wait
  }
  release_pending();
}

void TuicSession::on_streams_available(quic::Connection&) { drain_pending(); }

// --- the connection -----------------------------------------------------------

void TuicSession::on_heartbeat(void* self) {
  auto* s = static_cast<TuicSession*>(self);
  if (s->conn_ == nullptr) return;
  uint8_t hb[tuic::kHeartbeatSize];
  tuic::encode_heartbeat(hb);
  if (s->conn_->send_datagram(hb, sizeof hb)) s->stats_.heartbeats++;
  s->heartbeat_timer_.start(s->opts_.heartbeat_ms, &TuicSession::on_heartbeat, s);
}

void TuicSession::on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) {
  if (s->bidi()) {
    // A TUIC server never opens bidirectional streams.
    quic::ConnectionHandler::on_stream(c, std::move(s));
    return;
  }
  auto* r = new (std::nothrow) tuic::UniReader(std::move(s), this, engine().pool());
  if (r == nullptr) return;
  r->next = readers_;
  if (readers_) readers_->prev = r;
  readers_ = r;
  r->start();
}

void TuicSession::drop_reader(tuic::UniReader* r) noexcept {
  if (r->prev) r->prev->next = r->next;
  if (r->next) r->next->prev = r->prev;
  if (readers_ == r) readers_ = r->next;
  r->close_and_delete();
}

void TuicSession::on_uni_command(tuic::UniReader* r, const tuic::ParsedCommand& c,
                                 Slice&& payload) {
  drop_reader(r);
  if (c.command != Command::packet) {
    SLUICE_LOG_DEBUG("tuic %s: ignoring command %u from the server on a uni stream", tag().c_str(),
                     static_cast<unsigned>(c.command));
    return;
  }
  packet(c.packet, std::move(payload));
}

void TuicSession::on_uni_error(tuic::UniReader* r, Errc e) {
  drop_reader(r);
  SLUICE_LOG_DEBUG("tuic %s: bad uni stream from the server: %s", tag().c_str(), errc_message(e));
}

void TuicSession::on_datagram(quic::Connection&, const uint8_t* data, size_t len) {
  auto r = tuic::parse_datagram({data, len});
  if (r.failed()) {
    stats_.udp_dropped++;
    SLUICE_LOG_DEBUG("tuic %s: bad DATAGRAM from the server: %s", tag().c_str(),
                     errc_message(r.error));
    return;
  }
  if (r.value.command == Command::heartbeat) return;  // sing-box servers send them
  auto s = engine().pool().copy_from(data + r.consumed, r.value.packet.size);
  if (!s) {
    stats_.udp_dropped++;
    return;
  }
  packet(r.value.packet, std::move(*s));
}

void TuicSession::packet(const tuic::PacketHeader& h, Slice&& payload) noexcept {
  tuic::Reassembled out;
  auto res = reasm_.add(h, std::move(payload), engine().now_ms(), engine().pool(), &out);
  if (res == tuic::Reassembler::Outcome::dropped) stats_.udp_dropped++;
  if (res != tuic::Reassembler::Outcome::complete) return;
  auto it = flows_.find(out.assoc_id);
  if (it == flows_.end()) {
    stats_.udp_dropped++;  // the association was closed: dropped
    return;
  }
  stats_.udp_received++;
  it->second->deliver(out.address, std::move(out.payload));
}

bool TuicSession::live() noexcept {
  if (conn_ != nullptr && conn_->closed()) {
    // Closing or draining: on_closed comes only after the closing period
    // (three PTOs); new flows must not wait for it.
    Errc err;
    std::string why;
    Fate::classify(Errc::connection_reset, conn_->close_reason(), &err, &why);
    if (fate_) {
      fate_->conn = nullptr;
      fate_->ended = true;
      fate_->error = err;
      fate_->reason = why;
    }
    connection_gone(err, why);
  }
  return conn_ != nullptr;
}

void TuicSession::on_closed(quic::Connection& c, Errc e, uint64_t, const char* reason) {
  if (&c == handshaking_) {
    // The 0-RTT path's handshake failed: a failed dial.
    handshaking_ = nullptr;
    const std::string r = reason && *reason ? reason : errc_message(e);
    if (fate_ && fate_->conn == &c) {
      fate_->conn = nullptr;
      fate_->ended = true;
      fate_->error = e == Errc::ok ? Errc::closed : e;
      fate_->reason = "TUIC server " + opts_.server + ": " + r;
      fate_.reset();
    }
    if (conn_ == &c) conn_ = nullptr;
    release_endpoint();
    dial_failed(e == Errc::ok ? Errc::closed : e, r);
    return;
  }
  Errc err;
  std::string why;
  Fate::classify(e, reason ? reason : "", &err, &why);
  if (fate_ && fate_->conn == &c) {
    fate_->conn = nullptr;
    fate_->ended = true;
    fate_->error = err;
    fate_->reason = why;
  }
  if (conn_ != &c) return;
  connection_gone(err, why);
}

void TuicSession::connection_gone(Errc e, const std::string& why) noexcept {
  conn_ = nullptr;
  handshaking_ = nullptr;
  fate_.reset();
  if (e == Errc::auth_failed)
    stats_.auth_refused++;
  else
    stats_.connections_lost++;
  last_error_ = why;
  if (net::closing_all(engine()))
    SLUICE_LOG_DEBUG("tuic %s: %s", tag().c_str(), why.c_str());  // the Engine is stopping
  else
    SLUICE_LOG_INFO("tuic %s: %s", tag().c_str(), why.c_str());
  heartbeat_timer_.stop();
  while (readers_) drop_reader(readers_);
  outbox_.close_all();
  reasm_ = tuic::Reassembler();
  for (auto& [id, f] : flows_) f->fail(e);
  if (e == Errc::auth_failed) {
    // Retrying at once would be refused again: back off as after a failed dial.
    failures_++;
    const uint64_t shift = std::min<uint64_t>(failures_ - 1, 16);
    next_dial_ms_ =
        engine().now_ms() + std::min(opts_.reconnect_max_ms, opts_.reconnect_min_ms << shift);
    fail_pending(e, why.c_str());
  }
  release_endpoint();
  if (!pending_.empty()) ensure_connecting();
}

void TuicSession::release_endpoint() noexcept {
  // Inside the connection's own callback: the Endpoint is closed on the next
  // loop turn, never from under the connection that is reporting.
  if (!endpoint_) return;
  quic::Endpoint* ep = endpoint_.release();
  net::defer(
      engine(),
      [](void* u) {
        auto* e = static_cast<quic::Endpoint*>(u);
        e->close(delete_endpoint, e);
      },
      ep);
}

// --- UDP ----------------------------------------------------------------------

Result<std::unique_ptr<DatagramFlow>> TuicSession::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  if (!opts_.udp) return Errc::not_supported;
  if (flows_.size() >= 65536) return Errc::limit_exceeded;
  while (flows_.count(next_assoc_)) next_assoc_++;
  const uint16_t id = next_assoc_++;
  auto* f = new (std::nothrow) Flow(engine(), this, h, id);
  if (f == nullptr) return Errc::no_memory;
  flows_.emplace(id, f);
  ensure_connecting();
  return std::unique_ptr<DatagramFlow>(f);
}

Status TuicSession::flow_send(Flow* f, const TargetAddress& to, const Slice& payload) noexcept {
  if (!live()) {
    if (f->failed()) return Errc::closed;  // its connection just ended
    if (queued_.size() >= opts_.max_pending_datagrams) {
      stats_.udp_dropped++;
      return Errc::limit_exceeded;
    }
    queued_.push_back({f, to, payload});
    ensure_connecting();
    return {};
  }
  Status st = sender_.send(*conn_, outbox_, opts_.udp_relay_mode, f->id(), to, payload);
  if (st) {
    stats_.udp_sent++;
    stats_.udp_fragmented = sender_.fragmented();
  } else {
    stats_.udp_dropped++;
  }
  return st;
}

void TuicSession::flow_closed(Flow* f) noexcept {
  flows_.erase(f->id());
  queued_.erase(std::remove_if(queued_.begin(), queued_.end(),
                               [f](const QueuedDatagram& d) { return d.flow == f; }),
                queued_.end());
  reasm_.forget(f->id());
  if (conn_ == nullptr) return;
  auto b = engine().pool().get(tuic::kDissociateSize);
  if (!b) return;
  tuic::encode_dissociate(f->id(), b->append(tuic::kDissociateSize));
  Chain ch;
  if (ch.push_back(std::move(*b))) (void)outbox_.send(*conn_, std::move(ch));
}

// --- close --------------------------------------------------------------------

void TuicSession::close(CloseCallback cb, void* user) noexcept {
  if (!begin_close()) return;
  const char* why = net::closing_all(engine()) ? "engine stopping" : "outbound closing";
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  handshaking_ = nullptr;
  backoff_timer_.stop();
  heartbeat_timer_.stop();
  fail_pending(Errc::canceled, why);
  queued_.clear();
  for (auto& [id, f] : flows_) {
    f->fail(Errc::canceled);
    f->detach();
  }
  flows_.clear();
  while (readers_) drop_reader(readers_);
  outbox_.close_all();
  conn_ = nullptr;
  if (fate_) {
    fate_->conn = nullptr;
    fate_->ended = true;
    fate_->error = Errc::canceled;
    fate_->reason = std::string("tuic outbound closed (") + why + ")";
    fate_.reset();
  }
  close_cb_ = cb;
  close_user_ = user;
  if (resolving_) {
    // The lookup always calls back (on_resolved), which finishes the close.
    resolution_.cancel();
    return;
  }
  finish_close();
}

void TuicSession::finish_close() noexcept {
  if (!endpoint_) {
    detach_from_engine();
    if (close_cb_) net::defer(engine(), close_cb_, close_user_);  // never from inside close()
    return;
  }
  quic::Endpoint* ep = endpoint_.release();
  closing_ep_ = ep;
  ep->close(
      [](void* u) {
        auto* s = static_cast<TuicSession*>(u);
        delete s->closing_ep_;
        s->closing_ep_ = nullptr;
        s->detach_from_engine();
        CloseCallback c = s->close_cb_;
        if (c) c(s->close_user_);
      },
      this);
}

}  // namespace sluice

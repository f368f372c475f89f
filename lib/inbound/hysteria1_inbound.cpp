// inbound/hysteria1_inbound.cpp: the Hysteria v1 server: control-stream
// handshake, request streams on the ServerDriver, UDP sessions over
// DATAGRAM frames.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/hysteria1_inbound.hpp"

#include <new>
#include <unordered_map>

#include "inbound/quic_stream_peeks.hpp"
#include "net/timer.hpp"
#include "proto/hysteria1/hysteria1.hpp"
#include "proto/hysteria1/server.hpp"
#include "proto/hysteria1/udp_message.hpp"
#include "quic/brutal.hpp"
#include "quic/quic_stream.hpp"
#include "session/datagram_relay.hpp"
#include "session/hysteria1_udp.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {
// Chain of a copy of |b| from |pool|; empty on no memory.
Chain chain_of(BufferPool& pool, std::span<const uint8_t> b) noexcept {
  Chain c;
  auto s = pool.copy_from(b.data(), b.size());
  if (s) (void)c.push_back(std::move(*s));
  return c;
}
}  // namespace

// ---------------------------------------------------------------------------
// UdpSession: one UDP request stream and its relay
// ---------------------------------------------------------------------------

class Hysteria1Inbound::UdpSession final : public DatagramRelayOwner, private TransportHandler {
 public:
  class Port final : public DatagramPort {
   public:
    Port(quic::Connection* c, BufferPool& pool, uint32_t sid) noexcept
        : conn_(c), pool_(pool), sid_(sid) {}
    void start(Handler* h) noexcept override { h_ = h; }
    bool deliver(const TargetAddress& from, Slice&& payload) noexcept override {
      if (conn_ == nullptr) return false;
      std::string host;
      try {
        host = from.host();  // IPv6 without brackets
      } catch (...) {
        return false;
      }
      return static_cast<bool>(
          hysteria1::send_udp(*conn_, pool_, sid_, host, from.port(), std::move(payload)));
    }
    void close(CloseCallback cb, void* user) noexcept override {
      h_ = nullptr;
      conn_ = nullptr;
      if (cb) cb(user);
    }
    void take(const TargetAddress& to, std::span<const uint8_t> data) noexcept {
      if (h_ == nullptr) return;
      auto sl = pool_.copy_from(data.data(), data.size());
      if (!sl) return;
      h_->on_port_datagram(FramedDatagram{to, std::move(*sl)});
    }
    void detach() noexcept {
      conn_ = nullptr;
      h_ = nullptr;
    }

   private:
    quic::Connection* conn_;
    BufferPool& pool_;
    uint32_t sid_;
    Handler* h_ = nullptr;
  };

  UdpSession(ServerConn* owner, uint32_t sid, std::unique_ptr<quic::QuicStream> s) noexcept
      : owner_(owner), sid_(sid), stream_(std::move(s)) {}

  // start makes the relay, answers the request with the session id and
  // holds the stream; false without memory (the caller closes).
  bool start(Engine& e, quic::Connection& c, DatagramFlowOpener* opener,
             const DatagramRelayOptions& o) noexcept {
    std::unique_ptr<Port> port(new (std::nothrow) Port(&c, e.pool(), sid_));
    if (!port) return false;
    port_ = port.get();
    relay_.reset(new (std::nothrow) DatagramRelay(e, opener, std::move(port), o, this));
    if (!relay_) return false;
    uint8_t resp[hysteria1::server_response_size(0)];
    (void)hysteria1::encode_server_response(true, sid_, {}, resp);
    Chain out = chain_of(e.pool(), resp);
    if (out.empty() || !stream_->write(std::move(out))) return false;
    stream_->set_handler(this);
    stream_->read_start();
    relay_->start();
    return true;
  }
  void take(const TargetAddress& to, std::span<const uint8_t> data) noexcept {
    if (port_) port_->take(to, data);
  }
  // close ends the session (the owner forgot it already); deletes itself.
  void close() noexcept;

 private:
  void on_datagram_relay_done(const DatagramRelayResult& r) override;
  // The request stream carries nothing more; its end ends the session.
  void on_data(Slice&&) override {}
  void on_eof() override { end(); }
  void on_error(Errc) override { end(); }
  void end() noexcept;

  ServerConn* owner_;
  uint32_t sid_;
  std::unique_ptr<quic::QuicStream> stream_;
  Port* port_ = nullptr;  // owned by relay_
  std::unique_ptr<DatagramRelay> relay_;
};

// ---------------------------------------------------------------------------
// ServerConn: one QUIC connection
// ---------------------------------------------------------------------------

class Hysteria1Inbound::ServerConn final : public QuicServerConn,
                                           public DatagramFlowOpener,
                                           private TransportHandler,
                                           private QuicStreamPeeks::Owner {
 public:
  ServerConn(Hysteria1Inbound& in, QuicConnListener& l, quic::Connection& c) noexcept
      : in_(in),
        listener_(l),
        c_(c),
        control_(in.auths_, in.opts_.up_bps, in.opts_.down_bps),
        timer_(in.engine()),
        requests_(*this) {}
  ~ServerConn() override;

  void start() noexcept override {
    timer_.start(in_.opts_.auth_timeout_ms, &on_control_timeout, this);
  }
  void forget_session(uint32_t sid) noexcept { udp_.erase(sid); }

 private:
  // QuicStreamPeeks::Owner: a request stream is TCP (kind 0) or UDP (1).
  int classify(const uint8_t* b, size_t n) noexcept override;
  void on_peeked(std::unique_ptr<quic::QuicStream> s, int kind) noexcept override;
  enum class State : uint8_t { control, authed, refused, closed };

  // quic::ConnectionHandler
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override;
  void on_datagram(quic::Connection& c, const uint8_t* data, size_t len) override;
  void on_closed(quic::Connection& c, Errc e, uint64_t app_error, const char* reason) override;
  // DatagramFlowOpener
  Result<std::unique_ptr<DatagramFlow>> open_flow(const TargetAddress& target,
                                                  DatagramHandler* h) noexcept override {
    if (in_.closing()) return Errc::closed;
    return in_.router()->open_datagram(in_.tag(), target, h);
  }
  // TransportHandler of the control stream
  void on_data(Slice&& d) override;
  void on_eof() override {}
  void on_error(Errc) override {}
  void on_drained() override {
    if (state_ == State::refused)
      close_conn(hysteria1::kCloseAuthError, hysteria1::kReasonAuthError);
  }

  static void on_control_timeout(void* self) noexcept;
  void close_conn(uint64_t code, std::string_view reason) noexcept {
    if (state_ == State::closed) return;
    state_ = State::closed;
    timer_.stop();
    c_.close(code, reason);
  }
  void accept_request(std::unique_ptr<quic::QuicStream> s) noexcept;
  void start_udp(std::unique_ptr<quic::QuicStream> s) noexcept;

  Hysteria1Inbound& in_;
  QuicConnListener& listener_;
  quic::Connection& c_;
  hysteria1::ControlCore control_;
  net::Timer timer_;
  State state_ = State::control;
  std::unique_ptr<quic::QuicStream> ctrl_;
  std::vector<uint8_t> hello_;  // control bytes until the hello is whole
  std::string user_;
  uint32_t next_sid_ = 0;
  std::unordered_map<uint32_t, UdpSession*> udp_;
  hysteria2::Defragmenter defrag_;  // one per connection, as the official server
  QuicStreamPeeks requests_;        // request streams until their first byte
  // Request streams opened before the control stream was answered.
  std::vector<std::unique_ptr<quic::QuicStream>> early_;
};

void Hysteria1Inbound::UdpSession::end() noexcept {
  if (owner_) owner_->forget_session(sid_);
  close();
}

void Hysteria1Inbound::UdpSession::on_datagram_relay_done(const DatagramRelayResult&) { end(); }

void Hysteria1Inbound::UdpSession::close() noexcept {
  owner_ = nullptr;
  if (port_) port_->detach();
  port_ = nullptr;
  if (stream_) {
    stream_->set_handler(nullptr);
    close_and_delete(stream_.release());  // FIN: the client's session ends too
  }
  if (!relay_) {
    delete this;
    return;
  }
  relay_->close([](void* u) { delete static_cast<UdpSession*>(u); }, this);
}

Hysteria1Inbound::ServerConn::~ServerConn() {
  timer_.stop();
  auto udp = std::move(udp_);
  udp_.clear();
  for (auto& [sid, s] : udp) {
    (void)sid;
    s->close();
  }
  requests_.clear();
  if (ctrl_) {
    ctrl_->set_handler(nullptr);
    close_and_delete(ctrl_.release());
  }
}

void Hysteria1Inbound::ServerConn::on_control_timeout(void* self) noexcept {
  auto* c = static_cast<ServerConn*>(self);
  if (c->state_ != State::control) return;
  c->in_.stats_.protocol_errors++;
  c->close_conn(hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError);
}

int Hysteria1Inbound::ServerConn::classify(const uint8_t* b, size_t n) noexcept {
  (void)n;
  return b[0] == 1 ? 1 : 0;  // the request's udp byte
}

void Hysteria1Inbound::ServerConn::on_stream(quic::Connection& c,
                                             std::unique_ptr<quic::QuicStream> s) {
  if (!s->bidi() || state_ == State::refused || state_ == State::closed) {
    quic::ConnectionHandler::on_stream(c, std::move(s));  // refused
    return;
  }
  if (!ctrl_ && state_ == State::control) {
    ctrl_ = std::move(s);
    ctrl_->set_handler(this);
    ctrl_->read_start();
    return;
  }
  if (state_ == State::control) {
    // The client may open requests before our ServerHello reaches it.
    if (early_.size() < 16) {
      try {
        early_.push_back(std::move(s));
        return;
      } catch (...) {
      }
    }
    if (s) quic::ConnectionHandler::on_stream(c, std::move(s));
    return;
  }
  accept_request(std::move(s));
}

void Hysteria1Inbound::ServerConn::accept_request(std::unique_ptr<quic::QuicStream> s) noexcept {
  requests_.add(std::move(s));
}

void Hysteria1Inbound::ServerConn::on_peeked(std::unique_ptr<quic::QuicStream> s,
                                             int kind) noexcept {
  if (kind == 1 && !in_.opts_.disable_udp) {
    start_udp(std::move(s));
    return;
  }
  // TCP, and UDP with UDP disabled (the core answers "UDP disabled").
  in_.hand_stream(std::unique_ptr<Transport>(s.release()), user_, stream_info());
}

void Hysteria1Inbound::ServerConn::start_udp(std::unique_ptr<quic::QuicStream> s) noexcept {
  // The request (01 00 00 00 00: host and port unused, as the official
  // server) was unread into the stream; the session's handler skips it and
  // anything else the stream carries.
  const uint32_t sid = next_sid_++;
  auto* u = new (std::nothrow) UdpSession(this, sid, std::move(s));
  if (u == nullptr) return;
  try {
    udp_.emplace(sid, u);
  } catch (...) {
    u->close();
    return;
  }
  DatagramRelayOptions o;
  o.idle_timeout_ms = in_.opts_.udp_timeout_ms;
  if (!u->start(in_.engine(), c_, this, o)) {
    udp_.erase(sid);
    u->close();
    return;
  }
  in_.stats_.udp_sessions++;
}

void Hysteria1Inbound::ServerConn::on_data(Slice&& d) {
  if (state_ != State::control) return;  // the control stream stays open, unused
  try {
    hello_.insert(hello_.end(), d.data(), d.data() + d.size());
  } catch (...) {
    close_conn(hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError);
    return;
  }
  auto dec = control_.feed(hello_);
  using D = hysteria1::ControlCore::Decision;
  if (dec.kind == D::need_more) return;
  timer_.stop();
  if (dec.kind == D::close) {
    in_.stats_.protocol_errors++;
    SLUICE_LOG_DEBUG("%s: control stream: %s", in_.log_prefix().c_str(), errc_message(dec.error));
    close_conn(dec.close_code, dec.reason);
    return;
  }
  Chain out = chain_of(in_.engine().pool(), control_.output());
  if (!dec.accepted) {
    in_.stats_.auth_failures++;
    SLUICE_LOG_DEBUG("%s: authentication failed", in_.log_prefix().c_str());
    state_ = State::refused;
    if (out.empty() || !ctrl_->write(std::move(out)) || ctrl_->write_buffered() == 0)
      close_conn(hysteria1::kCloseAuthError, hysteria1::kReasonAuthError);
    return;
  }
  if (out.empty() || !ctrl_->write(std::move(out))) {
    close_conn(hysteria1::kCloseProtocolError, hysteria1::kReasonProtocolError);
    return;
  }
  state_ = State::authed;
  hello_.clear();
  hello_.shrink_to_fit();
  in_.stats_.authenticated++;
  try {
    user_ = in_.opts_.users[dec.user].name;
    in_.stats_.user_connections[user_]++;
  } catch (...) {
  }
  if (auto* b = dynamic_cast<quic::Brutal*>(c_.rate_controller()); b != nullptr)
    b->set_rate(dec.rates.send_bps);
  auto early = std::move(early_);
  early_.clear();
  for (auto& s : early) accept_request(std::move(s));
}

void Hysteria1Inbound::ServerConn::on_datagram(quic::Connection&, const uint8_t* data, size_t len) {
  Hysteria1InboundStats& st = in_.stats_;
  if (state_ != State::authed || in_.opts_.disable_udp || in_.closing()) {
    st.udp_dropped++;
    return;
  }
  auto m = hysteria1::parse_udp_message({data, len});
  if (!m) {
    st.udp_malformed++;
    return;
  }
  auto p = defrag_.feed(hysteria1::defrag_header(m->header), m->data);
  if (!p.complete) return;
  auto it = udp_.find(m->header.session_id);
  if (it == udp_.end()) {
    st.udp_dropped++;
    return;
  }
  auto to = TargetAddress::from_host(m->host, m->port);
  if (!to || m->port == 0) {
    st.udp_malformed++;
    return;
  }
  it->second->take(*to, p.data);
}

void Hysteria1Inbound::ServerConn::on_closed(quic::Connection& c, Errc, uint64_t, const char*) {
  state_ = State::closed;
  c.set_handler(nullptr);
  listener_.forget(&c);  // deletes this
}

// ---------------------------------------------------------------------------
// Hysteria1Inbound
// ---------------------------------------------------------------------------

Hysteria1Inbound::Hysteria1Inbound(Engine& e, const Hysteria1InboundConfig& o,
                                   ServerDriverOptions d, Router* r)
    : ServerDriver(e, std::move(d), r), opts_(o) {
  for (const Hysteria1User& u : o.users) auths_.push_back(u.auth);
}

Hysteria1Inbound::~Hysteria1Inbound() = default;

Result<std::unique_ptr<Hysteria1Inbound>> Hysteria1Inbound::create(Engine& e,
                                                                   const Hysteria1InboundConfig& o,
                                                                   Router* router,
                                                                   std::string* reason) {
  auto fail = [&](Errc err, std::string why) -> Result<std::unique_ptr<Hysteria1Inbound>> {
    if (reason) *reason = std::move(why);
    return err;
  };
  if (!router) return Errc::invalid_argument;
  if (o.users.empty()) return fail(Errc::config_invalid, "hysteria: no users");
  for (const Hysteria1User& u : o.users)
    if (u.auth.size() > 0xffff)
      return fail(Errc::config_invalid, "hysteria: auth over 65535 bytes");
  if ((o.up_bps != 0 && o.up_bps < hysteria1::kMinRate) ||
      (o.down_bps != 0 && o.down_bps < hysteria1::kMinRate))
    return fail(Errc::config_invalid, "hysteria: up/down must be at least 16384 bytes/s");
  if (o.recv_window_conn < 65536 || o.recv_window_client < 65536)
    return fail(Errc::config_invalid, "hysteria: receive windows must be at least 65536 bytes");
  quic::QuicTlsOptions to = o.tls;
  to.server = true;
  if (to.alpn.empty()) to.alpn = {std::string(hysteria1::kDefaultAlpn)};
  std::string why;
  auto tls = quic::QuicTlsContext::create(to, &why);
  if (!tls) return fail(tls.error(), "tls: " + why);

  quic::EndpointOptions eo;
  eo.bind_host = o.listen;
  eo.bind_port = o.port;
  eo.extra_ports = o.extra_ports;
  quic::ConnectionOptions& co = eo.connection;
  co.idle_timeout_ms = o.idle_timeout_ms;
  co.handshake_timeout_ms = o.handshake_timeout_ms;
  co.max_datagram_frame_size = hysteria2::kMaxDatagramFrame;
  co.assume_peer_max_datagram_frame_size = hysteria2::kMaxDatagramFrame;
  co.stream_window = o.recv_window_conn;
  co.max_stream_window = o.recv_window_conn;
  co.conn_window = o.recv_window_client;
  co.max_conn_window = o.recv_window_client;
  co.max_streams_bidi = o.max_conn_client;
  co.fixed_udp_payload_size = o.disable_mtu_discovery;
  if (o.up_bps > 0) {
    const quic::BrutalOptions bo{o.up_bps, false, quic::BrutalVariant::v1};
    co.rate_controller = [bo] {
      return std::unique_ptr<quic::RateController>(new (std::nothrow) quic::Brutal(bo));
    };
  } else {
    co.cc = quic::CongestionControl::bbr;
  }
  if (!o.obfs.empty()) {
    std::shared_ptr<hysteria1::XPlusTransform> x(new (std::nothrow)
                                                     hysteria1::XPlusTransform(o.obfs));
    if (!x) return Errc::no_memory;
    eo.transform = std::move(x);
    co.max_tx_udp_payload_size -= hysteria1::XPlus::kSaltLen;
  }

  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "hysteria";
  d.handshake_timeout_ms = o.handshake_timeout_ms;
  d.deadline_covers_open = true;
  d.relay = o.relay;
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  std::unique_ptr<Hysteria1Inbound> in(new (std::nothrow)
                                           Hysteria1Inbound(e, o, std::move(d), router));
  if (!in) return Errc::no_memory;
  std::unique_ptr<QuicConnListener> l(new (std::nothrow) QuicConnListener(
      *in, hysteria1::kCloseOk, hysteria1::kCloseProtocolError, in.get()));
  if (!l) return Errc::no_memory;
  if (Status st = l->open(e, eo, std::shared_ptr<quic::QuicTlsContext>(std::move(*tls))); !st)
    return fail(st.error(), std::string("cannot listen on ") + o.listen + ":" +
                                std::to_string(o.port) + ": " + errc_message(st.error()));
  in->listener_ = l.get();
  in->add_source(std::move(l));
  return in;
}

Result<Hysteria1InboundConfig> hysteria1_inbound_config(const std::string& tag,
                                                        const ListenOptions& listen,
                                                        const HysteriaInboundOptions& o,
                                                        std::string* why) {
  Hysteria1InboundConfig c;
  c.tag = tag;
  c.listen = listen.listen;
  c.port = listen.listen_port;
  for (const HysteriaUser& u : o.users) c.users.push_back({u.name, u.auth});
  c.limits = {listen.max_connections, listen.max_connections_per_ip};
  c.up_bps = o.up_bps;
  c.down_bps = o.down_bps;
  c.obfs = o.obfs;
  if (o.recv_window_conn != 0) c.recv_window_conn = o.recv_window_conn;
  if (o.recv_window_client != 0) c.recv_window_client = o.recv_window_client;
  if (o.max_conn_client != 0) c.max_conn_client = o.max_conn_client;
  c.disable_mtu_discovery = o.disable_mtu_discovery;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(listen.udp_timeout);
  if (ms.count() > 0) c.udp_timeout_ms = static_cast<uint64_t>(ms.count());
  auto tls = quic_server_tls(o.tls, why);
  if (!tls) return tls.error();
  c.tls = std::move(*tls);
  return c;
}

Result<std::unique_ptr<ServerDriver>> make_hysteria1_inbound(Engine& e, const InboundOptions& in,
                                                             Router* router, std::string* why) {
  auto c = hysteria1_inbound_config(in.tag, in.listen, std::get<HysteriaInboundOptions>(in.options),
                                    why);
  if (!c) return c.error();
  auto r = Hysteria1Inbound::create(e, *c, router, why);
  if (!r) return r.error();
  return std::unique_ptr<ServerDriver>(std::move(*r));
}

quic::Endpoint& Hysteria1Inbound::endpoint() noexcept { return listener_->endpoint(); }

QuicServerConn* Hysteria1Inbound::make_conn(quic::Connection& c, QuicConnListener& l) noexcept {
  return new (std::nothrow) ServerConn(*this, l, c);
}

const Hysteria1InboundStats& Hysteria1Inbound::stats() noexcept {
  stats_.connections = listener_->accepted();
  stats_.obfs_dropped = listener_->endpoint().socket().stats().transform_dropped;
  return stats_;
}

void Hysteria1Inbound::hand_stream(std::unique_ptr<Transport> t, const std::string& user,
                                   const AcceptInfo& info) {
  stats_.tcp_streams++;
  accepting_user_ = &user;
  accept(std::move(t), info);
  accepting_user_ = nullptr;
}

std::unique_ptr<ServerCore> Hysteria1Inbound::make_core(TlsTransport*) {
  try {
    return std::unique_ptr<ServerCore>(new (std::nothrow) hysteria1::ServerCore(
        accepting_user_ ? *accepting_user_ : std::string()));
  } catch (...) {
    return nullptr;
  }
}

void Hysteria1Inbound::on_event(DriverEvent ev, const ServerDecision*, const DatagramRelayResult*) {
  switch (ev) {
    case DriverEvent::opened:
      stats_.tcp_relayed++;
      break;
    case DriverEvent::open_failed:
      stats_.tcp_open_failures++;
      break;
    default:
      break;
  }
}

}  // namespace sluice

// inbound/hysteria2_inbound.cpp: the Hysteria v2 server: HTTP/3
// authentication and masquerade, 0x401 streams on the ServerDriver, UDP
// sessions over DATAGRAM frames.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/hysteria2_inbound.hpp"

#include <charconv>
#include <new>
#include <unordered_map>

#include "inbound/quic_stream_peeks.hpp"
#include "net/timer.hpp"
#include "proto/hysteria2/hysteria2.hpp"
#include "proto/hysteria2/server.hpp"
#include "proto/hysteria2/udp_message.hpp"
#include "quic/brutal.hpp"
#include "quic/cc_hook.hpp"
#include "quic/h3_connection.hpp"
#include "quic/quic_stream.hpp"
#include "quic/salamander.hpp"
#include "session/datagram_relay.hpp"
#include "session/hysteria2_session.hpp"
#include "session/hysteria2_udp.hpp"
#include "sluice/cipher.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {

// Ports an inbound may listen on besides listen_port: each is a socket
// (two descriptors); wide ranges belong to a DNAT rule.
constexpr uint64_t kMaxListenPorts = 1024;

// parse_rate reads hysteria-cc-rx: a decimal uint64; anything else is 0
// (the official server's strconv failure).
uint64_t parse_rate(std::string_view v) noexcept {
  uint64_t r = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
  if (ec != std::errc() || p != v.data() + v.size()) return 0;
  return r;
}

// NullHandler: for exchanges whose answer is complete once submitted (the
// 233 reply): the request's remains are read and dropped.
struct NullHandler final : quic::H3StreamHandler {
  void on_body(quic::H3Stream&, Slice&&) override {}
  void on_close(quic::H3Stream&, Errc) override {}
};
NullHandler g_null_handler;

}  // namespace

// ---------------------------------------------------------------------------
// UdpSession: one session ID of one connection
// ---------------------------------------------------------------------------

class Hysteria2Inbound::UdpSession final : public DatagramRelayOwner {
 public:
  // Port: the client side of the session's DatagramRelay.
  class Port final : public DatagramPort {
   public:
    Port(quic::Connection* c, BufferPool& pool, uint32_t sid) noexcept
        : conn_(c), pool_(pool), sid_(sid) {}
    void start(Handler* h) noexcept override { h_ = h; }
    bool deliver(const TargetAddress& from, Slice&& payload) noexcept override {
      if (conn_ == nullptr) return false;
      std::string addr;
      try {
        addr = hysteria2::address_text(from);
      } catch (...) {
        return false;
      }
      return static_cast<bool>(hysteria2::send_udp(*conn_, pool_, sid_, addr, std::move(payload)));
    }
    void close(CloseCallback cb, void* user) noexcept override {
      h_ = nullptr;
      conn_ = nullptr;
      if (cb) cb(user);
    }
    // take feeds one message; false if it was malformed.
    bool take(const hysteria2::UdpMessage& m) noexcept {
      if (h_ == nullptr) return true;
      hysteria2::Defragmenter::Packet p;
      if (m.header.frag_count > 1) {
        if (!defrag_) defrag_.reset(new (std::nothrow) hysteria2::Defragmenter());
        if (!defrag_) return true;  // no memory: the fragment is lost, as UDP
        p = defrag_->feed(m);
      } else {
        p = {true, m.data};
      }
      if (!p.complete) return true;
      auto addr = hysteria2::parse_address(m.address);
      if (!addr) return false;
      auto sl = pool_.copy_from(p.data.data(), p.data.size());
      if (!sl) return true;
      h_->on_port_datagram(FramedDatagram{*addr, std::move(*sl)});
      return true;
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
    // Allocated at the first fragment: most sessions never fragment.
    std::unique_ptr<hysteria2::Defragmenter> defrag_;
  };

  UdpSession(ServerConn* owner, uint32_t sid) noexcept : owner_(owner), sid_(sid) {}
  // start makes the relay; false without memory.
  bool start(Engine& e, quic::Connection& c, DatagramFlowOpener* opener,
             const DatagramRelayOptions& o) noexcept {
    std::unique_ptr<Port> port(new (std::nothrow) Port(&c, e.pool(), sid_));
    if (!port) return false;
    port_ = port.get();
    relay_.reset(new (std::nothrow) DatagramRelay(e, opener, std::move(port), o, this));
    if (!relay_) return false;
    relay_->start();
    return true;
  }
  bool feed(const hysteria2::UdpMessage& m) noexcept { return port_->take(m); }
  // close ends the session (the owner forgot it already); deletes itself.
  void close() noexcept {
    owner_ = nullptr;
    if (port_) port_->detach();
    if (!relay_) {
      delete this;
      return;
    }
    relay_->close([](void* u) { delete static_cast<UdpSession*>(u); }, this);
  }

 private:
  void on_datagram_relay_done(const DatagramRelayResult& r) override;

  ServerConn* owner_;
  uint32_t sid_;
  Port* port_ = nullptr;  // owned by relay_
  std::unique_ptr<DatagramRelay> relay_;
};

// ---------------------------------------------------------------------------
// ServerConn: one QUIC connection
// ---------------------------------------------------------------------------

class Hysteria2Inbound::ServerConn final : public QuicServerConn,
                                           public quic::H3Handler,
                                           public DatagramFlowOpener,
                                           private QuicStreamPeeks::Owner {
 public:
  ServerConn(Hysteria2Inbound& in, QuicConnListener& l, quic::Connection& c) noexcept
      : in_(in), listener_(l), c_(c), auth_timer_(in.engine()), peeks_(*this) {}
  ~ServerConn() override;

  void forget_session(uint32_t sid) noexcept { udp_.erase(sid); }

 private:
  // QuicStreamPeeks::Owner: a new stream on an authenticated connection is
  // a 0x401 TCP request (kind 1) or HTTP/3 (kind 0).
  int classify(const uint8_t* b, size_t n) noexcept override;
  void on_peeked(std::unique_ptr<quic::QuicStream> s, int kind) noexcept override;
  void handshake_done(quic::Connection& c) override;
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override;
  void on_datagram(quic::Connection& c, const uint8_t* data, size_t len) override;
  void on_closed(quic::Connection& c, Errc e, uint64_t app_error, const char* reason) override;
  void on_request(quic::H3Connection& h, quic::H3Stream& s) override;
  Result<std::unique_ptr<DatagramFlow>> open_flow(const TargetAddress& target,
                                                  DatagramHandler* h) noexcept override {
    if (in_.closing()) return Errc::closed;
    return in_.router()->open_datagram(in_.tag(), target, h);
  }
  void answer_auth(quic::H3Stream& s) noexcept;
  static void on_auth_timeout(void* self) noexcept;

  Hysteria2Inbound& in_;
  QuicConnListener& listener_;
  quic::Connection& c_;
  net::Timer auth_timer_;  // armed while not authenticated (auth_timeout_ms)
  std::unique_ptr<quic::H3Connection> h3_;
  bool authed_ = false;
  std::string user_;
  std::unordered_map<uint32_t, UdpSession*> udp_;
  QuicStreamPeeks peeks_;
  // Streams the client opened before our side of the handshake completed
  // (its 1-RTT data can overtake its Finished): HTTP/3 takes them then.
  std::vector<std::unique_ptr<quic::QuicStream>> early_;
};

void Hysteria2Inbound::UdpSession::on_datagram_relay_done(const DatagramRelayResult& r) {
  (void)r;
  if (owner_) owner_->forget_session(sid_);
  close();
}

Hysteria2Inbound::ServerConn::~ServerConn() {
  auth_timer_.stop();
  for (auto& [sid, s] : udp_) {
    (void)sid;
    s->close();
  }
  udp_.clear();
  peeks_.clear();
}

int Hysteria2Inbound::ServerConn::classify(const uint8_t* b, size_t n) noexcept {
  // The frame type 0x401 is the 2-byte varint 44 01; an HTTP/3 request
  // stream starts with a HEADERS frame (type 0x01), never 0x44.
  if (n < 2 && b[0] == 0x44) return QuicStreamPeeks::kNeedMore;
  return n >= 2 && b[0] == 0x44 && b[1] == 0x01 ? 1 : 0;
}

void Hysteria2Inbound::ServerConn::on_peeked(std::unique_ptr<quic::QuicStream> s,
                                             int kind) noexcept {
  if (kind == 1) {
    in_.hand_stream(std::unique_ptr<Transport>(s.release()), user_, stream_info());
    return;
  }
  if (h3_) {
    h3_->accept_stream(std::move(s));
  } else {
    close_and_delete(s.release());
  }
}

void Hysteria2Inbound::ServerConn::on_auth_timeout(void* self) noexcept {
  auto* s = static_cast<ServerConn*>(self);
  if (s->authed_) return;
  s->in_.stats_.auth_timeouts++;
  SLUICE_LOG_INFO("%s: not authenticated within %llu ms: closing the connection",
                  s->in_.log_prefix().c_str(),
                  static_cast<unsigned long long>(s->in_.opts_.auth_timeout_ms));
  // As an HTTP/3 server ends a connection it no longer wants: no error.
  s->c_.close(quic::kH3NoError, "");
}

void Hysteria2Inbound::ServerConn::handshake_done(quic::Connection& c) {
  auth_timer_.start(in_.opts_.auth_timeout_ms, &on_auth_timeout, this);
  auto h = quic::H3Connection::create(c, this);
  if (!h) {
    SLUICE_LOG_INFO("%s: http/3 setup failed: %s", in_.log_prefix().c_str(),
                    errc_message(h.error()));
    c.close(quic::kH3InternalError, "http/3 setup failed");
    return;
  }
  h3_ = std::move(*h);
  auto early = std::move(early_);
  early_.clear();
  for (auto& s : early) h3_->accept_stream(std::move(s));
}

void Hysteria2Inbound::ServerConn::on_stream(quic::Connection& c,
                                             std::unique_ptr<quic::QuicStream> s) {
  if (!h3_) {
    // Before the handshake completes nobody is authenticated: these are
    // HTTP/3 streams. A bounded few wait; more are refused.
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
  if (!s->bidi() || !authed_) {
    h3_->accept_stream(std::move(s));
    return;
  }
  peeks_.add(std::move(s));
}

void Hysteria2Inbound::ServerConn::on_datagram(quic::Connection& c, const uint8_t* data,
                                               size_t len) {
  Hysteria2InboundStats& st = in_.stats_;
  if (!authed_ || in_.opts_.disable_udp || in_.closing()) {
    st.udp_dropped++;
    return;
  }
  auto m = hysteria2::parse_udp_message({data, len});
  if (!m) {
    st.udp_malformed++;
    return;
  }
  UdpSession* s = nullptr;
  auto it = udp_.find(m->header.session_id);
  if (it != udp_.end()) {
    s = it->second;
  } else {
    if (udp_.size() >= in_.opts_.max_udp_sessions) {
      st.udp_dropped++;
      return;
    }
    s = new (std::nothrow) UdpSession(this, m->header.session_id);
    if (s == nullptr) return;
    DatagramRelayOptions o;
    o.idle_timeout_ms = in_.opts_.udp_timeout_ms;
    try {
      udp_.emplace(m->header.session_id, s);
    } catch (...) {
      s->close();
      return;
    }
    if (!s->start(in_.engine(), c, this, o)) {
      udp_.erase(m->header.session_id);
      s->close();
      return;
    }
    st.udp_sessions++;
    st.users[user_].udp_sessions++;
  }
  if (!s->feed(*m)) st.udp_malformed++;
}

void Hysteria2Inbound::ServerConn::on_request(quic::H3Connection& h, quic::H3Stream& s) {
  (void)h;
  if (s.method() == "POST" && s.authority() == "hysteria" && s.path() == "/auth") {
    if (authed_) {  // a repeated /auth gets 233 again (spec pitfall 17)
      answer_auth(s);
      return;
    }
    const Hysteria2User* u = in_.check_auth(s.field("hysteria-auth"));
    if (u != nullptr) {
      authed_ = true;
      auth_timer_.stop();
      try {
        user_ = u->name;
        in_.stats_.users[user_].connections++;
      } catch (...) {
      }
      in_.stats_.authenticated++;
      // As the official server: Brutal at the client's receive rate, under
      // our own send limit; BBR (in charge since the handshake) when the
      // client does not know its rate or we ignore it.
      uint64_t tx = parse_rate(s.field("hysteria-cc-rx"));
      if (in_.opts_.up_bps > 0 && tx > in_.opts_.up_bps) tx = in_.opts_.up_bps;
      if (auto* b = dynamic_cast<quic::Brutal*>(c_.rate_controller()); b != nullptr && tx > 0) {
        b->set_rate(tx);
        if (quic::cc_hook::take_over(b)) {
          in_.stats_.brutal++;
          in_.stats_.brutal_rate = tx;
        }
      }
      answer_auth(s);
      return;
    }
    in_.stats_.auth_failures++;
    SLUICE_LOG_DEBUG("%s: authentication failed; serving the masquerade", in_.log_prefix().c_str());
  }
  // A live HTTP/3 client (a visitor of the masquerade) gets the deadline
  // anew with each request.
  if (!authed_) auth_timer_.start(in_.opts_.auth_timeout_ms, &on_auth_timeout, this);
  in_.stats_.masquerade++;
  in_.masq_.serve(s, in_.engine());
}

void Hysteria2Inbound::ServerConn::answer_auth(quic::H3Stream& s) noexcept {
  s.set_handler(&g_null_handler);
  try {
    const Hysteria2InboundConfig& o = in_.opts_;
    quic::H3Fields f{
        {"hysteria-udp", o.disable_udp ? "false" : "true"},
        {"hysteria-cc-rx", o.ignore_client_bandwidth ? "auto" : std::to_string(o.down_bps)},
        {"hysteria-padding", hysteria2::padding_string(hysteria2::kAuthResponsePadding)},
    };
    (void)s.respond(hysteria2::kStatusAuthOk, f, false);
  } catch (...) {
    s.reset(quic::kH3InternalError);
  }
}

void Hysteria2Inbound::ServerConn::on_closed(quic::Connection& c, Errc e, uint64_t app_error,
                                             const char* reason) {
  (void)e;
  (void)app_error;
  (void)reason;
  c.set_handler(nullptr);
  auth_timer_.stop();
  h3_.reset();
  listener_.forget(&c);  // deletes this
}

// ---------------------------------------------------------------------------
// Hysteria2Inbound
// ---------------------------------------------------------------------------

Result<Hysteria2InboundConfig> hysteria2_inbound_config(const std::string& tag,
                                                        const ListenOptions& listen,
                                                        const Hysteria2InboundOptions& o,
                                                        std::string* why) {
  Hysteria2InboundConfig c;
  c.tag = tag;
  c.listen = listen.listen;
  c.port = listen.listen_port;
  std::vector<std::pair<uint16_t, uint16_t>> extra;
  SLUICE_TRY(quic::parse_port_ranges(o.listen_ports, "listen_ports", &extra, why));
  uint64_t n = 0;
  for (const auto& [first, last] : extra) n += uint64_t{last} - first + 1;
  if (n > kMaxListenPorts) {
    if (why)
      *why = "listen_ports: " + std::to_string(n) + " ports, at most " +
             std::to_string(kMaxListenPorts) +
             " (a socket each); redirect a larger range to listen_port with a DNAT rule instead";
    return Errc::config_invalid;
  }
  for (const auto& [first, last] : extra) {
    for (uint32_t p = first; p <= last; ++p)
      if (p != listen.listen_port) c.extra_ports.push_back(static_cast<uint16_t>(p));
  }
  c.users = o.users;
  c.limits = {listen.max_connections, listen.max_connections_per_ip};
  c.up_bps = uint64_t{o.up_mbps} * 125000;
  c.down_bps = uint64_t{o.down_mbps} * 125000;
  c.ignore_client_bandwidth = o.ignore_client_bandwidth;
  if (o.obfs.type == "salamander") c.obfs_password = o.obfs.password;
  c.masquerade = o.masquerade;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(listen.udp_timeout);
  if (ms.count() > 0) c.udp_timeout_ms = static_cast<uint64_t>(ms.count());
  auto tls = quic_server_tls(o.tls, why);
  if (!tls) return tls.error();
  c.tls = std::move(*tls);
  return c;
}

Hysteria2Inbound::Hysteria2Inbound(Engine& e, const Hysteria2InboundConfig& o,
                                   ServerDriverOptions d, Router* r)
    : ServerDriver(e, std::move(d), r), opts_(o), masq_(o.masquerade) {}

Hysteria2Inbound::~Hysteria2Inbound() = default;

Result<std::unique_ptr<Hysteria2Inbound>> Hysteria2Inbound::create(Engine& e,
                                                                   const Hysteria2InboundConfig& o,
                                                                   Router* router,
                                                                   std::string* reason) {
  auto fail = [&](Errc err, std::string why) -> Result<std::unique_ptr<Hysteria2Inbound>> {
    if (reason) *reason = std::move(why);
    return err;
  };
  if (!router) return Errc::invalid_argument;
  if (o.users.empty()) return fail(Errc::config_invalid, "hysteria2: no users");
  quic::QuicTlsOptions to = o.tls;
  to.server = true;
  if (to.alpn.empty()) to.alpn = {"h3"};
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
  co.stream_window = 8u << 20;
  co.max_stream_window = 8u << 20;
  co.conn_window = 20u << 20;
  co.max_conn_window = 20u << 20;
  co.max_streams_bidi = 1024;
  // BBR until authentication; then Brutal when the client announced its
  // receive rate (ServerConn::on_request), unless the client's bandwidth is
  // ignored.
  co.cc = quic::CongestionControl::bbr;
  if (!o.ignore_client_bandwidth) {
    // The rate is set at take_over; until then Brutal hears nothing.
    const quic::BrutalOptions bo{o.up_bps > 0 ? o.up_bps : 1, o.disable_loss_compensation};
    co.rate_controller = [bo] {
      return std::unique_ptr<quic::RateController>(new (std::nothrow) quic::Brutal(bo));
    };
    co.rate_controller_deferred = true;
  }
  if (!o.obfs_password.empty()) {
    auto s = quic::Salamander::create(o.obfs_password);
    if (!s)
      return fail(Errc::config_invalid, "obfs: the salamander password must have at least 4 bytes");
    eo.transform = std::move(*s);
    co.max_tx_udp_payload_size -= quic::Salamander::kSaltLen;
  }

  ServerDriverOptions d;
  d.tag = o.tag;
  d.proto = "hysteria2";
  d.handshake_timeout_ms = o.handshake_timeout_ms;
  d.deadline_covers_open = true;
  d.relay = o.relay;
  d.max_connections = o.limits.max_connections;
  d.max_connections_per_ip = o.limits.max_connections_per_ip;
  std::unique_ptr<Hysteria2Inbound> in(new (std::nothrow)
                                           Hysteria2Inbound(e, o, std::move(d), router));
  if (!in) return Errc::no_memory;
  if (Status st = in->masq_.init(&why); !st) return fail(st.error(), why);
  std::unique_ptr<QuicConnListener> l(
      new (std::nothrow) QuicConnListener(*in, quic::kH3NoError, quic::kH3InternalError, in.get()));
  if (!l) return Errc::no_memory;
  if (Status st = l->open(e, eo, std::shared_ptr<quic::QuicTlsContext>(std::move(*tls))); !st)
    return fail(st.error(), std::string("cannot listen on ") + o.listen + ":" +
                                std::to_string(o.port) +
                                (o.extra_ports.empty() ? "" : " and its extra ports") + ": " +
                                errc_message(st.error()));
  in->listener_ = l.get();
  in->add_source(std::move(l));
  return in;
}

// make_hysteria2_inbound: the definition behind the Instance's weak
// declaration (hysteria2_factory.hpp).
Result<std::unique_ptr<ServerDriver>> make_hysteria2_inbound(Engine& e, const InboundOptions& in,
                                                             Router* router, std::string* why) {
  auto c = hysteria2_inbound_config(in.tag, in.listen,
                                    std::get<Hysteria2InboundOptions>(in.options), why);
  if (!c) return c.error();
  auto r = Hysteria2Inbound::create(e, *c, router, why);
  if (!r) return r.error();
  return std::unique_ptr<ServerDriver>(std::move(*r));
}

quic::Endpoint& Hysteria2Inbound::endpoint() noexcept { return listener_->endpoint(); }

QuicServerConn* Hysteria2Inbound::make_conn(quic::Connection& c, QuicConnListener& l) noexcept {
  return new (std::nothrow) ServerConn(*this, l, c);
}

const Hysteria2InboundStats& Hysteria2Inbound::stats() noexcept {
  stats_.connections = listener_->accepted();
  stats_.obfs_dropped = listener_->endpoint().socket().stats().transform_dropped;
  return stats_;
}

const Hysteria2User* Hysteria2Inbound::check_auth(std::string_view auth) const noexcept {
  // Compare with every user in constant time per candidate string, so the
  // answer's timing says nothing about which user (or how much) matched.
  const Hysteria2User* found = nullptr;
  auto eq = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           constant_time_equal({reinterpret_cast<const uint8_t*>(a.data()), a.size()},
                               {reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  };
  for (const Hysteria2User& u : opts_.users) {
    if (eq(auth, u.password)) found = &u;
    // The official `userpass` auth sends "name:password".
    if (!u.name.empty() && auth.size() == u.name.size() + 1 + u.password.size() &&
        auth.substr(0, u.name.size()) == u.name && auth[u.name.size()] == ':' &&
        eq(auth.substr(u.name.size() + 1), u.password))
      found = &u;
  }
  return found;
}

void Hysteria2Inbound::hand_stream(std::unique_ptr<Transport> t, const std::string& user,
                                   const AcceptInfo& info) {
  stats_.tcp_streams++;
  accepting_user_ = &user;
  accept(std::move(t), info);
  accepting_user_ = nullptr;
}

std::unique_ptr<ServerCore> Hysteria2Inbound::make_core(TlsTransport*) {
  try {
    return std::unique_ptr<ServerCore>(new (std::nothrow) hysteria2::ServerCore(
        accepting_user_ ? *accepting_user_ : std::string()));
  } catch (...) {
    return nullptr;
  }
}

void Hysteria2Inbound::on_event(DriverEvent ev, const ServerDecision* d,
                                const DatagramRelayResult* r) {
  (void)r;
  switch (ev) {
    case DriverEvent::opened:
      stats_.tcp_relayed++;
      if (d) {
        try {
          stats_.users[std::string(d->user)].tcp_streams++;
        } catch (...) {
        }
      }
      break;
    case DriverEvent::open_failed:
      stats_.tcp_open_failures++;
      break;
    default:
      break;
  }
}

}  // namespace sluice

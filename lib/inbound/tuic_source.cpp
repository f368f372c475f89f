// inbound/tuic_source.cpp: the TUIC v5 server's connections: authentication,
// held commands, Connect streams to the driver, UDP associations.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/tuic_source.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>

#include "net/timer.hpp"
#include "proto/tuic/reassembly.hpp"
#include "quic/quic_stream.hpp"
#include "session/tuic_packets.hpp"
#include "sluice/cipher.hpp"
#include "sluice/log.hpp"

namespace sluice {

using tuic::Command;
using tuic::ParsedCommand;
using tuic::RelayMode;

namespace {
void delete_flow(void* u) { delete static_cast<DatagramFlow*>(u); }
void delete_stream(void* u) { delete static_cast<quic::QuicStream*>(u); }
}  // namespace

class TuicSource::Conn final : private quic::ConnectionHandler, private tuic::UniReaderOwner {
 public:
  Conn(TuicSource& src, quic::Connection& c, ConnectionAdmission&& admission)
      : src_(src),
        c_(&c),
        admission_(std::move(admission)),
        auth_timer_(src.engine_),
        sweep_timer_(src.engine_) {
    const ngtcp2_path* path = ngtcp2_conn_get_path(c.native());
    const auto* peer = reinterpret_cast<const sockaddr*>(path->remote.addr);
    std::memcpy(&peer_, peer, std::min<size_t>(path->remote.addrlen, sizeof peer_));
    c.set_handler(this);
  }

 private:
  // Assoc is one UDP association (ASSOC_ID) and its flow to the targets.
  struct Assoc final : DatagramHandler {
    Conn* conn = nullptr;
    uint16_t id = 0;
    RelayMode mode = RelayMode::native;
    std::unique_ptr<DatagramFlow> flow;
    uint64_t last_ms = 0;
    bool dead = false;
    // The last target, kept as the flow's Endpoint so a steady flow to one
    // target does not build the host string per packet.
    TargetAddress last_target;
    Endpoint last_to;
    void on_datagram(const Endpoint& from, Slice&& payload) override {
      conn->reply(*this, from, std::move(payload));
    }
    void on_error(Errc) override {
      dead = true;
      conn->arm_sweep(0);
    }
  };
  // Held is a command (or DATAGRAM) that arrived before authentication.
  struct Held {
    bool datagram = false;  // |payload| is a whole DATAGRAM frame
    ParsedCommand cmd;      // a uni-stream command
    Slice payload;
  };

  const char* prefix() const noexcept { return src_.opts_.log_prefix.c_str(); }
  BufferPool& pool() noexcept { return src_.engine_.pool(); }

  // --- ConnectionHandler ---
  void on_handshake_done(quic::Connection&) override {
    admission_.handshake_done();
    auth_timer_.start(src_.opts_.auth_timeout_ms, &Conn::on_auth_timeout, this);
  }

  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    if (s->bidi()) {
      if (!authed_) {
        // Unread, it holds the client at its flow-control window.
        src_.stats_.held_streams++;
        held_streams_.push_back(std::move(s));
        return;
      }
      to_driver(std::move(s));
      return;
    }
    if (!authed_ && nreaders_ + held_.size() >= kMaxHeldCommands) {
      // Before authentication at most kMaxHeldCommands commands are read and
      // kept; further streams wait unread (flow control holds their senders).
      src_.stats_.held_streams++;
      held_uni_.push_back(std::move(s));
      return;
    }
    start_reader(std::move(s));
  }

  void start_reader(std::unique_ptr<quic::QuicStream> s) {
    auto* r = new (std::nothrow) tuic::UniReader(std::move(s), this, pool());
    if (r == nullptr) return;
    r->next = readers_;
    if (readers_) readers_->prev = r;
    readers_ = r;
    nreaders_++;
    r->start();
  }

  void on_datagram(quic::Connection&, const uint8_t* data, size_t len) override {
    if (!authed_) {
      if (held_.size() >= kMaxHeldCommands) {
        src_.stats_.udp_dropped++;
        return;
      }
      auto s = pool().copy_from(data, len);
      if (!s) return;
      Held h;
      h.datagram = true;
      h.payload = std::move(*s);
      held_.push_back(std::move(h));
      src_.stats_.held_commands++;
      return;
    }
    handle_datagram(data, len);
  }

  void on_closed(quic::Connection&, Errc e, uint64_t app_error, const char* reason) override {
    SLUICE_LOG_DEBUG("%s: connection closed: %s (%llu%s%s)", prefix(), errc_message(e),
                     static_cast<unsigned long long>(app_error), reason && *reason ? ", " : "",
                     reason ? reason : "");
    c_ = nullptr;
    teardown();
    src_.conn_done(this);
    delete this;
  }

  // --- UniReaderOwner ---
  void on_uni_command(tuic::UniReader* r, const ParsedCommand& cmd, Slice&& payload) override {
    drop_reader(r);
    if (!authed_ && cmd.command != Command::authenticate) {
      if (held_.size() >= kMaxHeldCommands) {
        src_.stats_.udp_dropped++;
        return;
      }
      Held h;
      h.cmd = cmd;
      h.payload = std::move(payload);
      held_.push_back(std::move(h));
      src_.stats_.held_commands++;
      return;
    }
    handle_uni(cmd, std::move(payload));
  }

  void on_uni_error(tuic::UniReader* r, Errc e) override {
    drop_reader(r);
    // A stream that ended or was reset early carried nothing usable; a
    // header that cannot parse means the peer does not speak TUIC v5.
    if (e == Errc::truncated || e == Errc::closed || e == Errc::connection_reset) return;
    protocol_error("bad command on a unidirectional stream", e);
  }

  void drop_reader(tuic::UniReader* r) noexcept {
    nreaders_--;
    if (r->prev) r->prev->next = r->next;
    if (r->next) r->next->prev = r->prev;
    if (readers_ == r) readers_ = r->next;
    r->close_and_delete();
  }

  // --- commands ---
  void handle_uni(const ParsedCommand& cmd, Slice&& payload) {
    switch (cmd.command) {
      case Command::authenticate:
        authenticate(cmd);
        return;
      case Command::packet:
        src_.stats_.udp_quic++;
        packet(cmd.packet, std::move(payload), RelayMode::quic);
        return;
      case Command::dissociate:
        dissociate(cmd.assoc_id);
        return;
      case Command::connect:
      case Command::heartbeat:
        protocol_error("Connect or Heartbeat on a unidirectional stream", Errc::protocol_violation);
        return;
    }
  }

  void handle_datagram(const uint8_t* data, size_t len) {
    auto r = tuic::parse_datagram({data, len});
    if (r.failed()) {
      protocol_error("bad DATAGRAM", r.error);
      return;
    }
    if (r.value.command == Command::heartbeat) {
      src_.stats_.heartbeats++;
      return;
    }
    auto s = pool().copy_from(data + r.consumed, r.value.packet.size);
    if (!s) {
      src_.stats_.udp_dropped++;
      return;
    }
    src_.stats_.udp_native++;
    packet(r.value.packet, std::move(*s), RelayMode::native);
  }

  void authenticate(const ParsedCommand& cmd) {
    if (authed_) {
      src_.stats_.auth_failures++;
      close_conn("tuic: second Authenticate");
      return;
    }
    const TuicServerUser* user = nullptr;
    for (const TuicServerUser& u : src_.opts_.users)
      if (u.uuid == cmd.uuid) user = &u;
    if (user == nullptr) {
      src_.stats_.auth_failures++;
      SLUICE_LOG_INFO("%s: authentication failed: unknown uuid", prefix());
      close_conn("tuic: authentication failed: unknown uuid");
      return;
    }
    tuic::Token expect{};
    Status st = quic::export_keying_material(
        c_->ssl(), expect, {reinterpret_cast<const char*>(cmd.uuid.data()), cmd.uuid.size()},
        {reinterpret_cast<const uint8_t*>(user->password.data()), user->password.size()});
    if (!st) {
      src_.stats_.auth_failures++;
      close_conn("tuic: authentication failed: no TLS exporter");
      return;
    }
    if (!constant_time_equal(expect, cmd.token)) {
      src_.stats_.auth_failures++;
      SLUICE_LOG_INFO("%s: authentication failed: user %s: token mismatch", prefix(),
                      user->name.c_str());
      close_conn("tuic: authentication failed: token mismatch");
      return;
    }
    authed_ = true;
    user_ = user;
    auth_timer_.stop();
    src_.stats_.authenticated++;
    SLUICE_LOG_DEBUG("%s: user %s authenticated", prefix(), user->name.c_str());
    resume_held();
  }

  void resume_held() {
    // Streams first (their order among themselves is kept), then commands
    // and DATAGRAMs in arrival order.
    std::vector<std::unique_ptr<quic::QuicStream>> streams = std::move(held_streams_);
    held_streams_.clear();
    for (auto& s : streams) {
      if (c_ == nullptr) return;
      to_driver(std::move(s));
    }
    std::vector<std::unique_ptr<quic::QuicStream>> unis = std::move(held_uni_);
    held_uni_.clear();
    for (auto& s : unis) {
      if (c_ == nullptr) return;
      start_reader(std::move(s));
    }
    std::vector<Held> held = std::move(held_);
    held_.clear();
    for (Held& h : held) {
      if (c_ == nullptr) return;
      if (h.datagram)
        handle_datagram(h.payload.data(), h.payload.size());
      else
        handle_uni(h.cmd, std::move(h.payload));
    }
  }

  void to_driver(std::unique_ptr<quic::QuicStream> s) {
    if (src_.sink_ == nullptr) return;  // closing: dropping resets it
    src_.stats_.streams++;
    AcceptInfo info;
    info.peer = peer_;
    info.in_admitted_connection = true;
    src_.sink_->on_accepted(std::unique_ptr<Transport>(s.release()), info);
  }

  void packet(const tuic::PacketHeader& h, Slice&& payload, RelayMode mode) {
    tuic::Reassembled out;
    const uint64_t now = src_.engine_.now_ms();
    auto res = reasm_.add(h, std::move(payload), now, pool(), &out);
    if (res == tuic::Reassembler::Outcome::dropped) {
      src_.stats_.udp_dropped++;
      return;
    }
    if (res == tuic::Reassembler::Outcome::incomplete) {
      arm_sweep(sweep_interval());
      return;
    }
    src_.stats_.udp_in++;
    Assoc* a = assoc_for(out.assoc_id, out.address);
    if (a == nullptr) {
      src_.stats_.udp_dropped++;
      return;
    }
    a->mode = mode;
    a->last_ms = now;
    if (!(a->last_target == out.address) || a->last_to.port == 0) {
      a->last_target = out.address;
      a->last_to.host = out.address.host();
      a->last_to.port = out.address.port();
    }
    Status st = a->flow->send(a->last_to, std::move(out.payload));
    if (!st) src_.stats_.udp_dropped++;
  }

  Assoc* assoc_for(uint16_t id, const TargetAddress& first_target) {
    auto it = assocs_.find(id);
    if (it != assocs_.end()) return it->second->dead ? nullptr : it->second.get();
    if (assocs_.size() >= src_.opts_.max_udp_associations) {
      SLUICE_LOG_DEBUG("%s: association %u refused: %zu open", prefix(), id, assocs_.size());
      return nullptr;
    }
    auto a = std::make_unique<Assoc>();
    a->conn = this;
    a->id = id;
    auto f = src_.router_->open_datagram(src_.opts_.tag, first_target, a.get());
    if (!f) {
      SLUICE_LOG_DEBUG("%s: association %u: no UDP route: %s", prefix(), id,
                       errc_message(f.error()));
      return nullptr;
    }
    a->flow = std::move(*f);
    src_.stats_.udp_associations++;
    Assoc* raw = a.get();
    assocs_.emplace(id, std::move(a));
    arm_sweep(sweep_interval());
    return raw;
  }

  void reply(Assoc& a, const Endpoint& from, Slice&& payload) {
    if (c_ == nullptr || a.dead) return;
    auto addr = TargetAddress::from_host(from.host, from.port);
    if (!addr) {
      src_.stats_.udp_dropped++;
      return;
    }
    a.last_ms = src_.engine_.now_ms();
    Status st = sender_.send(*c_, outbox_, a.mode, a.id, *addr, payload);
    if (st)
      src_.stats_.udp_out++;
    else
      src_.stats_.udp_dropped++;
  }

  void dissociate(uint16_t id) {
    src_.stats_.dissociations++;
    reasm_.forget(id);
    auto it = assocs_.find(id);
    if (it == assocs_.end()) return;
    close_assoc(std::move(it->second));
    assocs_.erase(it);
  }

  static void close_assoc(std::unique_ptr<Assoc> a) noexcept {
    if (a->flow) {
      DatagramFlow* f = a->flow.release();
      f->close(delete_flow, f);
    }
  }

  uint64_t sweep_interval() const noexcept {
    return std::clamp<uint64_t>(src_.opts_.udp_timeout_ms / 4, 10, 3000);
  }
  void arm_sweep(uint64_t delay) noexcept {
    if (c_ == nullptr) return;
    if (sweep_timer_.armed() && sweep_timer_.due_ms() <= src_.engine_.now_ms() + delay) return;
    sweep_timer_.start(delay, &Conn::on_sweep, this);
  }
  static void on_sweep(void* self) {
    Conn* c = static_cast<Conn*>(self);
    const uint64_t now = c->src_.engine_.now_ms();
    c->reasm_.expire(now);
    for (auto it = c->assocs_.begin(); it != c->assocs_.end();) {
      if (it->second->dead || now - it->second->last_ms >= c->src_.opts_.udp_timeout_ms) {
        SLUICE_LOG_DEBUG("%s: association %u %s", c->prefix(), it->first,
                         it->second->dead ? "failed" : "idle: closed");
        close_assoc(std::move(it->second));
        it = c->assocs_.erase(it);
      } else {
        ++it;
      }
    }
    if (!c->assocs_.empty() || c->reasm_.partial() > 0) c->arm_sweep(c->sweep_interval());
  }

  static void on_auth_timeout(void* self) {
    Conn* c = static_cast<Conn*>(self);
    if (c->authed_ || c->c_ == nullptr) return;
    c->src_.stats_.auth_timeouts++;
    SLUICE_LOG_INFO("%s: no Authenticate within %llu ms", c->prefix(),
                    static_cast<unsigned long long>(c->src_.opts_.auth_timeout_ms));
    c->close_conn("tuic: authentication timed out");
  }

  void protocol_error(const char* what, Errc e) {
    src_.stats_.protocol_errors++;
    SLUICE_LOG_INFO("%s: %s: %s", prefix(), what, errc_message(e));
    close_conn("tuic: protocol error");
  }

  // close_conn closes the connection with application error 0 (every
  // TUIC implementation's code) and |reason| as the phrase.
  void close_conn(const char* reason) {
    if (c_ != nullptr && !c_->closed()) c_->close(0, reason);
  }

  void teardown() noexcept {
    auth_timer_.stop();
    sweep_timer_.stop();
    for (auto& s : held_streams_) {
      quic::QuicStream* raw = s.release();
      raw->close(delete_stream, raw);
    }
    held_streams_.clear();
    for (auto& s : held_uni_) {
      quic::QuicStream* raw = s.release();
      raw->close(delete_stream, raw);
    }
    held_uni_.clear();
    held_.clear();
    while (readers_) drop_reader(readers_);
    outbox_.close_all();
    for (auto& [id, a] : assocs_) close_assoc(std::move(a));
    assocs_.clear();
  }

  TuicSource& src_;
  quic::Connection* c_;  // null after on_closed
  // admission_: the connection's place under the inbound's limits and its
  // pool reservation until the handshake is done (ServerDriver).
  ConnectionAdmission admission_;
  sockaddr_storage peer_{};  // the client's address at accept
  bool authed_ = false;
  const TuicServerUser* user_ = nullptr;
  net::Timer auth_timer_;
  net::Timer sweep_timer_;
  std::vector<std::unique_ptr<quic::QuicStream>> held_streams_;
  std::vector<Held> held_;
  std::vector<std::unique_ptr<quic::QuicStream>> held_uni_;  // unread until auth
  tuic::UniReader* readers_ = nullptr;
  size_t nreaders_ = 0;
  tuic::Reassembler reasm_;
  tuic::PacketSender sender_;
  tuic::UniOutbox outbox_;
  std::unordered_map<uint16_t, std::unique_ptr<Assoc>> assocs_;
};

TuicSource::TuicSource(Engine& e, TuicSourceOptions o, Router* r, Sink* s, ServerDriver* a)
    : engine_(e), opts_(std::move(o)), router_(r), sink_(s), admitter_(a) {}

TuicSource::~TuicSource() = default;

Result<std::unique_ptr<TuicSource>> TuicSource::create(Engine& e, const quic::EndpointOptions& eo,
                                                       std::shared_ptr<quic::QuicTlsContext> tls,
                                                       TuicSourceOptions o, Router* router,
                                                       Sink* sink, ServerDriver* admitter) {
  if (router == nullptr) return Errc::invalid_argument;
  std::unique_ptr<TuicSource> s(new (std::nothrow)
                                    TuicSource(e, std::move(o), router, sink, admitter));
  if (!s) return Errc::no_memory;
  auto ep = quic::Endpoint::create(e, eo, std::move(tls), s.get());
  if (!ep) return ep.error();
  s->endpoint_ = std::move(*ep);
  return s;
}

uint16_t TuicSource::port() const noexcept { return endpoint_ ? endpoint_->port() : 0; }

const char* TuicSource::admit(const sockaddr* from) noexcept {
  if (admitter_ == nullptr) return nullptr;
  return admitter_->admit_connection(from, &pending_);
}

void TuicSource::on_connection(quic::Connection& c) {
  Conn* conn = new (std::nothrow) Conn(*this, c, std::move(pending_));
  if (conn == nullptr) {
    pending_.reset();
    c.close(0, "out of memory");
    return;
  }
  conns_.push_back(conn);
  stats_.connections++;
}

void TuicSource::conn_done(Conn* c) noexcept {
  conns_.erase(std::remove(conns_.begin(), conns_.end(), c), conns_.end());
}

void TuicSource::close(CloseCallback cb, void* user) noexcept {
  sink_ = nullptr;
  endpoint_->close(cb, user);
}

}  // namespace sluice

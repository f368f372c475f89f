// inbound/server_driver.cpp: the one server connection state machine.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "inbound/server_driver.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "core/check.hpp"
#include "inbound/fallback.hpp"
#include "net/engine_internal.hpp"
#include "net/timer.hpp"
#include "sluice/log.hpp"
#include "transport/tls_transport.hpp"

namespace sluice {

class ServerDriver::Conn final : TransportHandler,
                                 TlsHandshakeHandler,
                                 OpenHandler,
                                 net::DialHandler,
                                 DatagramRelayOwner,
                                 DatagramFlowOpener {
 public:
  Conn(ServerDriver* d, std::unique_ptr<Transport> t, const AcceptInfo& info,
       ConnectionLimit::Slot* slot, PoolReservation&& admission)
      : driver_(d),
        engine_(d->engine()),
        t_(std::move(t)),
        info_(info),
        timer_(d->engine()),
        slot_(slot),
        admission_(std::move(admission)) {}
  ~Conn() { delete slot_; }

  void start();
  void close_now() noexcept;

 private:
  enum class State { tls, request, opening, fallback, flushing, datagram, closing };

  const ServerDriverOptions& opts() const noexcept { return driver_->dopts_; }
  const char* prefix() const noexcept { return driver_->prefix_.c_str(); }
  void arm(uint64_t ms) noexcept;
  void begin_request();
  void on_timeout();
  void feed();
  void decide(const ServerDecision& d);
  bool flush_output();
  void flush_and_close();
  void open(const ServerDecision& d);
  void start_datagram(const ServerDecision& d);
  void fallback(const ServerDecision& d);
  void hand_over(std::unique_ptr<Transport> client, std::unique_ptr<Stream> s);
  void part_closed() noexcept;

  // TransportHandler
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void on_drained() override;
  // TlsHandshakeHandler
  void on_handshake(Errc e, const char* reason) override;
  // OpenHandler
  void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) override;
  // net::DialHandler
  void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override;
  // DatagramRelayOwner
  void on_datagram_relay_done(const DatagramRelayResult& r) override;
  // DatagramFlowOpener
  Result<std::unique_ptr<DatagramFlow>> open_flow(const TargetAddress& target,
                                                  DatagramHandler* h) noexcept override {
    return driver_->router_->open_datagram(opts().tag, target, h);
  }

  // kReplyFlushMs bounds the flush of an error reply sent at the deadline.
  static constexpr uint64_t kReplyFlushMs = 2000;

  ServerDriver* driver_;
  Engine& engine_;
  std::unique_ptr<Transport> t_;
  TlsTransport* tls_ = nullptr;  // t_ as TLS, while it is one
  AcceptInfo info_;
  std::unique_ptr<ServerCore> core_;
  ServerDecision decision_;  // the open or datagram decision
  Chain in_;                 // received and not yet consumed (all of it, for the fallback)
  State state_ = State::tls;
  Session* session_ = nullptr;  // while an open is pending
  net::Dial* dial_ = nullptr;   // while the fallback is being dialed
  std::unique_ptr<DatagramRelay> relay_;
  net::Timer timer_;  // the handshake deadline
  // slot_: this connection's place under the inbound's limits (null without
  // limits); a stream Relay takes it over at the hand-over.
  ConnectionLimit::Slot* slot_ = nullptr;
  // admission_: the pool block promised to this connection at accept (with a
  // pool cap), held until its request is decided, so a burst of handshakes
  // is admitted only as far as the cap has room for them.
  PoolReservation admission_;
  bool flush_then_close_ = false;
  bool in_write_ = false;      // flush_output is inside t_->write
  bool write_failed_ = false;  // on_error came during it
  bool closed_ = false;
  int parts_ = 0;  // this close_now and the DatagramRelay still closing
};

void ServerDriver::Conn::arm(uint64_t ms) noexcept {
  timer_.start(
      ms, [](void* u) { static_cast<Conn*>(u)->on_timeout(); }, this);
}

void ServerDriver::Conn::start() {
  arm(opts().handshake_timeout_ms);
  if (opts().tls) {
    auto tl = TlsTransport::server(engine_, std::move(t_), opts().tls);
    if (!tl) {
      driver_->on_event(DriverEvent::tls_failed, nullptr, nullptr);
      SLUICE_LOG_DEBUG("%s: tls: %s", prefix(), errc_message(tl.error()));
      close_now();
      return;
    }
    tls_ = tl->get();
    // One record per read until the header is decided, when asked for.
    if (opts().tls_one_record_reads) tls_->set_one_record_reads(true);
    t_.reset(tl->release());
    t_->set_handler(this);
    tls_->start_handshake(this);
    return;
  }
  t_->set_handler(this);
  begin_request();
}

void ServerDriver::Conn::on_handshake(Errc e, const char* reason) {
  if (e != Errc::ok) {
    driver_->on_event(DriverEvent::tls_failed, nullptr, nullptr);
    SLUICE_LOG_DEBUG("%s: %s", prefix(), reason);
    close_now();
    return;
  }
  begin_request();
}

void ServerDriver::Conn::begin_request() {
  core_ = driver_->make_core(tls_);
  if (!core_) {
    close_now();
    return;
  }
  state_ = State::request;
  if (opts().header_timeout_ms > 0) arm(opts().header_timeout_ms);
  t_->read_start();
}

void ServerDriver::Conn::on_timeout() {
  if (state_ == State::request) {
    decide(core_->expired(in_.size()));
    return;
  }
  if (state_ == State::opening) {
    // The outbound has not answered (e.g. its TLS handshake hangs): the
    // client still gets the protocol's reply for a timeout (SOCKS5 REP 6,
    // HTTP 504), as for any other failed open, not a silent close.
    if (session_) {
      session_->cancel_open(this);
      session_ = nullptr;
    }
    driver_->on_event(DriverEvent::timed_out, &decision_, nullptr);
    SLUICE_LOG_INFO("%s: open %s failed: %s: no answer from the outbound within the deadline",
                    prefix(), decision_.target.to_string().c_str(), errc_message(Errc::timed_out));
    core_->answer(Errc::timed_out, TargetAddress());
    // A client that never reads the reply does not hold the connection:
    // this timer closes it if the flush has not finished by then. (Armed
    // first: flush_and_close may free this Conn.)
    arm(kReplyFlushMs);
    flush_and_close();
    return;
  }
  // The TLS handshake or a fallback dial still pending: there is no one to
  // answer in the protocol.
  auto d = ServerDecision::refuse(ServerDecision::reject, Errc::timed_out, "handshake timed out",
                                  RefusalCause::timeout);
  driver_->on_event(DriverEvent::timed_out, &d, nullptr);
  SLUICE_LOG_DEBUG("%s: handshake timed out", prefix());
  close_now();
}

void ServerDriver::Conn::on_data(Slice&& data) {
  switch (state_) {
    case State::request:
      if (!in_.push_back_compact(std::move(data))) {
        close_now();
        return;
      }
      feed();
      return;
    case State::opening:
    case State::fallback:
      (void)in_.push_back_compact(std::move(data));  // kept for the stream
      return;
    default:
      return;  // flushing a last reply: the client has nothing more to say
  }
}

void ServerDriver::Conn::feed() {
  const size_t n = std::min(in_.size(), core_->max_header());
  auto p = in_.linearize(n, engine_.pool());
  if (!p) {
    close_now();
    return;
  }
  decide(core_->feed({*p, n}));
}

void ServerDriver::Conn::on_eof() {
  // The client ended its side: what it sent goes on (to the target once
  // opened, or to the fallback); inside the header the core decides.
  if (state_ == State::opening || state_ == State::fallback || state_ == State::flushing) return;
  if (state_ == State::request) {
    decide(core_->eof(in_.size()));
    return;
  }
  close_now();
}

void ServerDriver::Conn::on_error(Errc) {
  // From inside flush_output's write (a transport fails a write at once):
  // flush_output closes once the write returned, or this Conn would be
  // freed under it.
  if (in_write_) {
    write_failed_ = true;
    return;
  }
  close_now();
}

void ServerDriver::Conn::on_drained() {
  if (flush_then_close_) close_now();
}

bool ServerDriver::Conn::flush_output() {
  if (!core_) return true;
  auto out = core_->output();
  if (out.empty()) return true;
  auto s = engine_.pool().copy_from(out.data(), out.size());
  core_->clear_output();
  in_write_ = true;
  const bool written = s && t_->write(std::move(*s));
  in_write_ = false;
  if (!written || write_failed_) {
    close_now();
    return false;
  }
  return true;
}

void ServerDriver::Conn::flush_and_close() {
  if (!flush_output()) return;
  state_ = State::flushing;
  if (t_->write_buffered() == 0)
    close_now();
  else
    flush_then_close_ = true;
}

void ServerDriver::Conn::decide(const ServerDecision& d) {
  switch (d.kind) {
    case ServerDecision::need_more:
      if (!flush_output()) return;  // e.g. the SOCKS5 method choice
      return;
    case ServerDecision::open:
      if (!flush_output()) return;
      open(d);
      return;
    case ServerDecision::datagram:
      if (!flush_output()) return;
      start_datagram(d);
      return;
    case ServerDecision::fallback:
      driver_->on_event(DriverEvent::refused, &d, nullptr);
      fallback(d);
      return;
    case ServerDecision::reject:
      driver_->on_event(DriverEvent::refused, &d, nullptr);
      if (d.user.empty())
        SLUICE_LOG_DEBUG("%s: %s: %s", prefix(), d.reason, errc_message(d.error));
      else
        SLUICE_LOG_DEBUG("%s: user %.*s: %s: %s", prefix(), static_cast<int>(d.user.size()),
                         d.user.data(), d.reason, errc_message(d.error));
      flush_and_close();
      return;
  }
}

// --- open -------------------------------------------------------------------

void ServerDriver::Conn::open(const ServerDecision& d) {
  decision_ = d;
  in_.advance(d.consumed);
  state_ = State::opening;
  if (!opts().deadline_covers_open) timer_.stop();
  // Bytes the client sends meanwhile stay in |in_| and go to the stream
  // first; stop reading until it exists.
  t_->read_stop();
  driver_->router_->open_stream(opts().tag, d.target, this, &session_);
}

void ServerDriver::Conn::on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) {
  session_ = nullptr;
  if (!stream) {
    driver_->on_event(DriverEvent::open_failed, &decision_, nullptr);
    SLUICE_LOG_INFO("%s: open %s failed: %s%s%s", prefix(), decision_.target.to_string().c_str(),
                    errc_message(stream.error()), *reason ? ": " : "", reason);
    core_->answer(stream.error(), TargetAddress());
    flush_and_close();
    return;
  }
  std::unique_ptr<Stream> s = std::move(*stream);
  core_->answer(Errc::ok, TargetAddress());
  if (!flush_output()) {
    close_and_delete(s.release());
    return;
  }
  const std::string_view prefix_bytes = core_->target_prefix();
  if (!prefix_bytes.empty()) {
    auto h = engine_.pool().copy_from(prefix_bytes.data(), prefix_bytes.size());
    if (!h || !s->write(std::move(*h))) {
      close_and_delete(s.release());
      close_now();
      return;
    }
  }
  t_->set_handler(nullptr);
  TlsTransport* tls = tls_;
  tls_ = nullptr;
  auto client = driver_->wrap_client(std::move(t_), tls, *core_, decision_, &in_);
  if (!client) {
    close_and_delete(s.release());
    close_now();
    return;
  }
  if (!write_pending(s, &in_)) {
    close_and_delete(client->release());
    close_now();
    return;
  }
  driver_->on_event(DriverEvent::opened, &decision_, nullptr);
  hand_over(std::move(*client), std::move(s));
}

void ServerDriver::Conn::hand_over(std::unique_ptr<Transport> client, std::unique_ptr<Stream> s) {
  admission_.reset();
  client->set_handler(nullptr);
  // The relay ends the connection now, so it gives its place back.
  ConnectionLimit::Slot* slot = slot_;
  slot_ = nullptr;
  if (Relay::start(engine_, std::move(client), std::move(s), opts().relay, slot) == nullptr)
    delete slot;
  close_now();  // frees this Conn; the client transport is the Relay's now
}

// --- fallback ---------------------------------------------------------------

void ServerDriver::Conn::fallback(const ServerDecision& d) {
  admission_.reset();
  const TrojanFallback* f = select_fallback(opts().fallback, opts().fallback_for_alpn,
                                            tls_ != nullptr ? &tls_->info().alpn : nullptr);
  if (f == nullptr) {
    SLUICE_LOG_DEBUG("%s: %s (%s), no fallback: closing", prefix(), d.reason,
                     errc_message(d.error));
    close_now();
    return;
  }
  SLUICE_LOG_DEBUG("%s: %s (%s): fallback to %s:%u", prefix(), d.reason, errc_message(d.error),
                   f->server.c_str(), f->server_port);
  driver_->on_event(DriverEvent::fallback, &d, nullptr);
  state_ = State::fallback;
  if (!opts().deadline_covers_open) timer_.stop();
  t_->read_stop();
  dial_ = net::Dial::start(engine_, f->server, f->server_port, opts().fallback_dial, this);
}

void ServerDriver::Conn::on_dial(Result<std::unique_ptr<net::TcpTransport>> d, const char* reason) {
  dial_ = nullptr;
  if (!d) {
    SLUICE_LOG_INFO("%s: fallback dial failed: %s", prefix(), reason);
    close_now();
    return;
  }
  // Unchanged: the bytes the stranger sent, in order, before anything newer.
  std::unique_ptr<Stream> s(d->release());
  if (!write_pending(s, &in_)) {
    close_now();
    return;
  }
  t_->set_handler(nullptr);
  tls_ = nullptr;
  hand_over(std::move(t_), std::move(s));
}

// --- datagrams --------------------------------------------------------------

void ServerDriver::Conn::start_datagram(const ServerDecision& d) {
  admission_.reset();
  decision_ = d;
  in_.advance(d.consumed);
  timer_.stop();  // the DatagramRelay has its own idle expiry
  std::unique_ptr<DatagramPort> port;
  Socks5UdpPort* socks = nullptr;
  TargetAddress bound;
  if (d.mode == DatagramMode::socket) {
    auto p = Socks5UdpPort::bind(engine_, info_.peer, opts().udp_bind_host, &bound);
    if (!p) {
      driver_->on_event(DriverEvent::open_failed, &d, nullptr);
      SLUICE_LOG_DEBUG("%s: udp associate bind: %s", prefix(), errc_message(p.error()));
      core_->answer(p.error() == Errc::ok ? Errc::io_error : p.error(), TargetAddress());
      flush_and_close();
      return;
    }
    socks = p->get();
    port = std::move(*p);
  } else {
    auto framing = driver_->framing(*core_, d);
    if (!framing) {
      auto r = ServerDecision::refuse(ServerDecision::reject, Errc::not_supported,
                                      "no framing for these datagrams", RefusalCause::policy);
      decide(r);
      return;
    }
    t_->set_handler(nullptr);
    TlsTransport* tls = tls_;
    tls_ = nullptr;
    auto client = driver_->wrap_client(std::move(t_), tls, *core_, d, &in_);
    if (!client) {
      close_now();
      return;
    }
    Chain rest = std::move(in_);
    in_.clear();
    port.reset(new (std::nothrow) FramedStreamPort(engine_, std::move(*client), std::move(framing),
                                                   std::move(rest), opts().udp.write_queue));
    if (!port) {
      close_now();
      return;
    }
  }
  DatagramRelayOptions ro = opts().udp;
  relay_.reset(new (std::nothrow) DatagramRelay(engine_, this, std::move(port), ro, this));
  if (!relay_) {
    close_now();
    return;
  }
  if (d.mode != DatagramMode::mux) {
    Status st = relay_->open(d.target);
    if (!st) {
      driver_->on_event(DriverEvent::open_failed, &d, nullptr);
      SLUICE_LOG_INFO("%s: udp to %s: %s", prefix(), d.target.to_string().c_str(),
                      errc_message(st.error()));
      if (socks == nullptr) {
        close_now();
        return;
      }
      core_->answer(st.error(), TargetAddress());
      flush_and_close();
      return;
    }
  }
  if (socks != nullptr) {
    core_->answer(Errc::ok, bound);
    if (!flush_output()) return;
    t_->set_handler(nullptr);
    tls_ = nullptr;
    socks->set_control(std::move(t_));
  } else {
    core_->answer(Errc::ok, TargetAddress());
  }
  state_ = State::datagram;
  driver_->on_event(DriverEvent::datagram, &d, nullptr);
  relay_->start();
}

void ServerDriver::Conn::on_datagram_relay_done(const DatagramRelayResult& r) {
  driver_->on_event(DriverEvent::datagram_end, &decision_, &r);
  if (r.malformed)
    SLUICE_LOG_DEBUG("%s: %s: %s", prefix(), r.reason, errc_message(r.error));
  else if (r.error == Errc::timed_out)
    SLUICE_LOG_DEBUG("%s: UDP idle, closing", prefix());
  close_now();
}

// --- teardown ---------------------------------------------------------------

void ServerDriver::Conn::close_now() noexcept {
  if (closed_) return;
  closed_ = true;
  state_ = State::closing;
  if (session_) {
    session_->cancel_open(this);
    session_ = nullptr;
  }
  if (dial_) {
    dial_->cancel();
    dial_ = nullptr;
  }
  if (t_) {
    t_->set_handler(nullptr);
    close_and_delete(t_.release());
  }
  tls_ = nullptr;
  in_.clear();
  parts_ = 1;  // released at the end of this function
  if (relay_) {
    parts_++;
    relay_->close([](void* u) { static_cast<Conn*>(u)->part_closed(); }, this);
  }
  timer_.stop();
  part_closed();
}

void ServerDriver::Conn::part_closed() noexcept {
  if (--parts_ > 0) return;
  relay_.reset();
  driver_->conn_closed(this);  // deletes this
}

// --- ServerDriver -------------------------------------------------------------

std::string ServerDriver::make_log_prefix(const char* proto, const std::string& tag) {
  std::string p = proto;
  if (!tag.empty()) {
    p += ' ';
    p += tag;
  }
  return p;
}

ServerDriver::ServerDriver(Engine& e, ServerDriverOptions o, Router* router)
    : EngineObject(e),
      dopts_(std::move(o)),
      router_(router),
      prefix_(make_log_prefix(dopts_.proto, dopts_.tag)) {
  // Without memory for it the inbound runs unlimited rather than not at all;
  // say so.
  ConnectionLimit::Options lo{dopts_.max_connections, dopts_.max_connections_per_ip};
  limit_ = ConnectionLimit::create(lo);
  if (limit_ == nullptr && (lo.max_connections != 0 || lo.max_connections_per_ip != 0))
    SLUICE_LOG_ERROR("%s: out of memory for the connection limits; not enforced", prefix_.c_str());
}

DriverCounters ServerDriver::counters() const noexcept {
  DriverCounters c = counters_;
  c.open_connections = limit_ != nullptr ? limit_->open() : 0;
  return c;
}

ServerDriver::~ServerDriver() {
  SLUICE_CHECK(sources_open_ == 0 || closed_);
  if (limit_ != nullptr) limit_->release_owner();
}

uint16_t ServerDriver::port() const noexcept {
  return sources_.empty() ? 0 : sources_.front()->port();
}

Status ServerDriver::listen(std::string_view host, uint16_t port, const net::ListenOptions& o,
                            std::string* reason) {
  auto s = TcpSource::create(engine(), host, port, o, this, reason);
  if (!s) {
    if (sources_.empty()) {
      // Nothing to close: the driver is finished before it started.
      closing_ = true;
      closed_ = true;
      detach_from_engine();
    }
    return s.error();
  }
  add_source(std::move(*s));
  return {};
}

void ServerDriver::add_source(std::unique_ptr<TransportSource> s) {
  sources_.push_back(std::move(s));
  sources_open_++;
}

namespace {

// peer_text: the peer's address for a log line ("?" if unknown).
std::string peer_text(const sockaddr_storage& peer) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (peer.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, buf, sizeof buf);
  else if (peer.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, buf, sizeof buf);
  return buf;
}

}  // namespace

bool ServerDriver::RateLimitedLog::allow(uint64_t now_ms, uint64_t* skipped) noexcept {
  if (logged_once && now_ms - last_ms < kLimitLogIntervalMs) {
    ++suppressed;
    return false;
  }
  logged_once = true;
  last_ms = now_ms;
  *skipped = suppressed;
  suppressed = 0;
  return true;
}

void ServerDriver::on_accept_error(Errc e) {
  counters_.accept_errors++;
  uint64_t skipped = 0;
  if (accept_error_log_.allow(engine().now_ms(), &skipped)) {
    // The listener pauses accepting and retries (net/tcp_listener.hpp);
    // waiting connections stay in the kernel's backlog meanwhile.
    const char* what = e == Errc::limit_exceeded
                           ? "out of file descriptors (EMFILE/ENFILE); accepting paused, "
                             "connections wait in the backlog"
                           : errc_message(e);
    SLUICE_LOG_WARN("%s: accept failed: %s (%llu more since the last report)", prefix_.c_str(),
                    what, static_cast<unsigned long long>(skipped));
  }
}

const char* ServerDriver::admit(const sockaddr_storage& peer, bool limits, SizeClass cls,
                                uint32_t blocks, ConnectionLimit::Slot** slot,
                                PoolReservation* res) noexcept {
  *slot = nullptr;
  if (limits && limit_ != nullptr) {
    ConnectionLimit::Refusal why;
    *slot = limit_->admit(peer, &why);
    if (*slot == nullptr) {
      counters_.refused_by_limit++;
      net::count_refused(engine());
      uint64_t skipped = 0;
      if (limit_log_.allow(engine().now_ms(), &skipped)) {
        SLUICE_LOG_WARN(
            "%s: connection from %s refused: %s (%llu more refused since the last "
            "report)",
            prefix_.c_str(), peer_text(peer).c_str(), ConnectionLimit::refusal_name(why),
            static_cast<unsigned long long>(skipped));
      }
      return ConnectionLimit::refusal_name(why);
    }
  }
  // With a pool cap, new work is admitted only while the pool has room for
  // its first buffers beside what running flows hold and earlier
  // handshakes were promised (BufferPool::reserve).
  if (blocks != 0 && engine().pool().max_bytes() != 0) {
    std::string why;
    auto r = engine().pool().reserve(cls, blocks, &why);
    if (!r) {
      counters_.refused_by_pool++;
      net::count_refused(engine());
      uint64_t skipped = 0;
      if (limit_log_.allow(engine().now_ms(), &skipped)) {
        SLUICE_LOG_WARN(
            "%s: connection from %s refused: %s (%llu more refused since the last report)",
            prefix_.c_str(), peer_text(peer).c_str(), why.c_str(),
            static_cast<unsigned long long>(skipped));
      }
      delete std::exchange(*slot, nullptr);
      return "server busy: buffer pool cap reached";
    }
    *res = std::move(*r);
  }
  return nullptr;
}

const char* ServerDriver::admit_connection(const sockaddr* peer,
                                           ConnectionAdmission* out) noexcept {
  out->reset();
  if (closing_) return "server closing";
  sockaddr_storage ss{};
  if (peer != nullptr && peer->sa_family == AF_INET)
    std::memcpy(&ss, peer, sizeof(sockaddr_in));
  else if (peer != nullptr && peer->sa_family == AF_INET6)
    std::memcpy(&ss, peer, sizeof(sockaddr_in6));
  // The connection's send buffer is one 64 KiB block (quic::Connection).
  return admit(ss, true, SizeClass::k64K, 1, &out->slot_, &out->pool_);
}

void ServerDriver::on_accepted(std::unique_ptr<Transport> t, const AcceptInfo& info) {
  if (closing_) {
    close_and_delete(t.release());
    return;
  }
  on_event(DriverEvent::accepted, nullptr, nullptr);
  // Past the limits or the pool cap the connection (a TCP connection, or a
  // stream of a QUIC inbound) is closed at once. A stream counts under the
  // limits through its connection. Without TLS the first buffer is one
  // 16 KiB block; a TLS inbound's handshake makes its own, larger
  // reservation (TlsTransport).
  ConnectionLimit::Slot* slot = nullptr;
  PoolReservation admission;
  if (admit(info.peer, !info.in_admitted_connection, SizeClass::k16K, dopts_.tls ? 0 : 1, &slot,
            &admission) != nullptr) {
    t->set_handler(nullptr);
    close_and_delete(t.release());
    return;
  }
  auto* c = new (std::nothrow) Conn(this, std::move(t), info, slot, std::move(admission));
  if (!c) {
    delete slot;
    return;
  }
  conns_.push_back(c);
  c->start();
}

void ServerDriver::conn_closed(Conn* c) noexcept {
  auto it = std::find(conns_.begin(), conns_.end(), c);
  if (it != conns_.end()) conns_.erase(it);
  delete c;
  maybe_closed();
}

void ServerDriver::close(CloseCallback cb, void* user) noexcept {
  if (closing_) {
    // Already closing (e.g. the Engine stopped first): this caller still
    // hears about the end, at once if it already happened.
    if (!cb) return;
    if (closed_) {
      cb(user);
    } else if (!close_cb_) {
      close_cb_ = cb;
      close_user_ = user;
    }
    return;
  }
  closing_ = true;
  close_cb_ = cb;
  close_user_ = user;
  // A connection may finish closing at once; the callback (which may
  // delete this driver) waits until the loop is done.
  in_close_ = true;
  std::vector<Conn*> live = conns_;
  for (Conn* c : live) c->close_now();
  in_close_ = false;
  if (sources_.empty()) {
    maybe_closed();
    return;
  }
  for (auto& s : sources_)
    s->close(
        [](void* u) {
          auto* self = static_cast<ServerDriver*>(u);
          self->sources_open_--;
          self->maybe_closed();
        },
        this);
}

void ServerDriver::maybe_closed() noexcept {
  if (!closing_ || in_close_ || sources_open_ > 0 || !conns_.empty() || closed_) return;
  closed_ = true;
  detach_from_engine();
  CloseCallback cb = close_cb_;
  close_cb_ = nullptr;
  if (cb) cb(close_user_);
}

}  // namespace sluice

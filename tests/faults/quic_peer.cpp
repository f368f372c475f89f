// quic_peer.cpp: one side of a QUIC protocol for the fault harness
// (tests/faults/faults.py), for the protocols that `sluice run` cannot
// configure yet and for raw QUIC. It runs until SIGTERM/SIGINT and prints
// "ready" once listening.
//
//   faults_quic_peer hy2-server|hy1-server|tuic-server LISTEN PORT CERT.pem KEY.pem
//   faults_quic_peer hy2-client|hy1-client|tuic-client SERVER PORT SOCKS_PORT CERT_SHA256_HEX
//   faults_quic_peer quic-server LISTEN PORT CERT.pem KEY.pem TARGET_PORT
//   faults_quic_peer quic-client SERVER PORT LOCAL_PORT CERT_SHA256_HEX
//
// A hy2 (Hysteria v2), hy1 (Hysteria v1) or tuic server is the protocol's
// inbound with a direct outbound; a client is a SOCKS5 inbound on
// 127.0.0.1:SOCKS_PORT in front of the protocol's outbound, which pins the
// server's certificate by its SHA-256. Hysteria v1's client declares
// kHy1Bps up and down (its Brutal sender paces at that rate whatever the
// loss, as the protocol intends); the server has no limit of its own.
//
// Raw QUIC (lib/quic alone, no proxy protocol on top): the client accepts
// TCP on 127.0.0.1:LOCAL_PORT and carries each connection on a QUIC stream
// of one connection to the server (dialled when needed, again after it
// ends), which forwards every stream to 127.0.0.1:TARGET_PORT over TCP; UDP
// datagrams to 127.0.0.1:LOCAL_PORT become QUIC DATAGRAM frames (RFC 9221),
// which the server echoes, and the echoes go back to the UDP sender. The
// client logs every end of its connection ("connection closed: ...") so
// the harness can tell an idle timeout from a stateless reset.
//
// Every mode uses an 8 s QUIC idle timeout (keep-alive / heartbeat every
// 3 s) instead of the 30 s default, so the harness's dead-path rows stay
// short; kIdleMs is what faults.py's bounds for these rows assume.
#include <signal.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "inbound/hysteria1_inbound.hpp"
#include "inbound/hysteria2_inbound.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "inbound/tuic_inbound.hpp"
#include "net/closer.hpp"
#include "net/tcp_listener.hpp"
#include "net/tcp_transport.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_dial.hpp"
#include "quic/quic_stream.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria1_session.hpp"
#include "session/hysteria2_session.hpp"
#include "session/relay.hpp"
#include "session/tuic_session.hpp"
#include "sluice/engine.hpp"

using namespace sluice;

namespace {

// on_loop runs |fn| on the Engine's thread and returns its result (false
// when the engine refuses the task).
template <typename F>
bool on_loop(Engine& e, F fn) {
  std::promise<bool> p;
  auto fut = p.get_future();
  if (!e.post([&] { p.set_value(fn()); })) return false;
  return fut.get();
}

const char* const kPassword = "faults password";
constexpr uint64_t kIdleMs = 8000;
constexpr uint64_t kKeepAliveMs = 3000;
constexpr uint64_t kHy1Bps = 2500000;  // 20 Mbit/s, each way
const tuic::Uuid kUuid = {0x0d, 0x6b, 0x6a, 0x4e, 0x5f, 0x0c, 0x4f, 0x55,
                          0x9a, 0x3e, 0x2b, 0x7d, 0x1c, 0x9e, 0x8f, 0x41};

bool slurp(const char* path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

int usage() {
  std::fprintf(stderr,
               "usage: faults_quic_peer hy2-server|hy1-server|tuic-server LISTEN PORT CERT KEY\n"
               "       faults_quic_peer hy2-client|hy1-client|tuic-client SERVER PORT SOCKS_PORT "
               "PIN\n"
               "       faults_quic_peer quic-server LISTEN PORT CERT KEY TARGET_PORT\n"
               "       faults_quic_peer quic-client SERVER PORT LOCAL_PORT PIN\n");
  return 2;
}

// Everything one side owns, destroyed on the loop thread's terms after stop.
struct PeerSide {
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<Hysteria2Inbound> hy2_in;
  std::unique_ptr<Hysteria1Inbound> hy1_in;
  std::unique_ptr<TuicInbound> tuic_in;
  std::unique_ptr<Hysteria2Session> hy2_out;
  std::unique_ptr<Hysteria1Session> hy1_out;
  std::unique_ptr<TuicSession> tuic_out;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ProxyInbound> socks;
  std::unique_ptr<class RawServer> raw_server;
  std::unique_ptr<class RawClient> raw_client;
};

enum class Kind { hy2, hy1, tuic, raw };

bool start_server(Engine& e, PeerSide& s, Kind kind, const char* listen, uint16_t port,
                  const std::string& cert, const std::string& key, std::string* why) {
  quic::QuicTlsOptions tls;
  tls.server = true;
  tls.alpn = {"h3"};
  tls.cert_pem = cert;
  tls.key_pem = key;
  return on_loop(e, [&] {
    s.direct = std::make_unique<DirectSession>(e, "direct", net::DialOptions{});
    s.router = std::make_unique<FinalRouter>(s.direct.get());
    if (kind == Kind::hy1) {
      Hysteria1InboundConfig c;
      c.tag = "in";
      c.listen = listen;
      c.port = port;
      c.users = {{"faults", kPassword}};
      c.tls = tls;
      c.tls.alpn = {"hysteria"};
      c.idle_timeout_ms = kIdleMs;
      auto r = Hysteria1Inbound::create(e, c, s.router.get(), why);
      if (!r) return false;
      s.hy1_in = std::move(*r);
      return true;
    }
    if (kind == Kind::hy2) {
      Hysteria2InboundConfig c;
      c.tag = "in";
      c.listen = listen;
      c.port = port;
      c.users = {{"faults", kPassword}};
      c.tls = tls;
      c.idle_timeout_ms = kIdleMs;
      auto r = Hysteria2Inbound::create(e, c, s.router.get(), why);
      if (!r) return false;
      s.hy2_in = std::move(*r);
      return true;
    }
    TuicInboundConfig c;
    c.tag = "in";
    c.listen = listen;
    c.port = port;
    c.users = {{"faults", kUuid, kPassword}};
    c.tls = tls;
    c.idle_timeout_ms = kIdleMs;
    auto r = TuicInbound::create(e, c, s.router.get(), why);
    if (!r) return false;
    s.tuic_in = std::move(*r);
    return true;
  });
}

bool start_client(Engine& e, PeerSide& s, Kind kind, const char* server, uint16_t port,
                  uint16_t socks_port, const char* pin, std::string* why) {
  quic::QuicTlsOptions tls;
  tls.alpn = {"h3"};
  tls.server_name = "secret.test";
  tls.cert_pins_hex = {pin};
  return on_loop(e, [&] {
    Session* out = nullptr;
    if (kind == Kind::hy1) {
      Hysteria1SessionOptions o;
      o.server = server;
      o.server_port = port;
      o.auth = kPassword;
      o.tls = tls;
      o.tls.alpn = {"hysteria"};
      o.up_bps = kHy1Bps;
      o.down_bps = kHy1Bps;
      o.idle_timeout_ms = kIdleMs;
      o.keep_alive_ms = kKeepAliveMs;
      auto r = Hysteria1Session::create(e, "up", o, why);
      if (!r) return false;
      s.hy1_out = std::move(*r);
      out = s.hy1_out.get();
    } else if (kind == Kind::hy2) {
      Hysteria2SessionOptions o;
      o.server = server;
      o.server_port = port;
      o.password = kPassword;
      o.tls = tls;
      o.idle_timeout_ms = kIdleMs;
      o.keep_alive_ms = kKeepAliveMs;
      auto r = Hysteria2Session::create(e, "up", o, why);
      if (!r) return false;
      s.hy2_out = std::move(*r);
      out = s.hy2_out.get();
    } else {
      TuicSessionOptions o;
      o.server = server;
      o.server_port = port;
      o.uuid = kUuid;
      o.password = kPassword;
      o.tls = tls;
      o.idle_timeout_ms = kIdleMs;
      o.heartbeat_ms = kKeepAliveMs;
      auto r = TuicSession::create(e, "up", o, why);
      if (!r) return false;
      s.tuic_out = std::move(*r);
      out = s.tuic_out.get();
    }
    s.router = std::make_unique<FinalRouter>(out);
    ProxyInboundOptions po;
    po.kind = ProxyKind::socks;
    po.tag = "in";
    po.port = socks_port;
    auto p = ProxyInbound::create(e, po, s.router.get(), why);
    if (!p) return false;
    s.socks = std::move(*p);
    return true;
  });
}

// --- raw QUIC ------------------------------------------------------------

const char* const kRawAlpn = "sluice-faults";

// close_delete closes |t| and deletes it once closed; |reset| makes a TCP
// transport's close send RST, so a local client sees its flow fail.
template <typename T>
void close_delete(std::unique_ptr<T> t, bool reset = false) {
  if (!t) return;
  if (reset) t->reset_on_close();
  T* raw = t.release();
  raw->close([](void* u) { delete static_cast<T*>(u); }, raw);
}

void log_line(const char* fmt, const char* a, const char* b) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(stderr, "[%ld.%03ld] ", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000000);
  std::fprintf(stderr, fmt, a, b);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

quic::ConnectionOptions raw_connection_options(bool client) {
  quic::ConnectionOptions c;
  c.idle_timeout_ms = kIdleMs;
  c.keep_alive_ms = client ? kKeepAliveMs : 0;
  c.handshake_timeout_ms = kIdleMs;
  return c;
}

// ForwardOpen holds a stream the client opened while the server's TCP
// connection to the target opens, then relays the two.
class ForwardOpen final : public OpenHandler {
 public:
  ForwardOpen(Engine& e, std::unique_ptr<quic::QuicStream> s) : e_(e), s_(std::move(s)) {}
  void on_open(Result<std::unique_ptr<Stream>> r, const char* reason) override {
    if (r) {
      Relay::start(e_, std::move(s_), std::move(*r), RelayOptions{}, nullptr);
    } else {
      log_line("target: %s (%s)", errc_message(r.error()), reason ? reason : "");
      s_->reset(1);
      close_delete(std::move(s_));
    }
    delete this;
  }

 private:
  Engine& e_;
  std::unique_ptr<quic::QuicStream> s_;
};

// RawServer: every stream goes to 127.0.0.1:target over TCP, every
// datagram comes back as it came.
class RawServer final : public quic::AcceptHandler, public quic::ConnectionHandler {
 public:
  RawServer(Engine& e, DirectSession* direct, uint16_t target)
      : e_(e), direct_(direct), target_(target) {}
  std::unique_ptr<quic::Endpoint> endpoint;

  void on_connection(quic::Connection& c) override { c.set_handler(this); }
  void on_stream(quic::Connection&, std::unique_ptr<quic::QuicStream> s) override {
    direct_->open_stream("127.0.0.1", target_, new ForwardOpen(e_, std::move(s)));
  }
  void on_datagram(quic::Connection& c, const uint8_t* data, size_t len) override {
    (void)c.send_datagram(data, len);  // dropped and counted when the queue is full
  }

 private:
  Engine& e_;
  DirectSession* direct_;
  uint16_t target_;
};

// RawClient: the TCP and UDP side on 127.0.0.1 and the one connection.
class RawClient final : public net::AcceptHandler,
                        public quic::QuicDialHandler,
                        public quic::ConnectionHandler {
 public:
  RawClient(Engine& e, std::string server, uint16_t port, std::shared_ptr<quic::QuicTlsContext> tls)
      : e_(e), server_(std::move(server)), port_(port), tls_(std::move(tls)) {}
  ~RawClient() override {
    if (dial_ != nullptr) dial_->cancel();
  }

  bool listen(uint16_t local_port, std::string* why) {
    auto l = net::TcpListener::create(e_, "127.0.0.1", local_port, net::ListenOptions{}, this, why);
    if (!l) return false;
    listener_ = std::move(*l);
    sockaddr_in a{};
    uv_ip4_addr("127.0.0.1", local_port, &a);
    int rc = uv_udp_init(e_.loop(), &udp_);
    if (rc == 0) {
      udp_open_ = true;
      udp_.data = this;
      rc = uv_udp_bind(&udp_, reinterpret_cast<const sockaddr*>(&a), 0);
    }
    if (rc == 0) rc = uv_udp_recv_start(&udp_, &RawClient::udp_alloc, &RawClient::udp_recv);
    if (rc != 0) {
      *why = std::string("udp 127.0.0.1: ") + uv_strerror(rc);
      return false;
    }
    return true;
  }

  // stop closes what the Engine does not close by itself (the listener and
  // the UDP handle); the Engine's stop then closes the rest.
  void stop() {
    if (listener_) listener_->close(nullptr, nullptr);
    if (udp_open_) uv_close(reinterpret_cast<uv_handle_t*>(&udp_), nullptr);
    udp_open_ = false;
    for (auto& t : waiting_) close_delete(std::move(t), true);
    waiting_.clear();
  }

  void on_accept(std::unique_ptr<net::TcpTransport> t) override {
    if (conn_ != nullptr) {
      forward(std::move(t));
      return;
    }
    waiting_.push_back(std::move(t));
    dial();
  }

  void on_quic_dial(Result<quic::QuicDialed> r, const char* reason) override {
    dial_ = nullptr;
    dialing_ = false;
    if (!r) {
      // Every flow that waited for this connection fails now, with a reset.
      log_line("dial failed: %s (%s)", errc_message(r.error()), reason ? reason : "");
      for (auto& t : waiting_) close_delete(std::move(t), true);
      waiting_.clear();
      return;
    }
    endpoint_ = std::move(r->endpoint);
    conn_ = r->connection;
    conn_->set_handler(this);
    log_line("connected to %s (%s)", server_.c_str(), conn_->alpn().c_str());
    std::vector<std::unique_ptr<net::TcpTransport>> w = std::move(waiting_);
    waiting_.clear();
    for (auto& t : w) forward(std::move(t));
  }

  void on_datagram(quic::Connection&, const uint8_t* data, size_t len) override {
    if (!have_peer_ || !udp_open_) return;
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(data)),
                             static_cast<unsigned>(len));
    (void)uv_udp_try_send(&udp_, &b, 1, reinterpret_cast<const sockaddr*>(&peer_));
  }

  void on_closed(quic::Connection& c, Errc e, uint64_t, const char* reason) override {
    if (&c != conn_) return;
    // What ended it, for the harness: "timed_out" with ngtcp2's idle
    // timeout, "connection_reset" with a stateless reset, "closed" with
    // the peer's CONNECTION_CLOSE.
    log_line("connection closed: %s: %s", errc_name(e), reason ? reason : "");
    conn_ = nullptr;
    // Inside the connection's callback: close its Endpoint on the next turn.
    quic::Endpoint* ep = endpoint_.release();
    if (ep != nullptr)
      net::defer(
          e_,
          [](void* u) {
            auto* x = static_cast<quic::Endpoint*>(u);
            x->close([](void* v) { delete static_cast<quic::Endpoint*>(v); }, x);
          },
          ep);
  }

 private:
  void dial() {
    if (dialing_) return;
    quic::QuicDialOptions o;
    o.endpoint.connection = raw_connection_options(true);
    o.handshake_timeout_ms = kIdleMs;
    dialing_ = true;
    quic::QuicDial* d = quic::QuicDial::start(e_, server_, port_, tls_, o, this);
    if (dialing_) dial_ = d;  // it may answer before start returns
  }

  void forward(std::unique_ptr<net::TcpTransport> t) {
    auto s = conn_->open_bidi_stream();
    if (!s) {
      log_line("open stream: %s%s", errc_message(s.error()), "");
      close_delete(std::move(t), true);
      return;
    }
    Relay::start(e_, std::move(t), std::move(*s), RelayOptions{}, nullptr);
  }

  static void udp_alloc(uv_handle_t* h, size_t, uv_buf_t* b) {
    auto* self = static_cast<RawClient*>(h->data);
    *b = uv_buf_init(reinterpret_cast<char*>(self->udp_buf_), sizeof self->udp_buf_);
  }
  static void udp_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
    auto* self = static_cast<RawClient*>(h->data);
    if (n <= 0 || from == nullptr) return;
    std::memcpy(&self->peer_, from, sizeof(sockaddr_in));
    self->have_peer_ = true;
    if (self->conn_ == nullptr) {
      self->dial();  // this datagram is lost, as on any path not yet up
      return;
    }
    (void)self->conn_->send_datagram(reinterpret_cast<const uint8_t*>(b->base),
                                     static_cast<size_t>(n));
  }

  Engine& e_;
  std::string server_;
  uint16_t port_;
  std::shared_ptr<quic::QuicTlsContext> tls_;
  std::unique_ptr<net::TcpListener> listener_;
  std::unique_ptr<quic::Endpoint> endpoint_;
  quic::Connection* conn_ = nullptr;
  quic::QuicDial* dial_ = nullptr;
  bool dialing_ = false;
  std::vector<std::unique_ptr<net::TcpTransport>> waiting_;
  uv_udp_t udp_{};
  bool udp_open_ = false;
  sockaddr_in peer_{};
  bool have_peer_ = false;
  uint8_t udp_buf_[65536];
};

std::shared_ptr<quic::QuicTlsContext> raw_tls(const quic::QuicTlsOptions& o, std::string* why) {
  auto r = quic::QuicTlsContext::create(o, why);
  if (!r) return nullptr;
  return std::shared_ptr<quic::QuicTlsContext>(std::move(*r));
}

bool start_raw_server(Engine& e, PeerSide& s, const char* listen, uint16_t port,
                      const std::string& cert, const std::string& key, uint16_t target,
                      std::string* why) {
  quic::QuicTlsOptions o;
  o.server = true;
  o.alpn = {kRawAlpn};
  o.cert_pem = cert;
  o.key_pem = key;
  return on_loop(e, [&] {
    auto tls = raw_tls(o, why);
    if (!tls) return false;
    s.direct = std::make_unique<DirectSession>(e, "direct", net::DialOptions{});
    s.raw_server = std::make_unique<RawServer>(e, s.direct.get(), target);
    quic::EndpointOptions eo;
    eo.bind_host = listen;
    eo.bind_port = port;
    eo.connection = raw_connection_options(false);
    auto ep = quic::Endpoint::create(e, eo, tls, s.raw_server.get());
    if (!ep) {
      *why = std::string("endpoint: ") + errc_message(ep.error());
      return false;
    }
    s.raw_server->endpoint = std::move(*ep);
    return true;
  });
}

bool start_raw_client(Engine& e, PeerSide& s, const char* server, uint16_t port,
                      uint16_t local_port, const char* pin, std::string* why) {
  quic::QuicTlsOptions o;
  o.alpn = {kRawAlpn};
  o.server_name = "secret.test";
  o.cert_pins_hex = {pin};
  return on_loop(e, [&] {
    auto tls = raw_tls(o, why);
    if (!tls) return false;
    s.raw_client = std::make_unique<RawClient>(e, server, port, std::move(tls));
    return s.raw_client->listen(local_port, why);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return usage();
  const std::string mode = argv[1];
  Kind kind;
  if (mode.rfind("hy2-", 0) == 0)
    kind = Kind::hy2;
  else if (mode.rfind("hy1-", 0) == 0)
    kind = Kind::hy1;
  else if (mode.rfind("tuic-", 0) == 0)
    kind = Kind::tuic;
  else if (mode.rfind("quic-", 0) == 0)
    kind = Kind::raw;
  else
    return usage();
  const bool raw = kind == Kind::raw;
  const bool server = mode.size() > 7 && mode.compare(mode.size() - 7, 7, "-server") == 0;
  if (!server && (mode.size() < 7 || mode.compare(mode.size() - 7, 7, "-client") != 0))
    return usage();
  if (argc != (raw && server ? 7 : 6)) return usage();
  const int port = std::atoi(argv[3]);
  if (port <= 0 || port > 65535) return usage();
  const int target = raw && server ? std::atoi(argv[6]) : 1;
  if (target <= 0 || target > 65535) return usage();

  // Block the stop signals before the engine's thread starts, then wait for one.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto e = Engine::create();
  if (!e || !(*e)->start()) {
    std::fprintf(stderr, "faults_quic_peer: cannot start an engine\n");
    return 1;
  }
  Engine& engine = **e;
  PeerSide side;
  std::string why;
  bool ok;
  if (server) {
    std::string cert, key;
    if (!slurp(argv[4], &cert) || !slurp(argv[5], &key)) {
      std::fprintf(stderr, "faults_quic_peer: cannot read %s or %s\n", argv[4], argv[5]);
      return 1;
    }
    ok = raw ? start_raw_server(engine, side, argv[2], static_cast<uint16_t>(port), cert, key,
                                static_cast<uint16_t>(target), &why)
             : start_server(engine, side, kind, argv[2], static_cast<uint16_t>(port), cert, key,
                            &why);
  } else {
    const int socks_port = std::atoi(argv[4]);
    if (socks_port <= 0 || socks_port > 65535) return usage();
    ok = raw ? start_raw_client(engine, side, argv[2], static_cast<uint16_t>(port),
                                static_cast<uint16_t>(socks_port), argv[5], &why)
             : start_client(engine, side, kind, argv[2], static_cast<uint16_t>(port),
                            static_cast<uint16_t>(socks_port), argv[5], &why);
  }
  if (!ok) {
    std::fprintf(stderr, "faults_quic_peer: %s: %s\n", mode.c_str(), why.c_str());
    (void)engine.stop();
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  if (side.raw_client)
    on_loop(engine, [&] {
      side.raw_client->stop();
      return true;
    });
  (void)engine.stop();
  return 0;
}

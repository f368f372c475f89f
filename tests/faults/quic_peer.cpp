// quic_peer.cpp: one side of a QUIC protocol for the fault harness
// (tests/faults/faults.py), for the protocols that `sluice run` cannot
// configure yet. It runs until SIGTERM/SIGINT and prints "ready" once
// listening.
//
//   faults_quic_peer hy2-server|tuic-server LISTEN PORT CERT.pem KEY.pem
//   faults_quic_peer hy2-client|tuic-client SERVER PORT SOCKS_PORT CERT_SHA256_HEX
//
// A server is the protocol's inbound with a direct outbound; a client is a
// SOCKS5 inbound on 127.0.0.1:SOCKS_PORT in front of the protocol's outbound,
// which pins the server's certificate by its SHA-256. Both sides use an
// 8 s QUIC idle timeout (keep-alive / heartbeat every 3 s) instead of the
// 30 s default, so the harness's dead-path rows stay short; kIdleMs is what
// faults.py's bounds for these rows assume.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>

#include "inbound/hysteria2_inbound.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "inbound/tuic_inbound.hpp"
#include "session/direct_session.hpp"
#include "session/hysteria2_session.hpp"
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
               "usage: faults_quic_peer hy2-server|tuic-server LISTEN PORT CERT KEY\n"
               "       faults_quic_peer hy2-client|tuic-client SERVER PORT SOCKS_PORT PIN\n");
  return 2;
}

// Everything one side owns, destroyed on the loop thread's terms after stop.
struct PeerSide {
  std::unique_ptr<DirectSession> direct;
  std::unique_ptr<Hysteria2Inbound> hy2_in;
  std::unique_ptr<TuicInbound> tuic_in;
  std::unique_ptr<Hysteria2Session> hy2_out;
  std::unique_ptr<TuicSession> tuic_out;
  std::unique_ptr<FinalRouter> router;
  std::unique_ptr<ProxyInbound> socks;
};

bool start_server(Engine& e, PeerSide& s, bool hy2, const char* listen, uint16_t port,
                  const std::string& cert, const std::string& key, std::string* why) {
  quic::QuicTlsOptions tls;
  tls.server = true;
  tls.alpn = {"h3"};
  tls.cert_pem = cert;
  tls.key_pem = key;
  return on_loop(e, [&] {
    s.direct = std::make_unique<DirectSession>(e, "direct", net::DialOptions{});
    s.router = std::make_unique<FinalRouter>(s.direct.get());
    if (hy2) {
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

bool start_client(Engine& e, PeerSide& s, bool hy2, const char* server, uint16_t port,
                  uint16_t socks_port, const char* pin, std::string* why) {
  quic::QuicTlsOptions tls;
  tls.alpn = {"h3"};
  tls.server_name = "secret.test";
  tls.cert_pins_hex = {pin};
  return on_loop(e, [&] {
    Session* out = nullptr;
    if (hy2) {
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return usage();
  const std::string mode = argv[1];
  const bool hy2 = mode.rfind("hy2-", 0) == 0;
  const bool server = mode.size() > 7 && mode.compare(mode.size() - 7, 7, "-server") == 0;
  if (!hy2 && mode.rfind("tuic-", 0) != 0) return usage();
  const int port = std::atoi(argv[3]);
  if (port <= 0 || port > 65535) return usage();

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
    ok = start_server(engine, side, hy2, argv[2], static_cast<uint16_t>(port), cert, key, &why);
  } else {
    const int socks_port = std::atoi(argv[4]);
    if (socks_port <= 0 || socks_port > 65535) return usage();
    ok = start_client(engine, side, hy2, argv[2], static_cast<uint16_t>(port),
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
  (void)engine.stop();
  return 0;
}

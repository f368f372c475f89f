// The per-Engine memory budget at admission (EngineOptions::pool.max_bytes),
// end to end on 127.0.0.1, for each family: a plain TCP relay (SOCKS5 ->
// direct), TLS (Trojan) and QUIC streams (TUIC, Hysteria2). Work that has
// been admitted and not yet decided holds pool room (BufferPool::reserve);
// once that fills the cap, new connections or streams are closed at accept
// with the cap in the log and counted, while flows admitted earlier keep
// flowing with every byte intact; when the holders end, new work is
// admitted again.
#include <catch2/catch.hpp>

#include <cstdio>
#include <mutex>
#include <vector>

#include "../integration/quic_support.hpp"
#include "../integration/support.hpp"
#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "sluice/config.hpp"
#include "sluice/log.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

// CappedInstance is a config-built Instance on its own Engine (capped or not).
struct CappedInstance {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;
  CappedInstance(const std::string& json, uint64_t max_bytes) {
    ConfigDiagnostics diag;
    auto cfg = parse_config(json, &diag);
    INFO(diag.error);
    REQUIRE(cfg);
    EngineOptions o;
    o.pool.max_bytes = max_bytes;
    auto e = Engine::create(o);
    REQUIRE(e);
    engine = std::move(*e);
    std::string why;
    auto inst = Instance::create(*engine, *cfg, &why);
    INFO(why);
    REQUIRE(inst);
    instance = std::move(*inst);
    REQUIRE(engine->start());
  }
  ~CappedInstance() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    instance.reset();
    CHECK(st.pool.reserved_blocks == 0);
    engine.reset();
  }
  uint16_t port(const char* tag) { return instance->inbound_port(tag); }
  EngineStats stats() {
    return on_loop(*engine, [this] { return engine->stats(); });
  }
};

// A listener that never accepts, with a full backlog: connects to it stay
// pending (the kernel drops their SYNs), so an open to it stays undecided.
struct StuckTarget {
  int fd = -1;
  int filler = -1;
  uint16_t port = 0;
  StuckTarget() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 0) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    filler = tcp_connect(port);  // fills the backlog of one
  }
  ~StuckTarget() {
    ::close(filler);
    ::close(fd);
  }
};

std::string socks_request(uint16_t port) {
  std::string r("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01", 11);
  r.push_back(static_cast<char>(port >> 8));
  r.push_back(static_cast<char>(port & 0xff));
  return r;
}

// fill opens holders with |open_one|, 8 at a time, until a whole batch is
// refused by the capped side (each admitted holder reserves |blocks| pool
// blocks; each refused one counts in the pool's refusals), at most |max|.
// A whole refused batch means the boundary is past any transient use: a
// refusal trims empty slabs first, so a single refusal can be followed by
// admissions when a flow's buffer was only momentarily out.
template <typename F>
size_t fill(CappedInstance& capped, std::vector<int>& holders, size_t max, uint32_t blocks,
            F open_one) {
  while (holders.size() < max) {
    const PoolStats p0 = capped.stats().pool;
    for (int i = 0; i < 8; ++i) holders.push_back(open_one());
    uint64_t refused = 0;
    wait_until(
        [&] {
          const PoolStats p = capped.stats().pool;
          refused = p.refused - p0.refused;
          return refused + (p.reserved_blocks - p0.reserved_blocks) / blocks >= 8;
        },
        std::chrono::seconds(3), std::chrono::milliseconds(10));
    if (refused >= 8) break;
  }
  return holders.size();
}

void close_all(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

constexpr uint64_t kCap = 2 << 20;

// RawClient makes QUIC connections with lib/quic (ALPN h3, no certificate
// check), each from its own client Endpoint (its own port on 127.0.0.1),
// on an Engine without a cap: what a client sees of QUIC admission.
struct RawClient {
  std::unique_ptr<Engine> engine;
  std::shared_ptr<quic::QuicTlsContext> tls = client_tls({"h3"});
  std::vector<std::unique_ptr<quic::Endpoint>> eps;
  std::vector<std::unique_ptr<ClientHandler>> handlers;
  RawClient() {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
  }
  ~RawClient() {
    for (auto& ep : eps) close_endpoint(*engine, ep);
    REQUIRE(engine->stop());
  }
  // connect starts connection |i| (the next index) to |port| and waits
  // until its handshake is done or it closed.
  ClientHandler& connect(uint16_t port) {
    handlers.push_back(std::make_unique<ClientHandler>());
    ClientHandler* h = handlers.back().get();
    auto ep = on_loop(*engine, [&] {
      return quic::Endpoint::create(*engine, quic::EndpointOptions{}, tls, nullptr);
    });
    REQUIRE(ep);
    eps.push_back(std::move(*ep));
    quic::Endpoint* raw = eps.back().get();
    REQUIRE(on_loop(*engine, [&] { return raw->connect("127.0.0.1", port, h).has_value(); }));
    CHECK(wait_until([&] { return h->up.load() || h->closed.load(); }, std::chrono::seconds(10)));
    return *h;
  }
  // close ends connection |i| (its Endpoint).
  void close(size_t i) { close_endpoint(*engine, eps[i]); }
};

}  // namespace

TEST_CASE("pool admission: a SOCKS5 -> direct relay refuses new connections at the cap",
          "[overload][pool_admission]") {
  LogCapture log;
  auto servers = std::move(*Engine::create());
  TestServer echo(*servers, TestServer::Mode::echo);
  REQUIRE(servers->start());
  {
    CappedInstance server(
        R"({"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"direct","tag":"direct"}]})",
        kCap);
    // Flows admitted before the cap fills.
    std::vector<int> flows;
    for (int i = 0; i < 2; ++i) {
      int fd = tcp_connect(server.port("in"));
      REQUIRE(socks5_connect(fd, "127.0.0.1", echo.port()) == 0);
      CHECK(echo_transfer(fd, 1 << 20, 100 + i, false));
      flows.push_back(fd);
    }
    // Holders: connections that never send their greeting (undecided).
    std::vector<int> holders;
    const size_t n = fill(server, holders, 400, 1, [&] { return tcp_connect(server.port("in")); });
    INFO("holders " << n);
    REQUIRE(server.stats().pool.refused > 0);
    CHECK(n < 400);
    // One more is closed at once, unanswered.
    int extra = tcp_connect(server.port("in"));
    CHECK(wait_eof(extra, 2000));
    ::close(extra);
    CHECK(server.stats().connections_refused >= 2);
    CHECK(log.contains("refused: buffer pool cap reached: pool_max_bytes is " +
                       std::to_string(kCap)));
    // The admitted flows keep flowing, every byte intact.
    for (size_t i = 0; i < flows.size(); ++i)
      CHECK(echo_transfer(flows[i], 4 << 20, 200 + i, false));
    // The holders end: their room comes back.
    close_all(holders);
    CHECK(wait_until([&] { return server.stats().pool.reserved_blocks == 0; },
                     std::chrono::seconds(12)));
    int again = tcp_connect(server.port("in"));
    CHECK(socks5_connect(again, "127.0.0.1", echo.port()) == 0);
    CHECK(echo_transfer(again, 256 << 10, 300));
    ::close(again);
    close_all(flows);
  }
  REQUIRE(servers->stop());
}

TEST_CASE("pool admission: a Trojan server refuses new TLS handshakes at the cap",
          "[overload][pool_admission]") {
  LogCapture log;
  Pki pki = make_pki("trojan.test");
  const std::string cert = write_temp("pool_admission", "cert.pem", pki.leaf.certificate);
  const std::string key = write_temp("pool_admission", "key.pem", pki.leaf.private_key);
  const std::string ca = write_temp("pool_admission", "ca.pem", pki.ca.certificate);
  auto servers = std::move(*Engine::create());
  TestServer echo(*servers, TestServer::Mode::echo);
  REQUIRE(servers->start());
  {
    CappedInstance server(
        R"({"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"password":"pw"}],"tls":{"enabled":true,"certificate_path":")" +
            cert + R"(","key_path":")" + key + R"("}}],
            "outbounds":[{"type":"direct","tag":"direct"}]})",
        kCap);
    CappedInstance client(
        R"({"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
            std::to_string(server.port("in")) +
            R"(,"password":"pw","tls":{"enabled":true,"server_name":"trojan.test",
            "certificate_path":")" +
            ca + R"("}}]})",
        0);
    std::vector<int> flows;
    for (int i = 0; i < 2; ++i) {
      int fd = tcp_connect(client.port("in"));
      REQUIRE(socks5_connect(fd, "127.0.0.1", echo.port()) == 0);
      CHECK(echo_transfer(fd, 1 << 20, 400 + i, false));
      flows.push_back(fd);
    }
    // Holders: TCP connections to the Trojan port that never send a
    // ClientHello (each handshake holds its reservation).
    std::vector<int> holders;
    const size_t n = fill(server, holders, 400, 2, [&] { return tcp_connect(server.port("in")); });
    INFO("holders " << n);
    REQUIRE(server.stats().pool.refused > 0);
    // A new tunnel through the client is refused by the server.
    int extra = tcp_connect(client.port("in"));
    CHECK(socks5_connect(extra, "127.0.0.1", echo.port()) != 0);
    ::close(extra);
    CHECK(log.contains("buffer pool cap reached: pool_max_bytes is " + std::to_string(kCap)));
    for (size_t i = 0; i < flows.size(); ++i)
      CHECK(echo_transfer(flows[i], 4 << 20, 500 + i, false));
    close_all(holders);
    CHECK(wait_until([&] { return server.stats().pool.reserved_blocks == 0; },
                     std::chrono::seconds(12)));
    int again = tcp_connect(client.port("in"));
    CHECK(socks5_connect(again, "127.0.0.1", echo.port()) == 0);
    CHECK(echo_transfer(again, 256 << 10, 600));
    ::close(again);
    close_all(flows);
  }
  REQUIRE(servers->stop());
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

namespace {

// QuicCase is one QUIC inbound under the cap: its server inbound and the
// client outbound that reaches it (fields after "server_port").
struct QuicCase {
  const char* name;
  std::string inbound;   // the inbound object's fields after "listen_port"
  std::string outbound;  // the outbound object's fields after "server_port"
};

// quic_case: through a QUIC inbound (one connection carries every stream),
// holders are streams whose open waits on a target that never answers;
// once they fill the cap, a new stream is refused while the two flows
// admitted earlier echo 4 MiB each intact, with no pool get() failing on
// the server (a QUIC flow's buffering follows the relay's watermarks under
// a cap: quic/endpoint.hpp, bound_for_pool_cap), and new streams are
// admitted again once the holders close.
void quic_case(const QuicCase& qc, uint64_t seed) {
  LogCapture log;
  INFO(qc.name);
  auto servers = std::move(*Engine::create());
  TestServer echo(*servers, TestServer::Mode::echo);
  REQUIRE(servers->start());
  StuckTarget stuck;
  {
    CappedInstance server(
        R"({"inbounds":[{"tag":"in","listen":"127.0.0.1","listen_port":0,)" + qc.inbound +
            R"(}],"outbounds":[{"type":"direct","tag":"direct","connect_timeout":"30s"}]})",
        kCap);
    CappedInstance client(
        R"({"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"tag":"t","server":"127.0.0.1","server_port":)" +
            std::to_string(server.port("in")) + "," + qc.outbound + "}]}",
        0);
    std::vector<int> flows;
    for (int i = 0; i < 2; ++i) {
      int fd = tcp_connect(client.port("in"));
      REQUIRE(socks5_connect(fd, "127.0.0.1", echo.port()) == 0);
      CHECK(echo_transfer(fd, 1 << 20, seed + i, false));
      flows.push_back(fd);
    }
    // Holders: streams whose open waits on a target that never answers.
    const std::string req = socks_request(stuck.port);
    std::vector<int> holders;
    const size_t n = fill(server, holders, 400, 1, [&] {
      int fd = tcp_connect(client.port("in"));
      send_all(fd, req.data(), req.size());
      return fd;
    });
    INFO("holders " << n);
    REQUIRE(server.stats().pool.refused > 0);
    CHECK(server.stats().connections_refused > 0);
    CHECK(log.contains("refused: buffer pool cap reached: pool_max_bytes is " +
                       std::to_string(kCap)));
    // A new stream through the client is refused. TUIC's Connect has no
    // reply, so the client may have answered SOCKS5 success already; the
    // refused stream then ends the tunnel before any echo.
    int extra = tcp_connect(client.port("in"));
    if (socks5_connect(extra, "127.0.0.1", echo.port()) == 0) {
      // The send fails when the reset is already in; else the end comes.
      const bool sent = send_all(extra, "ping", 4);
      CHECK((!sent || wait_eof(extra, 5000)));
    }
    ::close(extra);
    const uint64_t failures = server.stats().pool.failures;
    for (size_t i = 0; i < flows.size(); ++i)
      CHECK(echo_transfer(flows[i], 4 << 20, seed + 100 + i, false));
    CHECK(server.stats().pool.failures == failures);
    close_all(holders);
    CHECK(wait_until([&] { return server.stats().pool.reserved_blocks == 0; },
                     std::chrono::seconds(12)));
    int again = tcp_connect(client.port("in"));
    CHECK(socks5_connect(again, "127.0.0.1", echo.port()) == 0);
    CHECK(echo_transfer(again, 256 << 10, seed + 200));
    ::close(again);
    close_all(flows);
  }
  REQUIRE(servers->stop());
}

}  // namespace

TEST_CASE("pool admission: a TUIC server refuses new QUIC streams at the cap",
          "[overload][pool_admission][tuic]") {
  Pki pki = make_pki("tuic.test");
  const std::string cert = write_temp("pool_admission", "tcert.pem", pki.leaf.certificate);
  const std::string key = write_temp("pool_admission", "tkey.pem", pki.leaf.private_key);
  const std::string ca = write_temp("pool_admission", "tca.pem", pki.ca.certificate);
  const std::string uuid = "3f0a8c52-6d1e-4b7a-9c3e-5a2b7d9e0f14";
  quic_case({"tuic",
             R"("type":"tuic","users":[{"uuid":")" + uuid +
                 R"(","password":"pw"}],"tls":{"enabled":true,"certificate_path":")" + cert +
                 R"(","key_path":")" + key + R"("})",
             R"("type":"tuic","uuid":")" + uuid +
                 R"(","password":"pw","tls":{"enabled":true,"server_name":"tuic.test",
                 "certificate_path":")" +
                 ca + R"("})"},
            700);
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

TEST_CASE("pool admission: a Hysteria2 server refuses new QUIC streams at the cap",
          "[overload][pool_admission][hysteria2]") {
  Pki pki = make_pki("hy2.test");
  const std::string cert = write_temp("pool_admission", "hcert.pem", pki.leaf.certificate);
  const std::string key = write_temp("pool_admission", "hkey.pem", pki.leaf.private_key);
  const std::string ca = write_temp("pool_admission", "hca.pem", pki.ca.certificate);
  quic_case({"hysteria2",
             R"("type":"hysteria2","users":[{"password":"pw"}],"tls":{"enabled":true,
                 "certificate_path":")" +
                 cert + R"(","key_path":")" + key + R"("})",
             R"("type":"hysteria2","password":"pw","tls":{"enabled":true,"server_name":"hy2.test",
                 "certificate_path":")" +
                 ca + R"("})"},
            1700);
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

TEST_CASE("pool admission: a new QUIC connection is refused at the cap with CONNECTION_REFUSED",
          "[overload][pool_admission][quic_connection]") {
  LogCapture log;
  Pki pki = make_pki("tuic.test");
  const std::string cert = write_temp("pool_admission", "qcert.pem", pki.leaf.certificate);
  const std::string key = write_temp("pool_admission", "qkey.pem", pki.leaf.private_key);
  const std::string ca = write_temp("pool_admission", "qca.pem", pki.ca.certificate);
  const std::string uuid = "3f0a8c52-6d1e-4b7a-9c3e-5a2b7d9e0f14";
  auto servers = std::move(*Engine::create());
  TestServer echo(*servers, TestServer::Mode::echo);
  REQUIRE(servers->start());
  {
    // One capped server: a TUIC inbound, and a SOCKS inbound whose
    // undecided connections fill the cap.
    CappedInstance server(
        R"({"inbounds":[{"type":"tuic","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"uuid":")" +
            uuid + R"(","password":"pw"}],"tls":{"enabled":true,"certificate_path":")" + cert +
            R"(","key_path":")" + key + R"("}},
            {"type":"socks","tag":"hold","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"direct","tag":"direct"}]})",
        kCap);
    RawClient raw;
    ClientHandler& first = raw.connect(server.port("in"));
    CHECK(first.up);
    std::vector<int> holders;
    const size_t n =
        fill(server, holders, 400, 1, [&] { return tcp_connect(server.port("hold")); });
    INFO("holders " << n);
    REQUIRE(server.stats().pool.refused > 0);
    const uint64_t refused_before = server.stats().connections_refused;
    // A new QUIC connection: refused before the handshake with a clear
    // reason. (The holders leave less room than one 16 KiB slab, but a 64
    // KiB block may still fit, or be free and not yet trimmed: such a
    // connection is admitted and keeps the block as its send buffer, so
    // after a few the next one cannot be.)
    ClientHandler* h = nullptr;
    for (int i = 0; i < 4; ++i) {
      h = &raw.connect(server.port("in"));
      if (!h->up) break;
    }
    CHECK_FALSE(h->up);
    CHECK(h->closed);
    CHECK(h->close_error == Errc::connection_refused);
    CHECK(h->reason == "server busy: buffer pool cap reached");
    CHECK(server.stats().connections_refused > refused_before);
    CHECK(
        log.contains("tuic in: connection from 127.0.0.1 refused: buffer pool cap reached: "
                     "pool_max_bytes is " +
                     std::to_string(kCap)));
    // Through a TUIC client the tunnel ends before any echo (TUIC's Connect
    // has no reply, so the client may have answered SOCKS5 success).
    CappedInstance client(
        R"({"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"tuic","tag":"t","server":"127.0.0.1","server_port":)" +
            std::to_string(server.port("in")) + R"(,"uuid":")" + uuid +
            R"(","password":"pw","tls":{"enabled":true,"server_name":"tuic.test",
            "certificate_path":")" +
            ca + R"("}}]})",
        0);
    int fd = tcp_connect(client.port("in"));
    if (socks5_connect(fd, "127.0.0.1", echo.port()) == 0) {
      const bool sent = send_all(fd, "ping", 4);
      CHECK((!sent || wait_eof(fd, 5000)));
    }
    ::close(fd);
    // The holders end: new connections are admitted again.
    close_all(holders);
    CHECK(wait_until([&] { return server.stats().pool.reserved_blocks == 0; },
                     std::chrono::seconds(12)));
    ClientHandler& again = raw.connect(server.port("in"));
    CHECK(again.up);
    fd = tcp_connect(client.port("in"));
    CHECK(socks5_connect(fd, "127.0.0.1", echo.port()) == 0);
    CHECK(echo_transfer(fd, 256 << 10, 2900));
    ::close(fd);
  }
  REQUIRE(servers->stop());
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

TEST_CASE("QUIC inbounds: max_connections_per_ip counts QUIC connections, not their streams",
          "[overload][pool_admission][quic_connection]") {
  LogCapture log;
  Pki pki = make_pki("hy2.test");
  const std::string cert = write_temp("pool_admission", "lcert.pem", pki.leaf.certificate);
  const std::string key = write_temp("pool_admission", "lkey.pem", pki.leaf.private_key);
  const std::string ca = write_temp("pool_admission", "lca.pem", pki.ca.certificate);
  auto servers = std::move(*Engine::create());
  TestServer echo(*servers, TestServer::Mode::echo);
  REQUIRE(servers->start());
  {
    CappedInstance server(
        R"({"inbounds":[{"type":"hysteria2","tag":"in","listen":"127.0.0.1","listen_port":0,
            "max_connections_per_ip":2,"users":[{"password":"pw"}],
            "tls":{"enabled":true,"certificate_path":")" +
            cert + R"(","key_path":")" + key + R"("}}],
            "outbounds":[{"type":"direct","tag":"direct"}]})",
        0);
    CappedInstance client(
        R"({"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
            "outbounds":[{"type":"hysteria2","tag":"t","server":"127.0.0.1","server_port":)" +
            std::to_string(server.port("in")) +
            R"(,"password":"pw","tls":{"enabled":true,"server_name":"hy2.test",
            "certificate_path":")" +
            ca + R"("}}]})",
        0);
    // One connection from the Hysteria2 client carries three flows at once.
    std::vector<int> flows;
    for (int i = 0; i < 3; ++i) {
      int fd = tcp_connect(client.port("in"));
      REQUIRE(socks5_connect(fd, "127.0.0.1", echo.port()) == 0);
      flows.push_back(fd);
    }
    for (size_t i = 0; i < flows.size(); ++i)
      CHECK(echo_transfer(flows[i], 64 << 10, 3000 + i, false));
    // A second connection from the same address fits; a third does not.
    RawClient raw;
    CHECK(raw.connect(server.port("in")).up);
    ClientHandler& third = raw.connect(server.port("in"));
    CHECK_FALSE(third.up);
    CHECK(third.close_error == Errc::connection_refused);
    CHECK(third.reason == "max_connections_per_ip reached for this address");
    CHECK(server.stats().connections_refused == 1);
    CHECK(
        log.contains("hysteria2 in: connection from 127.0.0.1 refused: "
                     "max_connections_per_ip reached"));
    // The flows keep going; when the raw connection ends its place is free.
    CHECK(echo_transfer(flows[0], 64 << 10, 3100, false));
    raw.close(0);
    CHECK(wait_until([&] { return raw.connect(server.port("in")).up.load(); },
                     std::chrono::seconds(10), std::chrono::milliseconds(200)));
    close_all(flows);
  }
  REQUIRE(servers->stop());
  for (const std::string& p : {cert, key, ca}) std::remove(p.c_str());
}

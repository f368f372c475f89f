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

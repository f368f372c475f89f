// The buffer pool cap (EngineOptions::pool.max_bytes, the C ABI's
// pool_max_bytes) end to end on 127.0.0.1: a cap refuses new TLS work with
// limit_exceeded and a reason (in the handshake result and in the log)
// instead of breaking the handshake half-way, and a cap with room lets an
// ordinary Trojan fetch through.
#include <catch2/catch.hpp>

#include <cstdio>
#include <mutex>
#include <vector>

#include "../unit/transport/tls_test_util.hpp"
#include "inbound/instance.hpp"
#include "inbound/trojan_inbound.hpp"
#include "support.hpp"
#include "tls_support.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

std::unique_ptr<Engine> capped_engine(uint64_t max_bytes) {
  EngineOptions o;
  o.pool.max_bytes = max_bytes;
  auto e = Engine::create(o);
  REQUIRE(e);
  return std::move(*e);
}

// CappedSide is a config-built Instance on an Engine with a pool cap.
struct CappedSide {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;
  CappedSide(const std::string& json, uint64_t max_bytes) {
    ConfigDiagnostics diag;
    auto cfg = parse_config(json, &diag);
    INFO(diag.error);
    REQUIRE(cfg);
    engine = capped_engine(max_bytes);
    std::string why;
    auto inst = Instance::create(*engine, *cfg, &why);
    INFO(why);
    REQUIRE(inst);
    instance = std::move(*inst);
    REQUIRE(engine->start());
  }
  ~CappedSide() {
    REQUIRE(engine->stop());
    const EngineStats st = engine->stats();
    instance.reset();
    CHECK(st.objects == 0);
    CHECK(st.pool.chunks_outstanding == 0);
    CHECK(st.pool.reserved_blocks == 0);
    engine.reset();
  }
  uint16_t port(const char* tag) { return instance->inbound_port(tag); }
};

// TrojanCapRig: socks -> trojan client (client_cap) -> trojan server
// (server_cap) -> direct -> echo.
struct TrojanCapRig {
  Pki pki = make_pki("trojan.test");
  std::string cert_path, key_path, ca_path;
  std::unique_ptr<Engine> servers;
  std::unique_ptr<TestServer> echo;
  std::unique_ptr<CappedSide> server, client;

  TrojanCapRig(uint64_t server_cap, uint64_t client_cap) {
    cert_path = write_temp("pool_cap_test", "cert.pem", pki.leaf.certificate);
    key_path = write_temp("pool_cap_test", "key.pem", pki.leaf.private_key);
    ca_path = write_temp("pool_cap_test", "ca.pem", pki.ca.certificate);
    servers = std::move(*Engine::create());
    echo = std::make_unique<TestServer>(*servers, TestServer::Mode::echo);
    REQUIRE(servers->start());
    server = std::make_unique<CappedSide>(
        R"({"log":{"level":"warn"},"inbounds":[{"type":"trojan","tag":"in","listen":"127.0.0.1","listen_port":0,
            "users":[{"password":"correct horse"}],
            "tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
            cert_path + R"(","key_path":")" + key_path + R"("}}],
          "outbounds":[{"type":"direct","tag":"direct"}]})",
        server_cap);
    client = std::make_unique<CappedSide>(
        R"({"log":{"level":"warn"},"inbounds":[{"type":"socks","tag":"in","listen":"127.0.0.1","listen_port":0}],
          "outbounds":[{"type":"trojan","tag":"t","server":"127.0.0.1","server_port":)" +
            std::to_string(server->port("in")) +
            R"(,"password":"correct horse","tls":{"enabled":true,"server_name":"trojan.test","certificate_path":")" +
            ca_path + R"("}}]})",
        client_cap);
  }
  ~TrojanCapRig() {
    client.reset();
    server.reset();
    REQUIRE(servers->stop());
    echo.reset();
    servers.reset();
    for (const std::string& p : {cert_path, key_path, ca_path}) std::remove(p.c_str());
  }
  TrojanInboundStats server_stats() {
    return on_loop(*server->engine,
                   [this] { return server->instance->trojan_inbound("in")->stats(); });
  }
};

}  // namespace

TEST_CASE("pool cap: a Trojan server capped below one slab refuses with a reason",
          "[integration][pool_cap]") {
  LogCapture log;
  // The issue's case: 16-64 KiB used to break the handshake silently. With
  // slabs no 16 KiB-class slab (66 KiB) fits either cap; with SLUICE_NOPOOL
  // (one allocation per chunk, 16.2 KiB) only the 16 KiB cap is below one.
#ifdef SLUICE_NOPOOL
  const uint64_t caps[] = {uint64_t{16} << 10};
#else
  const uint64_t caps[] = {uint64_t{16} << 10, uint64_t{64} << 10};
#endif
  for (uint64_t cap : caps) {
    TrojanCapRig rig(cap, 0);
    int fd = tcp_connect(rig.client->port("in"));
    CHECK(socks5_connect(fd, "127.0.0.1", rig.echo->port()) != 0);
    ::close(fd);
    const TrojanInboundStats st = rig.server_stats();
    CHECK(st.accepted == 1);
    CHECK(st.tls_failures == 1);
    CHECK(st.relayed == 0);
    const PoolStats ps = rig.server->engine->stats().pool;
    CHECK(ps.refused == 1);
    CHECK(ps.high_water == 0);  // refused before a byte was read
    CHECK(log.contains("incoming handshake refused"));
    CHECK(log.contains("pool_max_bytes is " + std::to_string(cap)));
  }
}

TEST_CASE("pool cap: with room, an ordinary Trojan fetch works on capped engines",
          "[integration][pool_cap]") {
  // Two 16 KiB-class slabs, one 64 KiB slab and the 2 KiB slabs fit.
  const uint64_t cap = 512 << 10;
  TrojanCapRig rig(cap, cap);
  int fd = tcp_connect(rig.client->port("in"));
  REQUIRE(socks5_connect(fd, "127.0.0.1", rig.echo->port()) == 0);
  CHECK(echo_transfer(fd, 256 << 10, 5));
  CHECK(wait_eof(fd));
  ::close(fd);
  CHECK(rig.server_stats().relayed == 1);
  for (CappedSide* s : {rig.server.get(), rig.client.get()}) {
    const PoolStats ps = s->engine->stats().pool;
    CHECK(ps.refused == 0);
    CHECK(ps.high_water > 0);
    CHECK(ps.slab_bytes <= cap);
  }
}

TEST_CASE("pool cap: an outgoing TLS handshake past the cap fails with limit_exceeded",
          "[integration][pool_cap]") {
  LogCapture log;
  Pki pki = make_pki("localhost");
  auto servers = capped_engine(0);
  TlsEchoServer echo(*servers, server_ctx(server_options(pki.leaf)));
  REQUIRE(servers->start());
  {
    // Below one 16 KiB block (and slab): the dial connects, then the
    // handshake is refused before its ClientHello.
    auto client = capped_engine(16 << 10);
    TlsForwarder fwd(*client, client_ctx(client_options(pki.ca.certificate, "localhost")),
                     echo.port());
    REQUIRE(client->start());
    int fd = tcp_connect(fwd.port());
    CHECK(wait_eof(fd));
    ::close(fd);
    auto r = fwd.results();
    REQUIRE(r.size() == 1);
    CHECK(r[0].error == Errc::limit_exceeded);
    CHECK(r[0].reason.find("buffer pool cap reached") != std::string::npos);
    CHECK(log.contains("outgoing handshake refused"));
    REQUIRE(client->stop());
    CHECK(client->stats().pool.reserved_blocks == 0);
  }
  REQUIRE(servers->stop());
}

TEST_CASE("pool cap: a TLS flight the pool refuses names the cap, not a closed connection",
          "[integration][pool_cap]") {
  // Sans I/O: the ClientHello needs a 16 KiB chunk the capped pool cannot give.
  BufferPoolOptions po;
  po.max_bytes = 16 << 10;
  BufferPool pool(po);
  Pki pki = make_pki("localhost");
  auto c = tls::TlsConnection::client(client_ctx(client_options(pki.ca.certificate, "localhost")),
                                      pool, tls::TlsClientParams{});
  REQUIRE(c);
  CHECK((*c)->handshake() == tls::HandshakeProgress::failed);
  CHECK((*c)->error() == Errc::no_memory);
  CHECK((*c)->failure_reason() ==
        "buffer pool cap reached (pool_max_bytes 16384) writing TLS output");
  CHECK(pool.stats().failures >= 1);
}

// QUIC address-validation tokens and endpoint control packets end to end on
// 127.0.0.1 (sluice client <-> sluice server, real UDP sockets):
// NEW_TOKEN (RFC 9000 §8.1.3) issued after a handshake, kept by the client
// and spent on its next connection, which then skips the server's Retry;
// forged, foreign-key, expired, wrong-IP and type-confused tokens ignored
// (a Retry, the connection still succeeds); and Retry / Version
// Negotiation packets refused by a full socket queued and sent once it is
// writable, bounded.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "crypto/tls_session_cache.hpp"
#include "quic_support.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

struct Env {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  EchoServer server_handler;
  std::unique_ptr<quic::Endpoint> server, client;

  Env() {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
  }
  std::unique_ptr<quic::Endpoint> make_server(const quic::EndpointOptions& eo) {
    return on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, eo, server_tls(cert), &server_handler);
      REQUIRE(s);
      return std::move(*s);
    });
  }
  std::unique_ptr<quic::Endpoint> make_client(const quic::EndpointOptions& eo = {}) {
    return on_loop(*engine, [&] {
      auto c = quic::Endpoint::create(*engine, eo, client_tls(), nullptr);
      REQUIRE(c);
      return std::move(*c);
    });
  }
  void close_endpoint(std::unique_ptr<quic::Endpoint>& ep) { test::close_endpoint(*engine, ep); }
  ~Env() {
    close_endpoint(client);
    close_endpoint(server);
    REQUIRE(engine->stop());
    CHECK(engine->stats().pool.chunks_outstanding == 0);
  }
  uint16_t port() {
    return on_loop(*engine, [&] { return server->port(); });
  }
  quic::EndpointStats server_stats() {
    return on_loop(*engine, [&] { return server->stats(); });
  }
  quic::EndpointStats client_stats() {
    return on_loop(*engine, [&] { return client->stats(); });
  }
};

// take_token takes the token |ep| keeps for 127.0.0.1:|port| out of its store.
std::string take_token(quic::Endpoint& ep, uint16_t port) {
  sockaddr_in a{};
  uv_ip4_addr("127.0.0.1", port, &a);
  return ep.token_store()->take(reinterpret_cast<const sockaddr*>(&a));
}

// Connects |from| to the server, waits for the handshake, checks that the
// connection carries a stream, and closes it. Returns whether the server's
// transport parameters said a Retry happened.
bool round_trip(Env& env, quic::Endpoint& from, const quic::ConnectionOptions* co = nullptr) {
  ClientHandler h;
  const uint16_t port = env.port();
  quic::Connection* c = on_loop(*env.engine, [&] {
    auto r = from.connect("127.0.0.1", port, &h, co);
    REQUIRE(r);
    return *r;
  });
  REQUIRE(wait_until([&] { return h.up.load() || h.closed.load(); }, 10000ms));
  INFO(h.reason);
  REQUIRE(h.up.load());
  std::atomic<bool> done{false};
  Transfer* t = nullptr;
  on_loop(*env.engine, [&] {
    auto s = c->open_bidi_stream();
    REQUIRE(s);
    t = new Transfer(std::move(*s), env.engine->pool(), 64 * 1024, 5);
    t->on_done = [&](Transfer*) { done = true; };
  });
  REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
  const auto res = on_loop(*env.engine, [&] {
    const bool ok = t->ok();
    t->s->set_handler(nullptr);
    t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(c->native());
    const bool retried = rp->retry_scid_present != 0;
    c->close(0);
    return std::make_pair(ok, retried);
  });
  REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
  CHECK(res.first);
  return res.second;
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

sockaddr_in v4(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

std::vector<uint8_t> fixed_key() {
  std::vector<uint8_t> k(32);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0xa0 + i);
  return k;
}

// new_token seals a NEW_TOKEN under |key| for a client at |ip|, issued at |ms|.
std::string new_token(const std::vector<uint8_t>& key, const char* ip, uint64_t ms) {
  quic::RetryTokenKey k;
  REQUIRE(k.set_key(key));
  const auto a = v4(ip, 1);
  uint8_t tok[quic::RetryTokenKey::kNewTokenLen];
  REQUIRE(k.seal_new_token(reinterpret_cast<const sockaddr*>(&a), ms, tok));
  return std::string(reinterpret_cast<char*>(tok), sizeof tok);
}

// wait_for_token waits until |ep| has received |n| NEW_TOKEN frames in all.
void wait_for_token(Env& env, quic::Endpoint& ep, uint64_t n) {
  REQUIRE(wait_until(
      [&] { return on_loop(*env.engine, [&] { return ep.stats().new_tokens_received; }) >= n; },
      10000ms));
}

}  // namespace

TEST_CASE("QUIC NEW_TOKEN: the next connection to a Retry server skips the Retry",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.server = env.make_server(so);
  env.client = env.make_client();

  CHECK(round_trip(env, *env.client));  // first contact: a Retry
  wait_for_token(env, *env.client, 1);
  auto st = env.server_stats();
  CHECK(st.retries_sent == 1);
  CHECK(st.new_tokens_issued == 1);
  CHECK(on_loop(*env.engine, [&] { return env.client->token_store()->size(); }) == 1);

  CHECK_FALSE(round_trip(env, *env.client));  // the token validated the address
  st = env.server_stats();
  CHECK(st.retries_sent == 1);
  CHECK(st.new_tokens_accepted == 1);
  CHECK(st.new_tokens_rejected == 0);
  CHECK(st.invalid_tokens == 0);
  CHECK(st.connections_accepted == 2);
  CHECK(env.client_stats().new_tokens_used == 1);

  // Each connection brings a fresh token; each token is spent once.
  wait_for_token(env, *env.client, 2);
  CHECK_FALSE(round_trip(env, *env.client));
  st = env.server_stats();
  CHECK(st.retries_sent == 1);
  CHECK(st.new_tokens_accepted == 2);
  CHECK(st.new_tokens_issued == 3);
  CHECK(env.client_stats().new_tokens_used == 2);
}

namespace {

// EarlyServer echoes streams and counts those that arrived as 0-RTT.
struct EarlyServer final : quic::AcceptHandler, quic::ConnectionHandler {
  std::atomic<int> streams{0};
  std::atomic<int> early_streams{0};
  void on_connection(quic::Connection& c) override { c.set_handler(this); }
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override {
    streams++;
    if (!c.handshake_completed()) early_streams++;
    new EchoStream(std::move(s));
  }
};

}  // namespace

TEST_CASE("QUIC NEW_TOKEN: a new client Endpoint of the same Engine uses the token",
          "[integration][quic]") {
  // What a reconnect through QuicDial does: a new Endpoint (new socket) to
  // the same server. The Engine's store is shared, so the token is found.
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.server = env.make_server(so);
  env.client = env.make_client();
  CHECK(round_trip(env, *env.client));  // a Retry, then a token
  wait_for_token(env, *env.client, 1);
  env.close_endpoint(env.client);

  auto again = env.make_client();
  CHECK(on_loop(*env.engine, [&] { return again->token_store()->size(); }) == 1);
  CHECK_FALSE(round_trip(env, *again));  // no Retry this time
  CHECK(env.server_stats().retries_sent == 1);
  CHECK(on_loop(*env.engine, [&] { return again->stats().new_tokens_used; }) == 1);

  // A client with a store of its own neither sees nor feeds the Engine's.
  quic::EndpointOptions own;
  own.token_store = std::make_shared<quic::TokenStore>();
  auto apart = env.make_client(own);
  CHECK(round_trip(env, *apart));  // a Retry: its store was empty
  CHECK(env.server_stats().retries_sent == 2);
  env.close_endpoint(again);
  env.close_endpoint(apart);
}

TEST_CASE("QUIC NEW_TOKEN lets a resumed client's 0-RTT through a Retry server",
          "[integration][quic]") {
  Env env;
  EarlyServer early;
  quic::QuicTlsOptions sto;
  sto.server = true;
  sto.alpn = {"sluice-test"};
  sto.cert_pem = env.cert.cert_pem;
  sto.key_pem = env.cert.key_pem;
  sto.enable_early_data = true;
  auto sctx = quic::QuicTlsContext::create(sto);
  REQUIRE(sctx);
  std::shared_ptr<quic::QuicTlsContext> server_ctx(std::move(*sctx));
  quic::QuicTlsOptions cto;
  cto.alpn = {"sluice-test"};
  cto.server_name = "localhost";
  cto.verify_peer = false;
  cto.enable_early_data = true;
  auto cctx = quic::QuicTlsContext::create(cto);
  REQUIRE(cctx);
  std::shared_ptr<quic::QuicTlsContext> client_ctx(std::move(*cctx));
  quic::EndpointOptions so;
  so.retry = true;
  quic::EndpointOptions co;
  co.session_cache = std::make_shared<tls::TlsSessionCache>();
  on_loop(*env.engine, [&] {
    auto s = quic::Endpoint::create(*env.engine, so, server_ctx, &early);
    REQUIRE(s);
    env.server = std::move(*s);
    auto c = quic::Endpoint::create(*env.engine, co, client_ctx, nullptr);
    REQUIRE(c);
    env.client = std::move(*c);
  });
  const uint16_t port = env.port();
  for (int round = 0; round < 2; ++round) {
    INFO("connection " << round);
    ClientHandler h;
    std::atomic<bool> done{false};
    Transfer* t = nullptr;
    bool attempted = false;
    quic::Connection* c = on_loop(*env.engine, [&] {
      auto r = env.client->connect("127.0.0.1", port, &h);
      REQUIRE(r);
      attempted = (*r)->early_data_attempted();
      if (attempted) {  // written in the connect() turn: 0-RTT only
        auto s = (*r)->open_bidi_stream();
        REQUIRE(s);
        t = new Transfer(std::move(*s), env.engine->pool(), 32 * 1024, 9);
        t->on_done = [&](Transfer*) { done = true; };
      }
      return *r;
    });
    CHECK(attempted == (round == 1));
    REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
    if (!attempted) {
      on_loop(*env.engine, [&] {
        auto s = c->open_bidi_stream();
        REQUIRE(s);
        t = new Transfer(std::move(*s), env.engine->pool(), 32 * 1024, 9);
        t->on_done = [&](Transfer*) { done = true; };
      });
    }
    REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
    const bool accepted = on_loop(*env.engine, [&] {
      CHECK(t->ok());
      t->s->set_handler(nullptr);
      t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
      return c->early_data_accepted();
    });
    CHECK(accepted == (round == 1));
    if (round == 0) {
      // A ticket and a token for the next connection.
      REQUIRE(wait_until(
          [&] {
            return on_loop(*env.engine, [&] {
              return co.session_cache->tickets() > 0 && env.client->token_store()->size() == 1;
            });
          },
          10000ms));
    }
    on_loop(*env.engine, [&] { c->close(0); });
    REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
  }
  const auto st = env.server_stats();
  CHECK(st.retries_sent == 1);  // the second connection was validated by its token
  CHECK(st.new_tokens_accepted == 1);
  CHECK(early.early_streams.load() == 1);
  env.close_endpoint(env.client);
  env.close_endpoint(env.server);  // before |early| goes
}

TEST_CASE("QUIC NEW_TOKEN switched off: no token, every connection gets a Retry",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  so.issue_new_tokens = false;
  env.server = env.make_server(so);
  env.client = env.make_client();
  CHECK(round_trip(env, *env.client));
  CHECK(round_trip(env, *env.client));
  const auto st = env.server_stats();
  CHECK(st.new_tokens_issued == 0);
  CHECK(st.retries_sent == 2);
  CHECK(st.new_tokens_accepted == 0);
  CHECK(env.client_stats().new_tokens_used == 0);
}

TEST_CASE("QUIC NEW_TOKEN without Retry: accepted, and a bad one changes nothing",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.token_key = fixed_key();
  env.server = env.make_server(so);
  env.client = env.make_client();
  CHECK_FALSE(round_trip(env, *env.client));
  wait_for_token(env, *env.client, 1);
  CHECK_FALSE(round_trip(env, *env.client));
  auto st = env.server_stats();
  CHECK(st.new_tokens_accepted == 1);
  CHECK(st.retries_sent == 0);
  quic::ConnectionOptions co;
  co.initial_token = new_token(fixed_key(), "127.0.0.1", wall_ms());
  co.initial_token[20] ^= 1;
  CHECK_FALSE(round_trip(env, *env.client, &co));
  st = env.server_stats();
  CHECK(st.new_tokens_rejected == 1);
  CHECK(st.retries_sent == 0);
  CHECK(st.connections_accepted == 3);
}

TEST_CASE("QUIC Retry server ignores NEW_TOKENs it cannot honour and sends a Retry",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  so.token_key = fixed_key();
  so.new_token_lifetime_ms = 3600 * 1000;
  env.server = env.make_server(so);
  env.client = env.make_client();
  quic::ConnectionOptions co;

  SECTION("a token sealed under the server's key for this IP is honoured") {
    co.initial_token = new_token(fixed_key(), "127.0.0.1", wall_ms());
    CHECK_FALSE(round_trip(env, *env.client, &co));
    const auto st = env.server_stats();
    CHECK(st.new_tokens_accepted == 1);
    CHECK(st.retries_sent == 0);
    return;
  }
  SECTION("forged") {
    co.initial_token.assign(quic::RetryTokenKey::kNewTokenLen, '\x33');
    co.initial_token[0] = static_cast<char>(quic::RetryTokenKey::kNewTokenMagic);
  }
  SECTION("another server's key") {
    auto other = fixed_key();
    other[0] ^= 0xff;
    co.initial_token = new_token(other, "127.0.0.1", wall_ms());
  }
  SECTION("expired") {
    co.initial_token = new_token(fixed_key(), "127.0.0.1", wall_ms() - 3600 * 1000 - 60000);
  }
  SECTION("issued in the future beyond the clock skew") {
    co.initial_token = new_token(fixed_key(), "127.0.0.1",
                                 wall_ms() + quic::RetryTokenKey::kNewTokenClockSkewMs + 60000);
  }
  SECTION("issued to another IP") {
    co.initial_token = new_token(fixed_key(), "127.0.0.2", wall_ms());
  }
  SECTION("a Retry token relabelled as a NEW_TOKEN") {
    quic::RetryTokenKey k;
    REQUIRE(k.set_key(fixed_key()));
    const auto a = v4("127.0.0.1", 1);
    ngtcp2_cid odcid, scid;
    odcid.datalen = 18;
    std::memset(odcid.data, 1, odcid.datalen);
    scid.datalen = 16;
    std::memset(scid.data, 2, scid.datalen);
    uint8_t tok[quic::RetryTokenKey::kTokenLen];
    REQUIRE(k.seal(reinterpret_cast<const sockaddr*>(&a), odcid, scid, 0, tok));
    co.initial_token.assign(reinterpret_cast<char*>(tok), quic::RetryTokenKey::kNewTokenLen);
    co.initial_token[0] = static_cast<char>(quic::RetryTokenKey::kNewTokenMagic);
  }
  CHECK(round_trip(env, *env.client, &co));
  const auto st = env.server_stats();
  CHECK(st.new_tokens_rejected == 1);
  CHECK(st.new_tokens_accepted == 0);
  CHECK(st.retries_sent == 1);
  CHECK(st.invalid_tokens == 0);
  CHECK(st.connections_accepted == 1);
}

TEST_CASE("QUIC NEW_TOKEN from one client address is no good from another", "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.server = env.make_server(so);
  env.client = env.make_client();
  CHECK(round_trip(env, *env.client));
  wait_for_token(env, *env.client, 1);
  const uint16_t port = env.port();
  quic::ConnectionOptions co;
  co.initial_token = on_loop(*env.engine, [&] { return take_token(*env.client, port); });
  REQUIRE(co.initial_token.size() == quic::RetryTokenKey::kNewTokenLen);
  CHECK(on_loop(*env.engine, [&] { return env.client->token_store()->size(); }) == 0);
  // The same token from 127.0.0.2 (another host, as far as the server
  // knows): ignored, a Retry, and the connection still comes up.
  quic::EndpointOptions other;
  other.bind_host = "127.0.0.2";
  auto second = env.make_client(other);
  CHECK(round_trip(env, *second, &co));
  auto st = env.server_stats();
  CHECK(st.new_tokens_rejected == 1);
  CHECK(st.new_tokens_accepted == 0);
  CHECK(st.retries_sent == 2);
  env.close_endpoint(second);
  // From the address it was issued to, the same token still works: the
  // server keeps no state, the client is the one that spends tokens once.
  CHECK_FALSE(round_trip(env, *env.client, &co));
  st = env.server_stats();
  CHECK(st.new_tokens_accepted == 1);
  CHECK(st.retries_sent == 2);
}

TEST_CASE("QUIC type confusion: a NEW_TOKEN relabelled as a Retry token, a Retry token replayed",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  so.token_key = fixed_key();
  env.server = env.make_server(so);
  env.client = env.make_client();

  SECTION("a NEW_TOKEN with the Retry magic is not a Retry token: a Retry") {
    quic::ConnectionOptions co;
    co.initial_token = new_token(fixed_key(), "127.0.0.1", wall_ms());
    co.initial_token[0] = static_cast<char>(quic::RetryTokenKey::kMagic);
    CHECK(round_trip(env, *env.client, &co));
    const auto st = env.server_stats();
    CHECK(st.new_tokens_accepted == 0);
    CHECK(st.invalid_tokens == 1);  // counted as a foreign token
    CHECK(st.retries_sent == 1);
  }
  SECTION("a genuine Retry token in a first Initial is refused with INVALID_TOKEN") {
    // Sealed by the server's key for this client's address, but for
    // another DCID than the Initial's: a Retry token cannot stand in for a
    // NEW_TOKEN.
    quic::RetryTokenKey k;
    REQUIRE(k.set_key(fixed_key()));
    const auto a = on_loop(*env.engine, [&] {
      sockaddr_in x;
      std::memcpy(&x, &env.client->socket().local_address(), sizeof x);
      return x;
    });
    ngtcp2_cid odcid, scid;
    odcid.datalen = 18;
    std::memset(odcid.data, 1, odcid.datalen);
    scid.datalen = 16;
    std::memset(scid.data, 2, scid.datalen);
    uint8_t tok[quic::RetryTokenKey::kTokenLen];
    REQUIRE(k.seal(reinterpret_cast<const sockaddr*>(&a), odcid, scid,
                   on_loop(*env.engine, [&] { return uv_now(env.engine->loop()); }), tok));
    quic::ConnectionOptions co;
    co.initial_token.assign(reinterpret_cast<char*>(tok), sizeof tok);
    ClientHandler h;
    const uint16_t port = env.port();
    on_loop(*env.engine, [&] { REQUIRE(env.client->connect("127.0.0.1", port, &h, &co)); });
    REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
    CHECK_FALSE(h.up.load());
    CHECK(h.reason == "invalid Retry token");
    const auto st = env.server_stats();
    CHECK(st.new_tokens_accepted == 0);
    CHECK(st.connections_accepted == 0);
    CHECK(st.invalid_tokens >= 1);
    env.close_endpoint(env.client);  // before |h| goes
  }
}

TEST_CASE("QUIC client keeps the newest token per server, bounded, oldest evicted",
          "[integration][quic]") {
  Env env;
  std::unique_ptr<quic::Endpoint> servers[3];
  for (auto& s : servers) s = env.make_server({});
  quic::EndpointOptions co;
  co.token_store = std::make_shared<quic::TokenStore>(2);
  env.client = env.make_client(co);
  uint16_t ports[3];
  for (int i = 0; i < 3; ++i) {
    ports[i] = on_loop(*env.engine, [&] { return servers[i]->port(); });
    ClientHandler h;
    quic::Connection* c = on_loop(*env.engine, [&] {
      auto r = env.client->connect("127.0.0.1", ports[i], &h);
      REQUIRE(r);
      return *r;
    });
    REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
    wait_for_token(env, *env.client, static_cast<uint64_t>(i + 1));
    on_loop(*env.engine, [&] { c->close(0); });
    REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
  }
  on_loop(*env.engine, [&] {
    CHECK(env.client->token_store()->size() == 2);
    CHECK(take_token(*env.client, ports[0]).empty());  // evicted
    CHECK(take_token(*env.client, ports[1]).size() == quic::RetryTokenKey::kNewTokenLen);
    CHECK(take_token(*env.client, ports[2]).size() == quic::RetryTokenKey::kNewTokenLen);
    CHECK(env.client->token_store()->size() == 0);
  });
  for (auto& s : servers) env.close_endpoint(s);
}

TEST_CASE("QUIC endpoint options: a token key must be 32 bytes", "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.token_key.assign(16, 1);
  on_loop(*env.engine, [&] {
    auto s = quic::Endpoint::create(*env.engine, so, server_tls(env.cert), &env.server_handler);
    REQUIRE_FALSE(s);
    CHECK(s.error() == Errc::invalid_argument);
  });
}

TEST_CASE("QUIC Retry refused by a full socket is queued and sent when writable",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.server = env.make_server(so);
  env.client = env.make_client();
  // Loopback never fills a UDP send buffer, so the socket refuses its next
  // send as a full one does: EAGAIN, then a POLLOUT wait (udp_socket.hpp).
  on_loop(*env.engine, [&] { env.server->socket().inject_would_block(1); });
  CHECK(round_trip(env, *env.client));
  const auto st = env.server_stats();
  // One Retry, delivered from the queue: without it the client would have
  // resent its Initial after a PTO and drawn a second Retry.
  CHECK(st.retries_sent == 1);
  CHECK(st.control_queued == 1);
  CHECK(st.control_dropped == 0);
  on_loop(*env.engine, [&] {
    CHECK(env.server->control_queue_size() == 0);
    CHECK(env.server->socket().stats().send_would_block == 1);
    CHECK(env.server->socket().stats().writable_waits >= 1);
  });
}

TEST_CASE("QUIC Version Negotiation packets wait for a writable socket, bounded",
          "[integration][quic]") {
  Env env;
  env.server = env.make_server({});
  const uint16_t port = env.port();
  // A plain UDP socket speaking an unknown QUIC version.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  auto self = v4("127.0.0.1", 0);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) == 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto to = v4("127.0.0.1", port);
  constexpr int kSent = 20;
  const size_t queue = quic::Endpoint::kControlQueue;
  // All datagrams are sent from the loop thread, so the server reads them in
  // one receive round: the first VN is refused (twice: once more when the
  // queue is first flushed), the next ones queue behind it up to the bound.
  on_loop(*env.engine, [&] {
    env.server->socket().inject_would_block(2);
    uint8_t pkt[1200] = {};
    pkt[0] = 0xc0;
    const uint8_t version[4] = {0xba, 0xba, 0xba, 0xba};
    std::memcpy(pkt + 1, version, 4);
    pkt[5] = 8;  // DCID length, DCID, SCID length, SCID
    std::memset(pkt + 6, 0x11, 8);
    pkt[14] = 8;
    for (int i = 0; i < kSent; ++i) {
      std::memset(pkt + 15, i, 8);  // each SCID comes back as the VN's DCID
      REQUIRE(::sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
              static_cast<ssize_t>(sizeof pkt));
    }
  });
  // The queued ones arrive, in order, each a Version Negotiation packet.
  for (size_t i = 0; i < queue; ++i) {
    uint8_t buf[1500];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 23);
    CHECK((buf[0] & 0x80) != 0);
    CHECK((buf[1] | buf[2] | buf[3] | buf[4]) == 0);  // version 0: VN
    CHECK(buf[5] == 8);
    CHECK(buf[6] == static_cast<uint8_t>(i));  // DCID = the i-th datagram's SCID
  }
  ::close(fd);
  const auto st = env.server_stats();
  CHECK(st.version_negotiations == kSent);
  CHECK(st.control_queued == queue);
  CHECK(st.control_dropped == kSent - queue);
  on_loop(*env.engine, [&] {
    CHECK(env.server->control_queue_size() == 0);
    CHECK(env.server->socket().stats().send_would_block == 2);
    CHECK(env.server->socket().stats().datagrams_sent == queue);
  });
}

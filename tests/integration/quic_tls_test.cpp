// QUIC TLS features end to end on 127.0.0.1 (sluice client <-> sluice server):
// session resumption and 0-RTT from the Engine's ticket cache (accepted,
// rejected by a server with new ticket keys, rejected by a server with new
// limits), stateless Retry address validation, certificate pins and CA
// verification shared with the TLS transport, and ECH.
#include <openssl/ssl.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "crypto/tls_ech.hpp"
#include "crypto/tls_session_cache.hpp"
#include "crypto/tls_verify.hpp"
#include "quic_support.hpp"
#include "transport/tls_session_registry.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

// Server echoes every stream and counts streams that arrived in 0-RTT
// (before its handshake completed).
struct Server final : quic::AcceptHandler, quic::ConnectionHandler {
  std::atomic<int> handshakes{0};
  std::atomic<int> streams{0};
  std::atomic<int> early_streams{0};
  std::atomic<bool> last_resumed{false};
  void on_connection(quic::Connection& c) override { c.set_handler(this); }
  void on_handshake_done(quic::Connection& c) override {
    last_resumed = c.session_resumed();
    handshakes++;
  }
  void on_stream(quic::Connection& c, std::unique_ptr<quic::QuicStream> s) override {
    streams++;
    if (!c.handshake_completed()) early_streams++;
    new EchoStream(std::move(s));
  }
};

struct Env {
  std::unique_ptr<Engine> engine;
  SelfSigned cert = make_self_signed();
  Server server_handler;
  std::unique_ptr<quic::Endpoint> server, client;
  std::shared_ptr<quic::QuicTlsContext> server_ctx;

  Env() {
    engine = std::move(*Engine::create());
    REQUIRE(engine->start());
  }
  void start_server(const quic::QuicTlsOptions& so, quic::EndpointOptions eo = {}) {
    server_ctx = make_tls(so);
    on_loop(*engine, [&] {
      auto s = quic::Endpoint::create(*engine, eo, server_ctx, &server_handler);
      REQUIRE(s);
      server = std::move(*s);
    });
  }
  void start_client(const quic::QuicTlsOptions& co, quic::EndpointOptions eo = {}) {
    auto ctx = make_tls(co);
    on_loop(*engine, [&] {
      auto c = quic::Endpoint::create(*engine, eo, ctx, nullptr);
      REQUIRE(c);
      client = std::move(*c);
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
};

// Connect and wait for the handshake; returns the connection.
quic::Connection* connect(Env& env, ClientHandler& h, uint16_t port) {
  quic::Connection* c = on_loop(*env.engine, [&] {
    auto r = env.client->connect("127.0.0.1", port, &h);
    REQUIRE(r);
    return *r;
  });
  return c;
}

// Close a connection and wait until the client heard about it.
void close_conn(Env& env, quic::Connection* c, ClientHandler& h) {
  on_loop(*env.engine, [&] { c->close(0); });
  REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
}

// EarlyResult is what a second, resuming connection saw.
struct EarlyResult {
  bool attempted = false, resumed = false, accepted = false, rejected = false, ok = false;
};

// resume_with_data connects, opens a stream and writes |bytes| before the
// handshake (0-RTT when a ticket allows), and waits for the echo.
EarlyResult resume_with_data(Env& env, uint16_t port, size_t bytes) {
  ClientHandler h;
  std::atomic<bool> done{false};
  Transfer* t = nullptr;
  EarlyResult r;
  quic::Connection* c = on_loop(*env.engine, [&] {
    auto cr = env.client->connect("127.0.0.1", port, &h);
    REQUIRE(cr);
    quic::Connection* conn = *cr;
    r.attempted = conn->early_data_attempted();
    if (r.attempted) {
      // Opened and written in the same loop turn as connect(): the bytes
      // can only go out as 0-RTT (or, rejected, again as 1-RTT).
      auto s = conn->open_bidi_stream();
      REQUIRE(s);
      t = new Transfer(std::move(*s), env.engine->pool(), bytes, 7);
      t->on_done = [&](Transfer*) { done = true; };
    }
    return conn;
  });
  REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
  if (!r.attempted) {
    on_loop(*env.engine, [&] {
      auto s = c->open_bidi_stream();
      REQUIRE(s);
      t = new Transfer(std::move(*s), env.engine->pool(), bytes, 7);
      t->on_done = [&](Transfer*) { done = true; };
    });
  }
  REQUIRE(wait_until([&] { return done.load(); }));
  on_loop(*env.engine, [&] {
    r.ok = t->ok();
    r.resumed = c->session_resumed();
    r.accepted = c->early_data_accepted();
    r.rejected = c->early_data_rejected();
    t->s->set_handler(nullptr);
    t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
  });
  close_conn(env, c, h);
  return r;
}

// first_connection makes a full handshake and waits for a ticket in |cache|.
void first_connection(Env& env, uint16_t port, tls::TlsSessionCache& cache) {
  ClientHandler h;
  quic::Connection* c = connect(env, h, port);
  REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
  CHECK_FALSE(on_loop(*env.engine, [&] { return c->session_resumed(); }));
  CHECK_FALSE(on_loop(*env.engine, [&] { return c->early_data_attempted(); }));
  REQUIRE(wait_until([&] { return on_loop(*env.engine, [&] { return cache.tickets(); }) > 0; }));
  close_conn(env, c, h);
}

// start_with_ticket starts a server that accepts 0-RTT and a client with its
// own ticket cache (offering 0-RTT if |client_early_data|), makes a first
// full handshake that leaves a ticket in that cache, and returns the
// server's port.
uint16_t start_with_ticket(Env& env, bool client_early_data) {
  auto so = server_opts(env.cert);
  so.enable_early_data = true;
  env.start_server(so);
  auto co = client_opts();
  co.enable_early_data = client_early_data;
  quic::EndpointOptions eo;
  eo.session_cache = std::make_shared<tls::TlsSessionCache>();
  env.start_client(co, eo);
  const uint16_t port = env.port();
  first_connection(env, port, *eo.session_cache);
  return port;
}

}  // namespace

TEST_CASE("QUIC resumes from the Engine's shared ticket cache and sends 0-RTT",
          "[integration][quic][tls]") {
  Env env;
  auto so = server_opts(env.cert);
  so.enable_early_data = true;
  env.start_server(so);
  auto co = client_opts();
  co.enable_early_data = true;
  env.start_client(co);  // default: the Engine's cache, as TLS clients use
  auto cache = on_loop(*env.engine, [&] { return session_cache_for(*env.engine); });
  const uint16_t port = env.port();
  first_connection(env, port, *cache);
  CHECK(env.server_handler.early_streams.load() == 0);

  EarlyResult r = resume_with_data(env, port, 64 * 1024);
  CHECK(r.attempted);
  CHECK(r.ok);  // echoed and hash-checked
  CHECK(r.resumed);
  CHECK(r.accepted);
  CHECK_FALSE(r.rejected);
  CHECK(env.server_handler.last_resumed.load());
  // The stream reached the server before its handshake completed: 0-RTT.
  CHECK(env.server_handler.early_streams.load() == 1);
}

TEST_CASE("QUIC resumption without 0-RTT when the client does not enable it",
          "[integration][quic][tls]") {
  Env env;
  const uint16_t port = start_with_ticket(env, /*client_early_data=*/false);
  EarlyResult r = resume_with_data(env, port, 1000);
  CHECK_FALSE(r.attempted);
  CHECK(r.ok);
  CHECK(r.resumed);
  CHECK_FALSE(r.accepted);
  CHECK(env.server_handler.early_streams.load() == 0);
}

TEST_CASE("QUIC 0-RTT rejected by a server with new ticket keys is re-sent as 1-RTT",
          "[integration][quic][tls]") {
  Env env;
  const uint16_t port = start_with_ticket(env, /*client_early_data=*/true);
  on_loop(*env.engine, [&] {
    // A restarted server: new ticket keys, the old ticket cannot be opened.
    uint8_t keys[48];
    random_bytes(keys);
    REQUIRE(SSL_CTX_set_tlsext_ticket_keys(env.server_ctx->native(), keys, sizeof keys) == 1);
  });
  EarlyResult r = resume_with_data(env, port, 200 * 1024);
  CHECK(r.attempted);
  CHECK(r.rejected);
  CHECK_FALSE(r.accepted);
  CHECK_FALSE(r.resumed);
  CHECK(r.ok);  // every byte arrived once, in order, hash-checked
  CHECK(env.server_handler.early_streams.load() == 0);
  CHECK(env.server_handler.streams.load() == 1);
}

TEST_CASE("QUIC 0-RTT rejected by a server with lower limits; the session still resumes",
          "[integration][quic][tls]") {
  Env env;
  const uint16_t port = start_with_ticket(env, /*client_early_data=*/true);
  // Same TLS context (same ticket keys), new endpoint on the same port with
  // a smaller stream window: the 0-RTT context differs (RFC 9000 §7.4.1).
  env.close_endpoint(env.server);
  quic::EndpointOptions so2;
  so2.bind_port = port;
  so2.connection.stream_window = 1u << 20;
  on_loop(*env.engine, [&] {
    auto s = quic::Endpoint::create(*env.engine, so2, env.server_ctx, &env.server_handler);
    REQUIRE(s);
    env.server = std::move(*s);
  });
  EarlyResult r = resume_with_data(env, port, 100 * 1024);
  CHECK(r.attempted);
  CHECK(r.rejected);
  CHECK(r.resumed);
  CHECK(r.ok);
  CHECK(env.server_handler.early_streams.load() == 0);
}

TEST_CASE("QUIC server address validation with a stateless Retry", "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.start_server(server_opts(env.cert), so);
  env.start_client(client_opts());
  ClientHandler h;
  quic::Connection* c = connect(env, h, env.port());
  // The client checks retry_source_connection_id and the original DCID in
  // the server's transport parameters (RFC 9000 §7.3): a handshake that
  // completes proves both are right.
  REQUIRE(wait_until([&] { return h.up.load(); }, 10000ms));
  std::atomic<bool> done{false};
  Transfer* t = nullptr;
  on_loop(*env.engine, [&] {
    auto s = c->open_bidi_stream();
    REQUIRE(s);
    t = new Transfer(std::move(*s), env.engine->pool(), 256 * 1024, 3);
    t->on_done = [&](Transfer*) { done = true; };
  });
  REQUIRE(wait_until([&] { return done.load(); }));
  auto st = on_loop(*env.engine, [&] {
    const bool ok = t->ok();
    t->s->set_handler(nullptr);
    t->s->close([](void* u) { delete static_cast<Transfer*>(u); }, t);
    auto stats = env.server->stats();
    const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(c->native());
    CHECK(rp->retry_scid_present);
    return std::make_pair(ok, stats);
  });
  CHECK(st.first);
  CHECK(st.second.retries_sent == 1);
  CHECK(st.second.invalid_tokens == 0);
  CHECK(st.second.connections_accepted == 1);
  close_conn(env, c, h);
}

TEST_CASE("QUIC certificate pins and CA verification as the TLS transport does",
          "[integration][quic][tls]") {
  Env env;
  env.start_server(server_opts(env.cert));
  const uint16_t port = env.port();
  auto pins = tls::leaf_pins_pem(env.cert.cert_pem);
  REQUIRE(pins);
  struct Case {
    const char* name;
    quic::QuicTlsOptions o;
    Errc want;
  };
  std::vector<Case> cases;
  {
    auto o = client_opts();
    o.verify_peer = true;
    o.cert_pins_hex = {pins->first};
    cases.push_back({"certificate SHA-256 pin matches", o, Errc::ok});
  }
  {
    auto o = client_opts();
    o.verify_peer = true;
    o.spki_pins_b64 = {pins->second};
    o.server_name = "not-the-name.example";  // a pin replaces the name check
    cases.push_back({"public-key SHA-256 pin matches", o, Errc::ok});
  }
  {
    auto o = client_opts();
    o.verify_peer = true;
    o.cert_pins_hex = {std::string(64, 'a')};
    cases.push_back({"pin mismatch", o, Errc::pin_mismatch});
  }
  {
    auto o = client_opts();
    o.verify_peer = true;
    o.ca_pem = env.cert.cert_pem;
    cases.push_back({"custom CA and the right name", o, Errc::ok});
  }
  {
    auto o = client_opts();
    o.verify_peer = true;
    o.ca_pem = env.cert.cert_pem;
    o.server_name = "other.example";
    cases.push_back({"custom CA, wrong name", o, Errc::cert_verify_failed});
  }
  {
    auto o = client_opts();
    o.verify_peer = true;  // system store: a self-signed leaf is unknown
    cases.push_back({"system store", o, Errc::cert_verify_failed});
  }
  for (auto& cs : cases) {
    INFO(cs.name);
    quic::EndpointOptions eo;
    eo.resume_sessions = false;
    env.start_client(cs.o, eo);
    ClientHandler h;
    connect(env, h, port);
    REQUIRE(wait_until([&] { return h.up.load() || h.closed.load(); }, 10000ms));
    if (cs.want == Errc::ok) {
      CHECK(h.up.load());
    } else {
      REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
      CHECK_FALSE(h.up.load());
      CHECK(h.close_error == cs.want);
      INFO(h.reason);
      CHECK(h.reason.find(cs.want == Errc::pin_mismatch ? "pin mismatch" : "verify failed") !=
            std::string::npos);
    }
    env.close_endpoint(env.client);  // its connection's handler |h| ends here
  }
}

TEST_CASE("QUIC with ECH: accepted, inner name authenticated", "[integration][quic][tls]") {
  Env env;
  auto kp = tls::generate_ech_keypair("public.example");
  REQUIRE(kp);
  auto so = server_opts(env.cert);
  so.ech_keys_pem = kp->keys;
  env.start_server(so);
  std::string why;
  auto list = tls::ech_config_list_from_text(kp->configs, &why);
  REQUIRE(list);
  auto co = client_opts();
  co.verify_peer = true;
  co.ca_pem = env.cert.cert_pem;  // and the name "localhost" from the inner hello
  co.ech_config_list = *list;
  env.start_client(co);
  ClientHandler h;
  quic::Connection* c = connect(env, h, env.port());
  REQUIRE(wait_until([&] { return h.up.load() || h.closed.load(); }, 10000ms));
  INFO(h.reason);
  REQUIRE(h.up.load());
  CHECK(on_loop(*env.engine, [&] { return c->ech_accepted(); }));
  close_conn(env, c, h);
}

TEST_CASE("QUIC with ECH: a server with other keys rejects it and offers retry configs",
          "[integration][quic][tls]") {
  Env env;
  auto server_kp = tls::generate_ech_keypair("public.example");
  auto stale_kp = tls::generate_ech_keypair("public.example");
  REQUIRE(server_kp);
  REQUIRE(stale_kp);
  auto so = server_opts(env.cert);
  so.ech_keys_pem = server_kp->keys;
  env.start_server(so);
  std::string why;
  auto stale = tls::ech_config_list_from_text(stale_kp->configs, &why);
  auto current = tls::ech_config_list_from_text(server_kp->configs, &why);
  REQUIRE(stale);
  REQUIRE(current);
  auto co = client_opts();  // insecure: the outer certificate is not for public.example
  co.ech_config_list = *stale;
  env.start_client(co);
  ClientHandler h;
  connect(env, h, env.port());
  REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
  CHECK_FALSE(h.up.load());
  CHECK(h.close_error == Errc::ech_rejected);
  INFO(h.reason);
  CHECK(h.reason.find("retry configs") != std::string::npos);
  CHECK(h.retry == *current);  // Connection::ech_retry_configs() in on_closed
}

TEST_CASE("QUIC Retry server: foreign tokens get a Retry, forged ones INVALID_TOKEN",
          "[integration][quic]") {
  Env env;
  quic::EndpointOptions so;
  so.retry = true;
  env.start_server(server_opts(env.cert), so);
  env.start_client(client_opts());
  const uint16_t port = env.port();

  SECTION("another server's token counts as none") {
    quic::ConnectionOptions co;
    co.initial_token = std::string(30, '\x07');
    ClientHandler h;
    on_loop(*env.engine, [&] { REQUIRE(env.client->connect("127.0.0.1", port, &h, &co)); });
    REQUIRE(wait_until([&] { return h.up.load() || h.closed.load(); }, 10000ms));
    CHECK(h.up.load());
    auto st = on_loop(*env.engine, [&] { return env.server->stats(); });
    CHECK(st.invalid_tokens == 1);
    CHECK(st.retries_sent == 1);
    CHECK(st.connections_accepted == 1);
    env.close_endpoint(env.client);  // before |h| goes
  }
  SECTION("a forged token shaped like ours is refused with INVALID_TOKEN") {
    quic::ConnectionOptions co;
    co.initial_token.assign(quic::RetryTokenKey::kTokenLen, '\x01');
    co.initial_token[0] = static_cast<char>(quic::RetryTokenKey::kMagic);
    ClientHandler h;
    on_loop(*env.engine, [&] { REQUIRE(env.client->connect("127.0.0.1", port, &h, &co)); });
    REQUIRE(wait_until([&] { return h.closed.load(); }, 10000ms));
    CHECK_FALSE(h.up.load());
    INFO(h.reason);
    // The client drains on the server's CONNECTION_CLOSE (transport error
    // INVALID_TOKEN, 0x0b) instead of timing out.
    CHECK(h.close_error == Errc::protocol_violation);
    CHECK(h.reason == "invalid Retry token");
    auto st = on_loop(*env.engine, [&] { return env.server->stats(); });
    CHECK(st.invalid_tokens >= 1);
    CHECK(st.retries_sent == 0);
    CHECK(st.connections_accepted == 0);
    CHECK(env.server->connection_count() == 0);
    env.close_endpoint(env.client);
  }
}

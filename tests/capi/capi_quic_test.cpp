// capi_quic_test.cpp: the socket hook and sluice_engine_network_changed on
// QUIC client endpoints. No session protocol runs over QUIC yet, so the
// client Endpoint is created with the C++ API on the C engine's own Engine
// (what a QUIC session will do), against a QUIC echo server on a separate
// Engine; the hook and the network change go through sluice.h.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>

#include "capi/engine.hpp"
#include "quic_support.hpp"
#include "sluice/sluice.h"

using namespace std::chrono_literals;
using namespace sluice;
using namespace sluice::test;

namespace {

void run_on_c(sluice_engine* e, std::function<void()> fn) {
  struct Job {
    std::function<void()> fn;
    std::promise<void> done;
  } job{std::move(fn), {}};
  auto fut = job.done.get_future();
  REQUIRE(sluice_engine_post(
              e,
              [](void* u) {
                auto* j = static_cast<Job*>(u);
                j->fn();
                j->done.set_value();
              },
              &job) == SLUICE_OK);
  fut.get();
}

struct QuicHookCount {
  std::atomic<int> quic{0};
  std::atomic<int> other{0};
  std::atomic<bool> refuse{false};
  static int hook(int fd, int kind, int family, void* u) {
    auto* h = static_cast<QuicHookCount*>(u);
    (void)fd;
    (void)family;
    if (kind == SLUICE_SOCKET_QUIC)
      h->quic++;
    else
      h->other++;
    return h->refuse ? 1 : 0;
  }
};

// QuicRig: a QUIC echo server on its own Engine, and a C engine (own
// thread) whose Engine hosts client endpoints.
struct QuicRig {
  SelfSigned cert = make_self_signed();
  std::unique_ptr<Engine> server_engine;
  EchoServer server_handler;
  std::unique_ptr<quic::Endpoint> server;
  sluice_engine* host = nullptr;
  QuicRig() {
    server_engine = std::move(*Engine::create());
    REQUIRE(server_engine->start());
    on_loop(*server_engine, [&] {
      auto s = quic::Endpoint::create(*server_engine, {}, server_tls(cert), &server_handler);
      REQUIRE(s);
      server = std::move(*s);
    });
    REQUIRE(sluice_engine_new(nullptr, &host) == SLUICE_OK);
    REQUIRE(sluice_engine_start(host) == SLUICE_OK);
  }
  ~QuicRig() {
    sluice_engine_free(host);
    close_endpoint(*server_engine, server);
    REQUIRE(server_engine->stop());
  }
  Engine& host_engine() { return capi::from_opaque<capi::CEngine>(host)->engine(); }
  // client creates a client endpoint on the host's Engine (loop thread).
  Result<std::unique_ptr<quic::Endpoint>> client() {
    return quic::Endpoint::create(host_engine(), {}, client_tls(), nullptr);
  }
  void close_client(std::unique_ptr<quic::Endpoint>& ep) {
    std::atomic<bool> done{false};
    run_on_c(host, [&] {
      ep->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
    });
    REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
    ep.reset();
  }
};

}  // namespace

TEST_CASE("socket hook: QUIC client sockets are shown, a refusal fails the endpoint",
          "[capi][hook][quic]") {
  QuicRig rig;
  QuicHookCount count;
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_set_socket_hook(rig.host, QuicHookCount::hook, &count) == SLUICE_OK);
  });
  std::unique_ptr<quic::Endpoint> client;
  run_on_c(rig.host, [&] {
    auto c = rig.client();
    REQUIRE(c);
    client = std::move(*c);
  });
  CHECK(count.quic == 1);
  CHECK(count.other == 0);
  // The hooked socket works: a handshake over it.
  ClientHandler ch;
  run_on_c(rig.host, [&] { REQUIRE(client->connect("127.0.0.1", rig.server->port(), &ch)); });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  rig.close_client(client);

  count.refuse = true;
  run_on_c(rig.host, [&] {
    auto c = rig.client();
    REQUIRE(!c);
    CHECK(c.error() == Errc::socket_refused);
  });
  CHECK(count.quic == 2);
}

TEST_CASE("network change closes QUIC client connections at once; the next dial works",
          "[capi][network][quic]") {
  QuicRig rig;
  std::unique_ptr<quic::Endpoint> client;
  ClientHandler ch;
  run_on_c(rig.host, [&] {
    auto c = rig.client();
    REQUIRE(c);
    client = std::move(*c);
    REQUIRE(client->connect("127.0.0.1", rig.server->port(), &ch));
  });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  run_on_c(rig.host, [&] { REQUIRE(client->connection_count() == 1); });
  run_on_c(rig.host, [&] {
    CHECK(sluice_engine_network_changed(nullptr, 0) == SLUICE_ERR_INVALID_ARGUMENT);
    REQUIRE(sluice_engine_network_changed(rig.host, SLUICE_NETWORK_LINK_CHANGED) == SLUICE_OK);
  });
  // Closed now, not after an idle timeout (30 s by default).
  REQUIRE(wait_until([&] { return ch.closed.load(); }, 2000ms));
  CHECK(ch.close_error == Errc::network_changed);
  // The server hears the CONNECTION_CLOSE sent on the old path.
  CHECK(wait_until([&] { return rig.server_handler.closed.load() == 1; }, 5000ms));
  // A new connection on the same endpoint comes up.
  ClientHandler again;
  run_on_c(rig.host, [&] { REQUIRE(client->connect("127.0.0.1", rig.server->port(), &again)); });
  REQUIRE(wait_until([&] { return again.up.load(); }, 10000ms));
  // A server endpoint on the host engine is not a client: not closed.
  EchoServer local_handler;
  std::unique_ptr<quic::Endpoint> local_server;
  ClientHandler to_local;
  run_on_c(rig.host, [&] {
    auto s = quic::Endpoint::create(rig.host_engine(), {}, server_tls(rig.cert), &local_handler);
    REQUIRE(s);
    local_server = std::move(*s);
    REQUIRE(client->connect("127.0.0.1", local_server->port(), &to_local));
  });
  REQUIRE(wait_until([&] { return to_local.up.load(); }, 10000ms));
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_network_changed(rig.host, SLUICE_NETWORK_WOKE | 0x80u) == SLUICE_OK);
  });
  REQUIRE(wait_until([&] { return again.closed.load() && to_local.closed.load(); }, 2000ms));
  CHECK(again.close_error == Errc::network_changed);
  // The local server's side of it closes because the client closed, with
  // the peer's close, not network_changed.
  CHECK(wait_until([&] { return local_handler.closed.load() == 1; }, 5000ms));
  CHECK(local_handler.last_close != Errc::network_changed);
  rig.close_client(client);
  std::atomic<bool> done{false};
  run_on_c(rig.host, [&] {
    local_server->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
  });
  REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
  local_server.reset();
}

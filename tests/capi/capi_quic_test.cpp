// capi_quic_test.cpp: the socket hook and sluice_engine_network_changed on
// QUIC client endpoints. No session protocol runs over QUIC yet, so the
// client Endpoint is created with the C++ API on the C engine's own Engine
// (what a QUIC session will do), against a QUIC echo server on a separate
// Engine; the hook and the network change go through sluice.h.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <string>

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
  const int rc = sluice_engine_post(
      e,
      [](void* u) {
        auto* j = static_cast<Job*>(u);
        j->fn();
        j->done.set_value();
      },
      &job);
  // Catch2 is not thread-safe: assert only once |fn| (which may assert on
  // the loop thread) has finished.
  if (rc == SLUICE_OK) fut.get();
  REQUIRE(rc == SLUICE_OK);
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

namespace {

// Echo is one client stream round trip: write |msg|, wait for it back.
struct EchoProbe final : TransportHandler {
  std::unique_ptr<quic::QuicStream> s;
  std::mutex mu;
  std::string got;
  std::atomic<bool> failed{false};
  std::atomic<int> close_error{0};
  void on_data(Slice&& d) override {
    std::lock_guard<std::mutex> lock(mu);
    got.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void on_eof() override {}
  void on_error(Errc e) override {
    close_error = static_cast<int>(e);
    failed = true;
  }
  bool has(const std::string& m) {
    std::lock_guard<std::mutex> lock(mu);
    return got.find(m) != std::string::npos;
  }
};

uint16_t local_port(quic::Endpoint& ep) {
  const sockaddr_storage& a = ep.socket().local_address();
  return ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
}

}  // namespace

TEST_CASE("network change migrates QUIC client connections to a new socket",
          "[capi][network][quic]") {
  QuicRig rig;
  QuicHookCount count;
  std::unique_ptr<quic::Endpoint> client;
  ClientHandler ch;
  quic::Connection* conn = nullptr;
  EchoProbe probe;
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_set_socket_hook(rig.host, QuicHookCount::hook, &count) == SLUICE_OK);
    auto c = rig.client();
    REQUIRE(c);
    client = std::move(*c);
    auto r = client->connect("127.0.0.1", rig.server->port(), &ch);
    REQUIRE(r);
    conn = *r;
  });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  auto write = [&](const std::string& m) {
    run_on_c(rig.host, [&] {
      auto sl = rig.host_engine().pool().copy_from(m.data(), m.size());
      REQUIRE(sl);
      REQUIRE(probe.s->write(std::move(*sl)));
    });
  };
  uint16_t before = 0;
  run_on_c(rig.host, [&] {
    auto st = conn->open_bidi_stream();
    REQUIRE(st);
    probe.s = std::move(*st);
    probe.s->set_handler(&probe);
    probe.s->read_start();
    before = local_port(*client);
  });
  write("before the change;");
  REQUIRE(wait_until([&] { return probe.has("before the change;"); }, 10000ms));
  CHECK(count.quic == 1);

  run_on_c(rig.host, [&] {
    CHECK(sluice_engine_network_changed(nullptr, 0) == SLUICE_ERR_INVALID_ARGUMENT);
    REQUIRE(sluice_engine_network_changed(rig.host, SLUICE_NETWORK_LINK_CHANGED) == SLUICE_OK);
    CHECK(client->migrations() == 1);
    CHECK(local_port(*client) != before);
  });
  CHECK(count.quic == 2);  // the new socket went through the hook
  // The same connection and stream carry data over the new path.
  write("after the change;");
  REQUIRE(wait_until([&] { return probe.has("after the change;"); }, 10000ms));
  CHECK(!ch.closed.load());
  CHECK(!probe.failed.load());
  CHECK(rig.server_handler.closed.load() == 0);
  // Twice more (sleep and wake), still the same connection.
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_network_changed(rig.host, SLUICE_NETWORK_WOKE | 0x80u) == SLUICE_OK);
  });
  write("after waking;");
  REQUIRE(wait_until([&] { return probe.has("after waking;"); }, 10000ms));
  CHECK(!ch.closed.load());
  run_on_c(rig.host, [&] { CHECK(client->migrations() == 2); });

  std::atomic<bool> stream_closed{false};
  run_on_c(rig.host, [&] {
    probe.s->set_handler(nullptr);
    probe.s->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &stream_closed);
  });
  REQUIRE(wait_until([&] { return stream_closed.load(); }, 10000ms));
  run_on_c(rig.host, [&] { probe.s.reset(); });
  rig.close_client(client);
}

TEST_CASE("network change: a connection that cannot migrate is closed at once",
          "[capi][network][quic]") {
  QuicRig rig;
  QuicHookCount count;
  std::unique_ptr<quic::Endpoint> client;
  ClientHandler ch;
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_set_socket_hook(rig.host, QuicHookCount::hook, &count) == SLUICE_OK);
    auto c = rig.client();
    REQUIRE(c);
    client = std::move(*c);
    REQUIRE(client->connect("127.0.0.1", rig.server->port(), &ch));
  });
  REQUIRE(wait_until([&] { return ch.up.load(); }, 10000ms));
  // The host refuses the new socket: no path to migrate to.
  count.refuse = true;
  run_on_c(rig.host, [&] {
    REQUIRE(sluice_engine_network_changed(rig.host, 0) == SLUICE_OK);
    CHECK(client->migrations() == 0);
  });
  // Closed now, not after an idle timeout (30 s by default).
  REQUIRE(wait_until([&] { return ch.closed.load(); }, 2000ms));
  CHECK(ch.close_error == Errc::network_changed);
  // The server hears the CONNECTION_CLOSE sent on the old path.
  CHECK(wait_until([&] { return rig.server_handler.closed.load() == 1; }, 5000ms));
  // The next connection on the same endpoint comes up.
  count.refuse = false;
  ClientHandler again;
  run_on_c(rig.host, [&] { REQUIRE(client->connect("127.0.0.1", rig.server->port(), &again)); });
  REQUIRE(wait_until([&] { return again.up.load(); }, 10000ms));
  // A server endpoint on the host's engine is left alone.
  EchoServer local_handler;
  std::unique_ptr<quic::Endpoint> local_server;
  run_on_c(rig.host, [&] {
    auto s = quic::Endpoint::create(rig.host_engine(), {}, server_tls(rig.cert), &local_handler);
    REQUIRE(s);
    local_server = std::move(*s);
    const uint16_t port = local_server->port();
    REQUIRE(sluice_engine_network_changed(rig.host, SLUICE_NETWORK_LINK_CHANGED) == SLUICE_OK);
    CHECK(local_server->port() == port);
    CHECK(local_server->migrations() == 0);
    CHECK(client->migrations() == 1);
  });
  CHECK(!again.closed.load());
  rig.close_client(client);
  std::atomic<bool> done{false};
  run_on_c(rig.host, [&] {
    local_server->close([](void* u) { *static_cast<std::atomic<bool>*>(u) = true; }, &done);
  });
  REQUIRE(wait_until([&] { return done.load(); }, 10000ms));
  local_server.reset();
}

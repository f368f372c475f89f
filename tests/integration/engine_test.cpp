// Engine lifecycle, post(), host-loop mode, the dialer and the relay's timers.
#include <uv.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "net/dialer.hpp"
#include "session/direct_session.hpp"
#include "session/relay.hpp"
#include "support.hpp"

using namespace sluice;
using namespace sluice::test;

TEST_CASE("start/stop 100 times leaves nothing behind", "[integration][engine]") {
  for (int i = 0; i < 100; ++i) {
    auto e = Engine::create();
    REQUIRE(e);
    // Objects are created before start(): afterwards only the loop thread may.
    auto echo = std::make_unique<TestServer>(**e, TestServer::Mode::echo);
    REQUIRE((*e)->start());
    std::atomic<int> ran{0};
    REQUIRE((*e)->post([&] { ran++; }));
    REQUIRE((*e)->stop());
    CHECK(ran == 1);
    CHECK((*e)->stats().objects == 0);
    CHECK((*e)->stats().pool.chunks_outstanding == 0);
    echo.reset();
    CHECK((*e)->post([] {}).error() == Errc::closed);
  }
}

TEST_CASE("post from many threads runs every task on the loop thread", "[integration][engine]") {
  auto e = std::move(*Engine::create());
  REQUIRE(e->start());
  std::atomic<int> count{0};
  std::atomic<int> off_thread{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  // Catch2 is not thread-safe: the posting threads count, the test asserts.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (!e->post([&] {
              if (!e->on_loop_thread()) off_thread++;
              count++;
            }))
          refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(refused == 0);
  REQUIRE(e->stop());  // stop drains what was posted before it
  CHECK(count == 4000);
  CHECK(off_thread == 0);
}

TEST_CASE("an Engine inside a host's loop", "[integration][engine]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    EngineOptions o;
    o.loop = &loop;
    auto e = std::move(*Engine::create(o));
    auto echo = std::make_unique<TestServer>(*e, TestServer::Mode::echo);
    // A client on another thread; the host runs the loop until it is done.
    std::atomic<bool> done{false};
    std::string got;
    const uint16_t port = echo->port();
    std::thread client([&] {
      int fd = tcp_connect(port);
      send_all(fd, "ping", 4);
      char buf[4];
      if (recv_exact(fd, buf, 4)) got.assign(buf, 4);
      ::close(fd);
      done = true;
      REQUIRE(e->post([] {}));  // wakes the loop
    });
    while (!done) uv_run(&loop, UV_RUN_ONCE);
    client.join();
    CHECK(got == "ping");
    bool closed = false;
    e->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
    while (!closed) uv_run(&loop, UV_RUN_ONCE);
    echo.reset();
    e.reset();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

namespace {
struct DialResult final : net::DialHandler {
  bool called = false;
  Errc err = Errc::ok;
  std::string reason;
  std::unique_ptr<net::TcpTransport> t;
  void on_dial(Result<std::unique_ptr<net::TcpTransport>> r, const char* why) override {
    called = true;
    reason = why;
    if (r)
      t = std::move(*r);
    else
      err = r.error();
  }
};
}  // namespace

TEST_CASE("dialer: refused, bad name, localhost on both families, cancel",
          "[integration][dialer]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  EngineOptions o;
  o.loop = &loop;
  auto e = std::move(*Engine::create(o));
  auto echo = std::make_unique<TestServer>(*e, TestServer::Mode::echo);

  DialResult refused;
  net::Dial::start(*e, "127.0.0.1", 1, {}, &refused);
  DialResult badname;
  net::Dial::start(*e, "no-such-host.invalid", 80, {}, &badname);
  // "localhost" resolves to ::1 and 127.0.0.1; the echo server listens on
  // 127.0.0.1 only, so the IPv6 attempt fails and the IPv4 one wins.
  DialResult local;
  net::Dial::start(*e, "localhost", echo->port(), {}, &local);
  DialResult cancelled;
  net::Dial* d = net::Dial::start(*e, "127.0.0.1", echo->port(), {}, &cancelled);
  REQUIRE(d);
  d->cancel();
  DialResult zero;
  net::Dial::start(*e, "127.0.0.1", 0, {}, &zero);
  CHECK(zero.called);
  CHECK(zero.err == Errc::invalid_argument);
  while (!(refused.called && badname.called && local.called)) uv_run(&loop, UV_RUN_ONCE);
  CHECK(refused.err == Errc::connection_refused);
  CHECK(refused.reason.find("127.0.0.1:1") != std::string::npos);
  CHECK(badname.err == Errc::dns_failure);
  CHECK(local.err == Errc::ok);
  REQUIRE(local.t);
  CHECK(local.t->peer_address().find("127.0.0.1") != std::string::npos);
  close_and_delete(local.t.release());
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_FALSE(cancelled.called);

  bool closed = false;
  e->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  while (!closed) uv_run(&loop, UV_RUN_ONCE);
  echo.reset();
  e.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("relay idle timeout closes a silent pair and reports it", "[integration][relay]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  EngineOptions o;
  o.loop = &loop;
  auto e = std::move(*Engine::create(o));
  auto echo = std::make_unique<TestServer>(*e, TestServer::Mode::sink);

  struct Obs final : RelayObserver {
    bool done = false;
    RelayResult r;
    void on_relay_done(const RelayResult& res) override {
      done = true;
      r = res;
    }
  } obs;
  DialResult a, b;
  net::Dial::start(*e, "127.0.0.1", echo->port(), {}, &a);
  net::Dial::start(*e, "127.0.0.1", echo->port(), {}, &b);
  while (!(a.called && b.called)) uv_run(&loop, UV_RUN_ONCE);
  REQUIRE(a.t);
  REQUIRE(b.t);
  RelayOptions ro;
  ro.idle_timeout_ms = 50;
  Relay::start(*e, std::move(a.t), std::move(b.t), ro, &obs);
  while (!obs.done) uv_run(&loop, UV_RUN_ONCE);
  CHECK(obs.r.error == Errc::timed_out);

  bool closed = false;
  e->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  while (!closed) uv_run(&loop, UV_RUN_ONCE);
  echo.reset();
  e.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

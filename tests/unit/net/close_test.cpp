// close_test.cpp: net::defer, net::Closer and Session::close, and the
// Engine closing Sessions with close() at stop.
#include <uv.h>

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "net/clock.hpp"
#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/engine.hpp"
#include "sluice/session.hpp"

using namespace sluice;
using sluice::net::ManualClock;
using sluice::net::Timer;

namespace {

std::unique_ptr<Engine> manual_engine(ManualClock& clock) {
  auto e = net::create_engine(clock);
  REQUIRE(e);
  return std::move(*e);
}

void count(void* u) { ++*static_cast<int*>(u); }

// TwoHandles owns two uv handles and an inner part that closes later; it
// closes with a Closer.
struct TwoHandles {
  Engine& engine;
  uv_timer_t a{}, b{};
  Timer inner_done;  // stands for an inner object whose close ends later
  net::Closer closer_;
  std::vector<int>* order;

  TwoHandles(Engine& e, std::vector<int>* o) : engine(e), inner_done(e), order(o) {
    uv_timer_init(e.loop(), &a);
    uv_timer_init(e.loop(), &b);
    a.data = b.data = this;
  }
  void close(CloseCallback cb, void* user, bool with_inner) {
    if (!closer_.begin(cb, user)) return;
    closer_.close_handle<&TwoHandles::closer_>(&a);
    closer_.close_handle<&TwoHandles::closer_>(&b);
    if (with_inner) {
      closer_.hold();
      inner_done.start(
          0,
          [](void* u) {
            auto* t = static_cast<TwoHandles*>(u);
            t->order->push_back(2);
            t->closer_.release();
          },
          this);
    }
    closer_.arm(engine);
    order->push_back(1);  // still inside close(): no callback yet
  }
};

// SlowSession is a Session whose close takes a while (its connection closes
// on a timer); it counts how it was closed.
class SlowSession : public Session {
 public:
  SlowSession(Engine& e, int* closes) : Session(e, "slow"), timer_(e), closes_(closes) {}
  const char* type() const noexcept override { return "slow"; }
  void open_stream(std::string_view, uint16_t, OpenHandler*) noexcept override {}
  void cancel_open(OpenHandler*) noexcept override {}
  void close(CloseCallback cb, void* user) noexcept override {
    if (!begin_close()) return;
    ++*closes_;
    cb_ = cb;
    user_ = user;
    timer_.start(
        50,
        [](void* u) {
          auto* s = static_cast<SlowSession*>(u);
          s->detach_from_engine();
          if (s->cb_) s->cb_(s->user_);
        },
        this);
  }

 private:
  Timer timer_;
  int* closes_;
  CloseCallback cb_ = nullptr;
  void* user_ = nullptr;
};

// IdleSession has nothing in flight: it keeps the default close().
class IdleSession : public Session {
 public:
  explicit IdleSession(Engine& e) : Session(e, "idle") {}
  const char* type() const noexcept override { return "idle"; }
  void open_stream(std::string_view, uint16_t, OpenHandler*) noexcept override {}
  void cancel_open(OpenHandler*) noexcept override {}
};

}  // namespace

TEST_CASE("defer: runs on the next turn, in order, on a ManualClock and a real loop", "[close]") {
  SECTION("ManualClock") {
    ManualClock clock;
    auto engine = manual_engine(clock);
    std::vector<int> order;
    struct Ctx {
      std::vector<int>* order;
      int tag;
    } one{&order, 1}, two{&order, 2};
    auto push = [](void* u) {
      auto* c = static_cast<Ctx*>(u);
      c->order->push_back(c->tag);
    };
    net::defer(*engine, push, &one);
    net::defer(*engine, push, &two);
    REQUIRE(order.empty());
    clock.advance(0);
    REQUIRE(order == std::vector<int>{1, 2});
  }
  SECTION("real loop") {
    auto engine = std::move(*Engine::create());
    int n = 0;
    net::defer(*engine, count, &n);
    REQUIRE(n == 0);
    uv_run(engine->loop(), UV_RUN_NOWAIT);
    REQUIRE(n == 1);
    REQUIRE(uv_loop_alive(engine->loop()) == 0);  // nothing left armed
  }
  SECTION("queued calls run when the Engine closes") {
    auto engine = std::move(*Engine::create());
    int n = 0;
    net::defer(*engine, count, &n);
    engine.reset();
    REQUIRE(n == 1);
  }
}

TEST_CASE("Closer: one callback after every handle and part, never inside close()", "[close]") {
  auto engine = std::move(*Engine::create());
  std::vector<int> order;
  struct Done {
    std::vector<int>* order;
    int calls = 0;
  } done{&order};
  auto on_closed = [](void* u) {
    auto* d = static_cast<Done*>(u);
    d->order->push_back(3);
    d->calls++;
  };

  SECTION("handles and an inner part") {
    auto t = std::make_unique<TwoHandles>(*engine, &order);
    t->close(on_closed, &done, true);
    t->close(on_closed, &done, true);  // second close: nothing
    REQUIRE(t->closer_.closing());
    uv_run(engine->loop(), UV_RUN_DEFAULT);
    REQUIRE(done.calls == 1);
    REQUIRE(order == std::vector<int>{1, 2, 3});
    REQUIRE(t->closer_.closed());
  }
  SECTION("handles only") {
    auto t = std::make_unique<TwoHandles>(*engine, &order);
    t->close(on_closed, &done, false);
    REQUIRE(done.calls == 0);
    uv_run(engine->loop(), UV_RUN_DEFAULT);
    REQUIRE(done.calls == 1);
    REQUIRE(order == std::vector<int>{1, 3});
  }
  SECTION("nothing held: deferred to the next turn") {
    net::Closer c;
    REQUIRE(c.begin(on_closed, &done));
    REQUIRE(!c.begin(on_closed, &done));
    c.arm(*engine);
    REQUIRE(c.closed());
    REQUIRE(done.calls == 0);
    uv_run(engine->loop(), UV_RUN_DEFAULT);
    REQUIRE(done.calls == 1);
  }
  SECTION("the callback may delete the owner") {
    auto* t = new TwoHandles(*engine, &order);
    t->close([](void* u) { delete static_cast<TwoHandles*>(u); }, t, true);
    uv_run(engine->loop(), UV_RUN_DEFAULT);
    REQUIRE(order == std::vector<int>{1, 2});
  }
  SECTION("an inner object's close through hold_callback") {
    auto inner = std::make_unique<TwoHandles>(*engine, &order);
    net::Closer outer;
    REQUIRE(outer.begin(on_closed, &done));
    inner->close(outer.hold_callback(), &outer, false);
    outer.arm(*engine);
    REQUIRE(done.calls == 0);
    uv_run(engine->loop(), UV_RUN_DEFAULT);
    REQUIRE(done.calls == 1);
  }
}

TEST_CASE("Session::close: the default calls back once, on the next turn", "[close]") {
  ManualClock clock;
  auto engine = manual_engine(clock);
  auto s = std::make_unique<IdleSession>(*engine);
  REQUIRE(engine->stats().objects == 1);
  int calls = 0;
  s->close(count, &calls);
  s->close(count, &calls);  // nothing
  REQUIRE(calls == 0);
  REQUIRE(engine->stats().objects == 0);  // detached
  clock.advance(0);
  REQUIRE(calls == 1);
  s.reset();
  clock.advance(10);
  REQUIRE(calls == 1);
}

TEST_CASE("Session::close: the Engine closes Sessions with it and waits for them", "[close]") {
  ManualClock clock;
  auto engine = manual_engine(clock);
  int closes = 0;
  auto slow = std::make_unique<SlowSession>(*engine, &closes);
  auto idle = std::make_unique<IdleSession>(*engine);
  bool all_closed = false;
  engine->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &all_closed);
  REQUIRE(closes == 1);
  REQUIRE(engine->stats().objects == 1);  // the idle one detached at once
  uv_run(engine->loop(), UV_RUN_NOWAIT);
  REQUIRE(!all_closed);  // the slow one is still closing
  clock.advance(49);
  REQUIRE(!all_closed);
  clock.advance(1);  // its connection closed: detached
  REQUIRE(engine->stats().objects == 0);
  uv_run(engine->loop(), UV_RUN_DEFAULT);  // the Engine's own handles close
  REQUIRE(all_closed);
  // A later close by the owner does nothing more.
  slow->close(count, &closes);
  REQUIRE(closes == 1);
}

// timer_test.cpp: net::Timer on the Engine's timer queue, on virtual time
// (ManualClock) and on the real loop.
#include <uv.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "net/clock.hpp"
#include "net/timer.hpp"
#include "sluice/engine.hpp"

using namespace sluice;
using sluice::net::ManualClock;
using sluice::net::Timer;

namespace {

// Fired records which timer fired and at what Engine time.
struct Log {
  Engine* engine = nullptr;
  std::vector<std::pair<int, uint64_t>> fired;
};

struct Tagged {
  Log* log;
  int id;
  Timer timer;
  Tagged(Engine& e, Log* l, int i) : log(l), id(i), timer(e) {}
  void start(uint64_t delay) { timer.start(delay, &Tagged::on_fire, this); }
  static void on_fire(void* u) {
    auto* t = static_cast<Tagged*>(u);
    t->log->fired.emplace_back(t->id, t->log->engine->now_ms());
  }
};

std::unique_ptr<Engine> manual_engine(ManualClock& clock) {
  auto e = net::create_engine(clock);
  REQUIRE(e);
  return std::move(*e);
}

}  // namespace

TEST_CASE("Timer: fires in due order, ties in start order, at its due time", "[timer]") {
  ManualClock clock(1000);
  auto engine = manual_engine(clock);
  REQUIRE(engine->now_ms() == 1000);
  Log log{engine.get(), {}};
  Tagged a(*engine, &log, 1), b(*engine, &log, 2), c(*engine, &log, 3), d(*engine, &log, 4);
  c.start(30);
  a.start(10);
  b.start(20);
  d.start(10);  // same due time as a, started later
  REQUIRE(clock.armed_timers() == 4);
  REQUIRE(clock.next_due_ms() == 1010);

  clock.advance(9);
  REQUIRE(log.fired.empty());
  REQUIRE(engine->now_ms() == 1009);
  clock.advance(100);
  REQUIRE(log.fired ==
          std::vector<std::pair<int, uint64_t>>{{1, 1010}, {4, 1010}, {2, 1020}, {3, 1030}});
  REQUIRE(engine->now_ms() == 1109);
  REQUIRE(!a.timer.armed());
  REQUIRE(clock.armed_timers() == 0);
  REQUIRE(clock.next_due_ms() == UINT64_MAX);
}

TEST_CASE("Timer: advance(0) fires what is due now; a zero delay is due now", "[timer]") {
  ManualClock clock;
  auto engine = manual_engine(clock);
  Log log{engine.get(), {}};
  Tagged a(*engine, &log, 1);
  a.start(0);
  REQUIRE(a.timer.armed());
  REQUIRE(log.fired.empty());  // never synchronously from start()
  clock.advance(0);
  REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{1, 0}});
}

TEST_CASE("Timer: start re-arms, replacing the deadline and the callback", "[timer]") {
  ManualClock clock;
  auto engine = manual_engine(clock);
  Log log{engine.get(), {}};
  Tagged a(*engine, &log, 1), b(*engine, &log, 2);
  a.start(100);
  b.start(50);
  a.start(10);  // earlier than before, and now earliest of all
  REQUIRE(clock.next_due_ms() == 10);
  clock.advance(60);
  REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{1, 10}, {2, 50}});
  log.fired.clear();

  a.start(10);
  clock.advance(5);
  a.start(10);  // pushed back: due at 75 now, not 70
  clock.advance(9);
  REQUIRE(log.fired.empty());
  clock.advance(1);
  REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{1, 75}});
  REQUIRE(clock.armed_timers() == 0);

  // Re-arming with another callback and user forgets the first pair.
  int other = 0;
  a.start(10);
  a.timer.start(
      10, [](void* u) { ++*static_cast<int*>(u); }, &other);
  clock.advance(10);
  REQUIRE(other == 1);
  REQUIRE(log.fired.size() == 1);
}

TEST_CASE("Timer: stop disarms, is idempotent, and the destructor stops", "[timer]") {
  ManualClock clock;
  auto engine = manual_engine(clock);
  Log log{engine.get(), {}};
  Tagged a(*engine, &log, 1), b(*engine, &log, 2);
  a.start(10);
  b.start(20);
  a.timer.stop();
  REQUIRE(!a.timer.armed());
  a.timer.stop();
  {
    Tagged c(*engine, &log, 3);
    c.start(15);
    REQUIRE(clock.armed_timers() == 2);
  }
  REQUIRE(clock.armed_timers() == 1);
  clock.advance(100);
  REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{2, 20}});
}

TEST_CASE("Timer: a callback may destroy its owner, stop others and re-arm", "[timer]") {
  ManualClock clock;
  auto engine = manual_engine(clock);

  SECTION("destroying the owner") {
    struct Owner {
      Timer timer;
      int* destroyed;
      Owner(Engine& e, int* d) : timer(e), destroyed(d) {}
      ~Owner() { ++*destroyed; }
    };
    int destroyed = 0;
    Log log{engine.get(), {}};
    Tagged after(*engine, &log, 9);
    auto* o = new Owner(*engine, &destroyed);
    o->timer.start(
        5, [](void* u) { delete static_cast<Owner*>(u); }, o);
    after.start(5);  // same due time, queued behind the owner's timer
    clock.advance(5);
    REQUIRE(destroyed == 1);
    REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{9, 5}});
    REQUIRE(clock.armed_timers() == 0);
  }

  SECTION("stopping and destroying other timers from a callback") {
    Log log{engine.get(), {}};
    auto victim = std::make_unique<Tagged>(*engine, &log, 2);
    Tagged stopped(*engine, &log, 3), survivor(*engine, &log, 4);
    struct Killer {
      std::unique_ptr<Tagged>* victim;
      Tagged* stopped;
    } k{&victim, &stopped};
    Timer killer(*engine);
    killer.start(
        10,
        [](void* u) {
          auto* k = static_cast<Killer*>(u);
          k->victim->reset();
          k->stopped->timer.stop();
        },
        &k);
    victim->start(10);
    stopped.start(11);
    survivor.start(12);
    clock.advance(20);
    REQUIRE(log.fired == std::vector<std::pair<int, uint64_t>>{{4, 12}});
  }

  SECTION("re-arming itself, including with zero delay, within one advance") {
    struct Ticker {
      Engine* engine;
      Timer timer;
      std::vector<uint64_t> at;
      explicit Ticker(Engine& e) : engine(&e), timer(e) {}
      static void tick(void* u) {
        auto* t = static_cast<Ticker*>(u);
        t->at.push_back(t->engine->now_ms());
        if (t->at.size() < 3)
          t->timer.start(0, &tick, t);  // deferral
        else if (t->at.size() < 6)
          t->timer.start(7, &tick, t);
      }
    } t(*engine);
    t.timer.start(10, &Ticker::tick, &t);
    clock.advance(30);
    REQUIRE(t.at == std::vector<uint64_t>{10, 10, 10, 17, 24});
    REQUIRE(t.timer.armed());
    REQUIRE(t.timer.due_ms() == 31);
    clock.advance(1);
    REQUIRE(t.at.size() == 6);
    REQUIRE(!t.timer.armed());
  }
}

TEST_CASE("Timer: many timers with random delays and random stops", "[timer]") {
  ManualClock clock(50);
  auto engine = manual_engine(clock);
  Log log{engine.get(), {}};
  std::mt19937 rng(12);
  std::uniform_int_distribution<uint64_t> delay(0, 999);
  const int n = 5000;
  std::vector<std::unique_ptr<Tagged>> timers;
  std::vector<std::pair<uint64_t, int>> expected;  // (due, start order)
  std::vector<int> start_order(n, -1);
  int order = 0;
  for (int i = 0; i < n; ++i) {
    timers.push_back(std::make_unique<Tagged>(*engine, &log, i));
    timers.back()->start(delay(rng));
  }
  // Re-arm a third, stop a fifth; the expected firing order follows.
  for (int i = 0; i < n; i += 3) timers[i]->start(delay(rng));
  for (int i = 0; i < n; i += 5) timers[i]->timer.stop();
  REQUIRE(clock.armed_timers() == static_cast<size_t>(n - n / 5));
  // The order of the last start() breaks ties: replay the starts to get it.
  for (int i = 0; i < n; ++i) start_order[i] = order++;
  for (int i = 0; i < n; i += 3) start_order[i] = order++;
  for (int i = 0; i < n; ++i) {
    if (timers[i]->timer.armed()) expected.emplace_back(timers[i]->timer.due_ms(), i);
  }
  std::sort(expected.begin(), expected.end(), [&](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : start_order[x.second] < start_order[y.second];
  });

  clock.advance(500);  // half now, half later
  clock.advance(10000);
  REQUIRE(log.fired.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    REQUIRE(log.fired[i].first == expected[i].second);
    REQUIRE(log.fired[i].second == expected[i].first);
  }
  REQUIRE(clock.armed_timers() == 0);
}

TEST_CASE("Timer: ManualClock belongs to one Engine and outlives it", "[timer]") {
  ManualClock clock;
  {
    auto engine = manual_engine(clock);
    auto second = net::create_engine(clock);
    REQUIRE(!second);
    REQUIRE(second.error() == Errc::invalid_state);
    Timer t(*engine);
    t.start(
        5, [](void*) {}, nullptr);
    REQUIRE(clock.next_due_ms() == 5);
  }
  // The Engine is gone: advancing only moves time.
  clock.advance(10);
  REQUIRE(clock.now_ms() == 10);
  REQUIRE(clock.armed_timers() == 0);
  auto again = manual_engine(clock);
  REQUIRE(again->now_ms() == 10);
}

TEST_CASE("Timer: on the real loop, one uv_timer drives them in order", "[timer]") {
  auto created = Engine::create();
  REQUIRE(created);
  auto engine = std::move(*created);
  uv_loop_t* loop = engine->loop();
  Log log{engine.get(), {}};
  Tagged a(*engine, &log, 1), b(*engine, &log, 2), c(*engine, &log, 3);
  const uint64_t t0 = engine->now_ms();
  c.start(20);
  b.start(10);
  a.start(0);
  uv_run(loop, UV_RUN_DEFAULT);  // returns once no timer is armed
  REQUIRE(log.fired.size() == 3);
  REQUIRE(log.fired[0].first == 1);
  REQUIRE(log.fired[1].first == 2);
  REQUIRE(log.fired[2].first == 3);
  REQUIRE(log.fired[1].second >= t0 + 10);
  REQUIRE(log.fired[2].second >= t0 + 20);

  // A stopped timer does not keep the loop alive.
  a.start(60000);
  a.timer.stop();
  REQUIRE(uv_run(loop, UV_RUN_NOWAIT) == 0);

  // Stopping the earliest timer leaves the later ones on time.
  log.fired.clear();
  a.start(1);
  b.start(5);
  a.timer.stop();
  uv_run(loop, UV_RUN_DEFAULT);
  REQUIRE(log.fired.size() == 1);
  REQUIRE(log.fired[0].first == 2);
}

TEST_CASE("Timer: on the real loop, a zero-delay re-arm waits for the next pass", "[timer]") {
  auto created = Engine::create();
  REQUIRE(created);
  auto engine = std::move(*created);
  struct Spinner {
    Timer timer;
    int n = 0;
    explicit Spinner(Engine& e) : timer(e) {}
    static void spin(void* u) {
      auto* s = static_cast<Spinner*>(u);
      s->n++;
      s->timer.start(0, &spin, s);  // would starve the loop if run in this pass
    }
  } s(*engine);
  s.timer.start(0, &Spinner::spin, &s);
  uv_run(engine->loop(), UV_RUN_ONCE);
  // A deferral runs once per loop iteration (from the Engine's idle handle).
  REQUIRE(s.n >= 1);
  REQUIRE(s.n <= 2);
  uv_run(engine->loop(), UV_RUN_ONCE);
  REQUIRE(s.n >= 2);
  REQUIRE(s.n <= 4);
  s.timer.stop();
}

TEST_CASE("Timer: close_all closes the Engine's timer handle", "[timer]") {
  auto created = Engine::create();
  REQUIRE(created);
  auto engine = std::move(*created);
  Timer t(*engine);
  t.start(
      10, [](void*) {}, nullptr);
  bool closed = false;
  engine->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &closed);
  t.stop();
  uv_run(engine->loop(), UV_RUN_DEFAULT);
  REQUIRE(closed);
  REQUIRE(uv_loop_alive(engine->loop()) == 0);
}

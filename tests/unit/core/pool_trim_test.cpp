// IdleTrimPolicy: trims only once load has subsided and stayed down, and
// trim_idle_memory gives the free slabs back.
#include <catch2/catch.hpp>
#include <vector>

#include "core/pool_trim.hpp"

using namespace sluice;

namespace {

IdleTrimPolicy::Sample sample(uint64_t used, uint64_t slabs, uint64_t objects = 10,
                              uint64_t opened = 0) {
  IdleTrimPolicy::Sample s;
  s.pool.bytes_outstanding = used;
  s.pool.slab_bytes = slabs;
  s.live_objects = objects;
  s.opened_total = opened;
  return s;
}

constexpr uint64_t MiB = 1 << 20;

}  // namespace

TEST_CASE("trim policy: after load falls, trims once it stayed down for quiet_ticks",
          "[core][trim]") {
  IdleTrimPolicy p;  // 1 MiB, 2 ticks
  // Load rises: never trims while growing.
  CHECK_FALSE(p.on_tick(sample(10 * MiB, 12 * MiB)));
  CHECK_FALSE(p.on_tick(sample(20 * MiB, 24 * MiB)));
  CHECK_FALSE(p.on_tick(sample(30 * MiB, 36 * MiB)));
  // Load drops: the first quiet tick waits, the second trims.
  CHECK_FALSE(p.on_tick(sample(1 * MiB, 36 * MiB)));
  CHECK(p.on_tick(sample(1 * MiB, 36 * MiB)));
  // Just trimmed: quiet_ticks more before the next.
  CHECK_FALSE(p.on_tick(sample(1 * MiB, 30 * MiB)));
  CHECK(p.on_tick(sample(1 * MiB, 30 * MiB)));
}

TEST_CASE("trim policy: steady load is never trimmed under it (hysteresis)", "[core][trim]") {
  IdleTrimPolicy p;
  // In use at least as much as free: no trim however long it lasts.
  for (int i = 0; i < 20; ++i) CHECK_FALSE(p.on_tick(sample(20 * MiB, 36 * MiB)));
  // Any growth resets the quiet count.
  CHECK_FALSE(p.on_tick(sample(2 * MiB, 36 * MiB)));
  CHECK_FALSE(p.on_tick(sample(3 * MiB, 36 * MiB)));  // grew
  CHECK_FALSE(p.on_tick(sample(3 * MiB, 36 * MiB)));
  CHECK(p.on_tick(sample(3 * MiB, 36 * MiB)));
  // Little free memory: not worth a trim.
  IdleTrimPolicy q;
  for (int i = 0; i < 10; ++i) CHECK_FALSE(q.on_tick(sample(0, MiB / 2)));
}

TEST_CASE("trim policy: many connections gone frees the heap even with a small pool",
          "[core][trim]") {
  IdleTrimPolicy p;  // churn 64, 2 ticks
  CHECK_FALSE(p.on_tick(sample(0, 0, 10, 0)));
  // 2,000 connections came and went between two ticks: counted, not sampled.
  CHECK_FALSE(p.on_tick(sample(0, 0, 10, 2000)));  // first quiet tick
  CHECK(p.on_tick(sample(0, 0, 10, 2000)));
  // Nothing opened since: nothing to give back.
  for (int i = 0; i < 5; ++i) CHECK_FALSE(p.on_tick(sample(0, 0, 10, 2000)));
  // A little churn is not worth a heap walk.
  for (int i = 0; i < 5; ++i) CHECK_FALSE(p.on_tick(sample(0, 0, 10, 2050)));
  // Steady load: 1,000 connections live, 100 new per tick: never trimmed.
  IdleTrimPolicy q;
  for (uint64_t i = 0; i < 10; ++i) CHECK_FALSE(q.on_tick(sample(0, 0, 1000, 100 * i)));
}

TEST_CASE("trim policy: options", "[core][trim]") {
  IdleTrimPolicy p({4 * MiB, 64, 1});
  CHECK_FALSE(p.on_tick(sample(0, 3 * MiB)));
  CHECK(p.on_tick(sample(0, 5 * MiB)));
}

TEST_CASE("trim_idle_memory: free slabs go back, chunks in use stay", "[core][trim]") {
  BufferPool pool;
  std::vector<Slice> held;
  for (int i = 0; i < 256; ++i) {
    auto s = pool.copy_from("x", 1);
    REQUIRE(s);
    held.push_back(std::move(*s));
  }
  const uint64_t peak = pool.stats().slab_bytes;
  REQUIRE(peak > 0);
  Slice keep = held.front();
  held.clear();  // all but one chunk free
  const size_t freed = trim_idle_memory(pool);
#ifdef SLUICE_NOPOOL
  // Every chunk is its own allocation, freed when its last Slice goes.
  (void)freed;
  CHECK(pool.stats().chunks_outstanding == 1);
  keep.reset();
  CHECK(pool.stats().slab_bytes == 0);
#else
  CHECK(freed > 0);
  CHECK(pool.stats().slab_bytes < peak);
  CHECK(pool.stats().slab_bytes > 0);  // the slab under |keep| stays
  CHECK(pool.stats().chunks_outstanding == 1);
  keep.reset();
  trim_idle_memory(pool);
  CHECK(pool.stats().slab_bytes == 0);
#endif
}

TEST_CASE("trim policy: a periodic small buffer is noise, a creep is load", "[core][trim]") {
  // A TUIC client's heartbeat every 10 s left a datagram buffer out at every
  // other 5 s tick; with any rise counted as growth, the quiet count never
  // reached 2 and 16 MiB of free slabs stayed after 1,000 streams closed.
  IdleTrimPolicy p;
  CHECK_FALSE(p.on_tick(sample(20 * MiB, 24 * MiB)));
  const uint64_t idle = 64 << 10, blip = idle + (16 << 10);
  CHECK_FALSE(p.on_tick(sample(idle, 24 * MiB)));  // first quiet tick
  CHECK(p.on_tick(sample(blip, 24 * MiB)));        // the blip does not reset it
  CHECK_FALSE(p.on_tick(sample(idle, MiB * 3 / 2)));
  CHECK(p.on_tick(sample(blip, MiB * 3 / 2)));
  // A slow creep (200 KiB a tick, each under the slack) is growth once it
  // passes the slack over the lowest use since the last growth.
  IdleTrimPolicy q;
  CHECK_FALSE(q.on_tick(sample(MiB, 8 * MiB)));
  CHECK_FALSE(q.on_tick(sample(MiB + (200 << 10), 8 * MiB)));  // quiet 1
  CHECK_FALSE(q.on_tick(sample(MiB + (400 << 10), 8 * MiB)));  // grew: reset
  CHECK_FALSE(q.on_tick(sample(MiB + (600 << 10), 8 * MiB)));  // quiet 1
  CHECK_FALSE(q.on_tick(sample(MiB + (800 << 10), 8 * MiB)));  // grew: reset
}

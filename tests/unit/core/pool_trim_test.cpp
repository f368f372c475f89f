// IdleTrimPolicy: trims only once load has subsided and stayed down, and
// trim_idle_memory gives the free slabs back.
#include <catch2/catch.hpp>
#include <vector>

#include "core/pool_trim.hpp"

using namespace sluice;

namespace {

PoolStats sample(uint64_t used, uint64_t slabs) {
  PoolStats s;
  s.bytes_outstanding = used;
  s.slab_bytes = slabs;
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

TEST_CASE("trim policy: options", "[core][trim]") {
  IdleTrimPolicy p({4 * MiB, 1});
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

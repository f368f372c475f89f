#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "sluice/buffer.hpp"

using namespace sluice;

TEST_CASE("get picks the smallest class that fits", "[core][buffer_pool]") {
  BufferPool pool;
  auto a = pool.get(1);
  auto b = pool.get(2049);
  auto c = pool.get(16385);
  auto d = pool.get(SizeClass::k64K);
  REQUIRE((a && b && c && d));
  CHECK(a->tailroom() == 2048 + kTailroom);
  CHECK(b->tailroom() == 16384 + kTailroom);
  CHECK(c->tailroom() == 65536 + kTailroom);
  CHECK(d->tailroom() == 65536 + kTailroom);
  CHECK(pool.get(65537).error() == Errc::invalid_argument);
  CHECK(pool.get(static_cast<SizeClass>(7)).error() == Errc::invalid_argument);
  const PoolStats st = pool.stats();
  CHECK(st.chunks_outstanding == 4);
  CHECK(st.bytes_outstanding == 2048 + 16384 + 65536 * 2);
  CHECK(st.high_water == st.bytes_outstanding);
}

TEST_CASE("released chunks are reused: hits after the first miss", "[core][buffer_pool]") {
  BufferPool pool;
  const void* first = nullptr;
  {
    auto s = pool.get(10);
    REQUIRE(s);
    first = s->chunk();
  }
  CHECK(pool.stats().misses == 1);
  CHECK(pool.stats().chunks_outstanding == 0);
  auto again = pool.get(10);
  REQUIRE(again);
#ifndef SLUICE_NOPOOL
  CHECK(again->chunk() == first);
  CHECK(pool.stats().hits == 1);
  CHECK(pool.stats().misses == 1);
#else
  (void)first;
#endif
  CHECK(again->unique());
  CHECK(again->empty());
  CHECK(again->headroom() == kHeadroom);
}

TEST_CASE("a cap makes get fail with no_memory, and release makes room", "[core][buffer_pool]") {
  BufferPoolOptions opts;
  opts.max_bytes = 200 * 1024;
  BufferPool pool(opts);
  std::vector<Slice> held;
  Errc last = Errc::ok;
  for (int i = 0; i < 100; ++i) {
    auto r = pool.get(SizeClass::k64K);
    if (!r) {
      last = r.error();
      break;
    }
    held.push_back(std::move(*r));
  }
  CHECK(last == Errc::no_memory);
  CHECK(held.size() >= 2);
  CHECK(held.size() <= 3);
  CHECK(pool.stats().failures == 1);
  held.pop_back();
  auto r = pool.get(SizeClass::k64K);
  CHECK(r.has_value());
}

TEST_CASE("trim returns only completely free slabs", "[core][buffer_pool]") {
  BufferPool pool;
  std::vector<Slice> held;
  for (int i = 0; i < 40; ++i) {
    auto r = pool.get(100);
    REQUIRE(r);
    held.push_back(std::move(*r));
  }
  const uint64_t full = pool.stats().slab_bytes;
  CHECK(full > 0);
  CHECK(pool.trim() == 0);  // every slab has a chunk out
  held.resize(1);           // keep one chunk: its slab must stay
  const size_t freed = pool.trim();
#ifndef SLUICE_NOPOOL
  CHECK(freed > 0);
  CHECK(pool.stats().slab_bytes == full - freed);
#else
  // Without pooling every chunk is its own allocation, freed on release.
  CHECK(freed == 0);
  CHECK(pool.stats().slab_bytes < full);
#endif
  CHECK(pool.stats().slab_bytes > 0);
  CHECK(held[0].unique());
  held.clear();
  pool.trim();
  CHECK(pool.stats().slab_bytes == 0);
  CHECK(pool.stats().slabs == 0);
}

TEST_CASE("a Slice can outlive its BufferPool: the pool is orphaned, then freed",
          "[core][buffer_pool]") {
  const size_t before = BufferPool::orphaned_pools_for_test();
  Slice survivor;
  {
    BufferPool pool;
    auto r = pool.copy_from("still here", 10);
    REQUIRE(r);
    survivor = std::move(*r);
    auto other = pool.get(SizeClass::k16K);  // released before the pool dies
    REQUIRE(other);
  }
  CHECK(BufferPool::orphaned_pools_for_test() == before + 1);
  CHECK(survivor.view() == "still here");  // ASan would flag freed memory here
  Slice copy = survivor;
  survivor.reset();
  CHECK(BufferPool::orphaned_pools_for_test() == before + 1);
  copy.reset();
  CHECK(BufferPool::orphaned_pools_for_test() == before);
}

TEST_CASE("refcount edge cases: many sharers, last release returns the chunk",
          "[core][buffer_pool]") {
  BufferPool pool;
  auto r = pool.get(10);
  REQUIRE(r);
  std::vector<Slice> sharers(1000, *r);
  r->reset();
  CHECK(sharers[0].chunk()->refs() == 1000);
  CHECK(pool.stats().chunks_outstanding == 1);
  sharers.resize(1);
  CHECK(sharers[0].unique());
  sharers.clear();
  CHECK(pool.stats().chunks_outstanding == 0);
  CHECK(pool.stats().bytes_outstanding == 0);
}

TEST_CASE("reuse after release hands back a writable, clean view", "[core][buffer_pool]") {
  BufferPool pool;
  for (int round = 0; round < 3; ++round) {
    std::vector<Slice> v;
    for (int i = 0; i < 64; ++i) {
      auto r = pool.get(SizeClass::k2K);
      REQUIRE(r);
      uint8_t* p = r->append(2048);
      REQUIRE(p);
      std::memset(p, i, 2048);
      v.push_back(std::move(*r));
    }
    for (int i = 0; i < 64; ++i) CHECK(v[i].data()[2047] == static_cast<uint8_t>(i));
  }
  CHECK(pool.stats().chunks_outstanding == 0);
#ifndef SLUICE_NOPOOL
  CHECK(pool.stats().hits >= 128);
#endif
}

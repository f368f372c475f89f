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

TEST_CASE("reserve admits work while the cap has room and refuses past it", "[core][buffer_pool]") {
  // Room for exactly two 16 KiB-class slabs (or two 16 KiB chunks with NOPOOL).
  BufferPoolOptions opts;
  opts.max_bytes = 140 * 1024;
  BufferPool pool(opts);
  std::vector<PoolReservation> held;
  std::string why;
  for (int i = 0; i < 100; ++i) {
    auto r = pool.reserve(SizeClass::k16K, 2, &why);
    if (!r) {
      CHECK(r.error() == Errc::limit_exceeded);
      break;
    }
    CHECK(r->held());
    held.push_back(std::move(*r));
  }
  // Reservations alone never allocate.
  CHECK(pool.stats().slab_bytes == 0);
  CHECK(!held.empty());
  CHECK(held.size() < 100);
  CHECK(pool.stats().reserved_blocks == 2 * held.size());
  CHECK(pool.stats().refused == 1);
  CHECK(why.find("pool_max_bytes is 143360") != std::string::npos);
  CHECK(why.find("new work is refused") != std::string::npos);

  // What the reservations promised is there for get().
  std::vector<Slice> chunks;
  for (size_t i = 0; i < 2 * held.size(); ++i) {
    auto s = pool.get(SizeClass::k16K);
    REQUIRE(s);
    chunks.push_back(std::move(*s));
  }
  CHECK(pool.stats().slab_bytes <= opts.max_bytes);

  // Releasing one reservation admits one more; chunks in use still count.
  held.pop_back();
  CHECK(!pool.reserve(SizeClass::k16K, 2));
  chunks.clear();
  auto again = pool.reserve(SizeClass::k16K, 2);
  CHECK(again.has_value());
  held.clear();
  again->reset();
  CHECK(!again->held());
  CHECK(pool.stats().reserved_blocks == 0);
}

TEST_CASE("reserve below one slab explains that nothing can start", "[core][buffer_pool]") {
  BufferPoolOptions opts;
  opts.max_bytes = 16 * 1024;
  BufferPool pool(opts);
  std::string why;
  auto r = pool.reserve(SizeClass::k16K, 2, &why);
  REQUIRE(!r);
  CHECK(r.error() == Errc::limit_exceeded);
  CHECK(why.find("pool_max_bytes is 16384") != std::string::npos);
  CHECK(why.find("no connection can start") != std::string::npos);
}

TEST_CASE("reserve without a cap always admits and holds nothing", "[core][buffer_pool]") {
  BufferPool pool;
  auto r = pool.reserve(SizeClass::k64K, 1000);
  REQUIRE(r);
  CHECK(!r->held());
  CHECK(pool.stats().reserved_blocks == 0);
  CHECK(pool.reserve(SizeClass::k16K, 0).error() == Errc::invalid_argument);
}

TEST_CASE("a pool destroyed with a reservation held is freed by its release",
          "[core][buffer_pool]") {
  const size_t before = BufferPool::orphaned_pools_for_test();
  PoolReservation kept;
  {
    BufferPoolOptions opts;
    opts.max_bytes = 1 << 20;
    BufferPool pool(opts);
    auto r = pool.reserve(SizeClass::k2K, 1);
    REQUIRE(r);
    kept = std::move(*r);
  }
  CHECK(BufferPool::orphaned_pools_for_test() == before + 1);
  kept.reset();
  CHECK(BufferPool::orphaned_pools_for_test() == before);
}

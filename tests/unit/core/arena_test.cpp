#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>

#include "core/arena.hpp"

using namespace sluice;

namespace {
struct Tracked {
  int* counter;
  explicit Tracked(int* c) noexcept : counter(c) {}
  ~Tracked() { ++*counter; }
};
}  // namespace

TEST_CASE("allocate respects alignment and reset rewinds", "[core][arena]") {
  Arena arena;
  for (size_t align : {1u, 2u, 8u, 16u, 64u}) {
    auto p = arena.allocate(3, align);
    REQUIRE(p);
    CHECK(reinterpret_cast<uintptr_t>(*p) % align == 0);
  }
  CHECK(arena.allocate(8, 3).error() == Errc::invalid_argument);
  CHECK(arena.allocate(8, 128).error() == Errc::invalid_argument);
  CHECK(arena.bytes_used() > 0);
  arena.reset();
  CHECK(arena.bytes_used() == 0);
}

TEST_CASE("large requests get their own block; reset keeps one block", "[core][arena]") {
  ArenaOptions o;
  o.block_size = 1024;
  Arena arena(o);
  auto big = arena.allocate(10000);
  REQUIRE(big);
  std::memset(*big, 0xAB, 10000);
  auto small = arena.allocate(10);
  REQUIRE(small);
  CHECK(arena.bytes_held() > 10000);
  arena.reset();
#ifndef SLUICE_NOPOOL
  CHECK(arena.bytes_held() > 0);
  CHECK(arena.bytes_held() < 20000);
#endif
}

TEST_CASE("make runs destructors in reverse at reset", "[core][arena]") {
  Arena arena;
  int destroyed = 0;
  for (int i = 0; i < 5; ++i) REQUIRE(arena.make<Tracked>(&destroyed));
  auto plain = arena.make<int>(42);
  REQUIRE(plain);
  CHECK(**plain == 42);
  CHECK(destroyed == 0);
  arena.reset();
  CHECK(destroyed == 5);
  arena.reset();
  CHECK(destroyed == 5);
}

TEST_CASE("max_bytes makes allocation fail with no_memory", "[core][arena]") {
  ArenaOptions o;
  o.block_size = 512;
  o.max_bytes = 4096;
  Arena arena(o);
  Errc err = Errc::ok;
  for (int i = 0; i < 100; ++i) {
    auto p = arena.allocate(256);
    if (!p) {
      err = p.error();
      break;
    }
  }
  CHECK(err == Errc::no_memory);
  arena.reset();
  CHECK(arena.allocate(100).has_value());
}

TEST_CASE("copy duplicates bytes", "[core][arena]") {
  Arena arena;
  auto p = arena.copy("handshake", 9);
  REQUIRE(p);
  CHECK(std::memcmp(*p, "handshake", 9) == 0);
}

#include <catch2/catch.hpp>
#include <cstring>

#include "sluice/buffer.hpp"

using namespace sluice;

TEST_CASE("a pool Slice starts empty, unique, with head- and tailroom", "[core][slice]") {
  BufferPool pool;
  auto r = pool.get(100);
  REQUIRE(r.has_value());
  Slice s = std::move(*r);
  CHECK(s.empty());
  CHECK(s.unique());
  CHECK(s.headroom() == kHeadroom);
  CHECK(s.tailroom() == kClassPayload[0] + kTailroom);
  uint8_t* p = s.append(5);
  REQUIRE(p);
  std::memcpy(p, "hello", 5);
  CHECK(s.view() == "hello");
  uint8_t* h = s.prepend(2);
  REQUIRE(h);
  std::memcpy(h, "<<", 2);
  CHECK(s.view() == "<<hello");
  CHECK(s.headroom() == kHeadroom - 2);
  CHECK(s.append(s.tailroom() + 1) == nullptr);
  CHECK(s.prepend(s.headroom() + 1) == nullptr);
  CHECK(s.view() == "<<hello");
}

TEST_CASE("copying a Slice shares the chunk and makes both read-only", "[core][slice]") {
  BufferPool pool;
  auto r = pool.copy_from("abcdef", 6);
  REQUIRE(r);
  Slice a = std::move(*r);
  {
    Slice b = a;
    CHECK(b.data() == a.data());
    CHECK(a.chunk()->refs() == 2);
    CHECK_FALSE(a.unique());
    CHECK(a.mutable_data() == nullptr);
    CHECK(a.append(1) == nullptr);
    CHECK(b.prepend(1) == nullptr);
  }
  CHECK(a.unique());
  CHECK(a.mutable_data() != nullptr);
}

TEST_CASE("split_to, advance, truncate and sub move no bytes", "[core][slice]") {
  BufferPool pool;
  auto r = pool.copy_from("0123456789", 10);
  REQUIRE(r);
  Slice s = std::move(*r);
  const uint8_t* base = s.data();
  Slice front = s.split_to(3);
  CHECK(front.view() == "012");
  CHECK(s.view() == "3456789");
  CHECK(front.data() == base);
  CHECK(s.data() == base + 3);
  s.advance(2);
  CHECK(s.view() == "56789");
  s.truncate(3);
  CHECK(s.view() == "567");
  Slice mid = s.sub(1, 1);
  CHECK(mid.view() == "6");
  CHECK(s.split_to(0).empty());
  CHECK(s.sub(3, 0).empty());
  Slice whole = s.split_to(3);
  CHECK(s.empty());
  CHECK(whole.view() == "567");
  CHECK(pool.stats().chunks_outstanding == 1);
  front.reset();
  whole.reset();
  mid.reset();
  s.reset();
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("move leaves the source empty; self-assignment is harmless", "[core][slice]") {
  BufferPool pool;
  auto r = pool.copy_from("xy", 2);
  REQUIRE(r);
  Slice a = std::move(*r);
  Slice b = std::move(a);
  CHECK(a.empty());
  CHECK(a.data() == nullptr);
  CHECK(b.view() == "xy");
  Slice& alias = b;
  b = alias;
  CHECK(b.view() == "xy");
  b = std::move(alias);
  CHECK(b.view() == "xy");
  CHECK(b.unique());
  Slice c;
  c = b;
  CHECK(b.chunk()->refs() == 2);
  c = Slice();
  CHECK(b.unique());
}

namespace {
struct ReleaseLog {
  int calls = 0;
  const uint8_t* data = nullptr;
  size_t len = 0;
};
void on_release(void* user, const uint8_t* data, size_t len) {
  auto* log = static_cast<ReleaseLog*>(user);
  log->calls++;
  log->data = data;
  log->len = len;
}
}  // namespace

TEST_CASE("wrapped foreign memory is read-only and released once", "[core][slice]") {
  static const uint8_t kBytes[] = {1, 2, 3, 4};
  ReleaseLog log;
  {
    auto r = Slice::wrap(kBytes, sizeof kBytes, on_release, &log);
    REQUIRE(r);
    Slice s = std::move(*r);
    CHECK(s.size() == 4);
    CHECK_FALSE(s.unique());
    CHECK(s.mutable_data() == nullptr);
    CHECK(s.append(0) == nullptr);
    Slice tail = s.split_to(1);
    CHECK(log.calls == 0);
    s.reset();
    CHECK(log.calls == 0);
  }
  CHECK(log.calls == 1);
  CHECK(log.data == kBytes);
  CHECK(log.len == 4);
  CHECK(Slice::wrap(nullptr, 3, nullptr, nullptr).error() == Errc::invalid_argument);
  auto empty = Slice::wrap(nullptr, 0, nullptr, nullptr);
  REQUIRE(empty);
  CHECK(empty->empty());
}

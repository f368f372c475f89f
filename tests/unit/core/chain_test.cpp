#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "sluice/buffer.hpp"

using namespace sluice;

namespace {
Slice make(BufferPool& pool, const std::string& s) {
  auto r = pool.copy_from(s.data(), s.size());
  REQUIRE(r);
  return std::move(*r);
}
std::string flatten(const Chain& c) {
  std::string out(c.size(), '\0');
  CHECK(c.copy_out(out.data(), out.size()) == out.size());
  return out;
}
}  // namespace

TEST_CASE("push, pop, count and size", "[core][chain]") {
  BufferPool pool;
  Chain c;
  CHECK(c.empty());
  REQUIRE(c.push_back(make(pool, "abc")));
  REQUIRE(c.push_back(make(pool, "de")));
  REQUIRE(c.push_back(Slice()));  // empty Slices are dropped
  REQUIRE(c.push_front(make(pool, "<")));
  CHECK(c.count() == 3);
  CHECK(c.size() == 6);
  CHECK(flatten(c) == "<abcde");
  Slice f = c.pop_front();
  CHECK(f.view() == "<");
  CHECK(c.size() == 5);
  c.clear();
  CHECK(c.empty());
  CHECK(c.count() == 0);
}

TEST_CASE("growth past the inline slots, at both ends", "[core][chain]") {
  BufferPool pool;
  Chain c;
  std::string expect;
  for (int i = 0; i < 50; ++i) {
    const std::string piece = std::to_string(i) + ",";
    if (i % 3 == 0) {
      REQUIRE(c.push_front(make(pool, piece)));
      expect = piece + expect;
    } else {
      REQUIRE(c.push_back(make(pool, piece)));
      expect += piece;
    }
  }
  CHECK(c.count() == 50);
  CHECK(flatten(c) == expect);
  Chain moved = std::move(c);
  CHECK(c.empty());
  CHECK(flatten(moved) == expect);
  moved.clear();
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("advance and split_to cut through Slices without copying", "[core][chain]") {
  BufferPool pool;
  Chain c;
  REQUIRE(c.push_back(make(pool, "hello ")));
  REQUIRE(c.push_back(make(pool, "big ")));
  REQUIRE(c.push_back(make(pool, "world")));
  const uint8_t* second = c[1].data();
  auto head = c.split_to(8);
  REQUIRE(head);
  CHECK(flatten(*head) == "hello bi");
  CHECK(flatten(c) == "g world");
  CHECK(c[0].data() == second + 2);
  c.advance(2);
  CHECK(flatten(c) == "world");
  c.advance(5);
  CHECK(c.empty());
  auto none = c.split_to(0);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("iovecs expose every Slice in order, bounded by max", "[core][chain]") {
  BufferPool pool;
  Chain c;
  REQUIRE(c.push_back(make(pool, "ab")));
  REQUIRE(c.push_back(make(pool, "cde")));
  REQUIRE(c.push_back(make(pool, "f")));
  struct iovec iov[8];
  REQUIRE(c.iovecs(iov, 8) == 3);
  CHECK(iov[0].iov_len == 2);
  CHECK(iov[1].iov_len == 3);
  CHECK(std::memcmp(iov[1].iov_base, "cde", 3) == 0);
  CHECK(c.iovecs(iov, 2) == 2);
  CHECK(c.iovecs(iov, 0) == 0);
}

TEST_CASE("linearize copies only when the bytes straddle Slices", "[core][chain]") {
  BufferPool pool;
  Chain c;
  REQUIRE(c.push_back(make(pool, "abcd")));
  REQUIRE(c.push_back(make(pool, "efgh")));
  const uint8_t* first = c[0].data();
  auto p = c.linearize(3, pool);
  REQUIRE(p);
  CHECK(*p == first);
  CHECK(pool.stats().chunks_outstanding == 2);
  auto q = c.linearize(6, pool);
  REQUIRE(q);
  CHECK(std::memcmp(*q, "abcdef", 6) == 0);
  CHECK(flatten(c) == "abcdefgh");
  CHECK(c.count() == 2);
  CHECK(c.linearize(9, pool).error() == Errc::invalid_argument);
  c.clear();
  CHECK(pool.stats().chunks_outstanding == 0);
}

TEST_CASE("append moves every Slice", "[core][chain]") {
  BufferPool pool;
  Chain a, b;
  REQUIRE(a.push_back(make(pool, "12")));
  for (int i = 0; i < 10; ++i) REQUIRE(b.push_back(make(pool, "x")));
  REQUIRE(a.append(std::move(b)));
  CHECK(b.empty());
  CHECK(a.count() == 11);
  CHECK(flatten(a) == "12xxxxxxxxxx");
}

TEST_CASE("push_back_framed writes a header into headroom, or in a Slice of its own",
          "[core][chain]") {
  BufferPool pool;
  Chain c;
  // A unique pool Slice has headroom: one Slice, the payload not copied.
  Slice a = make(pool, "payload");
  const uint8_t* payload_at = a.data();
  auto h = c.push_back_framed(std::move(a), 3, pool);
  REQUIRE(h);
  std::memcpy(*h, "HDR", 3);
  CHECK(c.count() == 1);
  CHECK(c[0].data() + 3 == payload_at);
  CHECK(flatten(c) == "HDRpayload");
  // A shared Slice may not be written: the header gets its own Slice.
  Slice b = make(pool, "shared");
  Slice keep = b;
  h = c.push_back_framed(std::move(b), 2, pool);
  REQUIRE(h);
  std::memcpy(*h, "<>", 2);
  CHECK(c.count() == 3);
  CHECK(flatten(c) == "HDRpayload<>shared");
  CHECK(keep.view() == "shared");
  // An empty payload leaves just the header.
  h = c.push_back_framed(Slice(), 1, pool);
  REQUIRE(h);
  **h = '!';
  CHECK(flatten(c) == "HDRpayload<>shared!");
}

TEST_CASE("push_back_compact gathers small Slices into the last one's tailroom", "[core][chain]") {
  BufferPool pool;
  Chain c;
  // A first byte in a 16 KiB read buffer, then 3,000 one-byte reads: one
  // chunk holds them all, with kTailroom still free after them.
  auto first = pool.get(SizeClass::k16K);
  REQUIRE(first);
  *first->append(1) = 'a';
  REQUIRE(c.push_back_compact(std::move(*first)));
  std::string want = "a";
  for (int i = 0; i < 3000; ++i) {
    const char ch = static_cast<char>('b' + i % 20);
    want.push_back(ch);
    REQUIRE(c.push_back_compact(make(pool, std::string(1, ch))));
  }
  CHECK(c.count() == 1);
  CHECK(c.size() == 3001);
  CHECK(flatten(c) == want);
  CHECK(c[0].tailroom() >= kTailroom);
  // The 2 KiB chunks of the small reads came and went: one chunk is out.
  CHECK(pool.stats().chunks_outstanding == 1);
  CHECK(pool.stats().bytes_outstanding == 16384);
}

TEST_CASE("push_back_compact keeps Slices that are large, shared or would eat the tailroom",
          "[core][chain]") {
  BufferPool pool;
  Chain c;
  REQUIRE(c.push_back_compact(make(pool, "head")));
  // Over kCompactMax: appended as its own Slice, no copy.
  const std::string big(Chain::kCompactMax + 1, 'B');
  REQUIRE(c.push_back_compact(make(pool, big)));
  CHECK(c.count() == 2);
  // The last Slice shared with someone else: never written into.
  Slice shared = c[1].sub(0, 4);
  REQUIRE(c.push_back_compact(make(pool, "x")));
  CHECK(c.count() == 3);
  shared.reset();
  // A 2 KiB chunk filled up to its tailroom reserve: the next byte goes
  // in a Slice of its own.
  Chain d;
  auto s = pool.get(SizeClass::k2K);
  REQUIRE(s);
  const size_t fill = s->tailroom() - kTailroom;
  std::memset(s->append(fill), 'f', fill);
  REQUIRE(d.push_back_compact(std::move(*s)));
  REQUIRE(d.push_back_compact(make(pool, "y")));
  CHECK(d.count() == 2);
  CHECK(d[0].tailroom() == kTailroom);
  // append_compact: a whole Chain of small Slices lands in one.
  Chain e, src;
  auto t = pool.get(SizeClass::k16K);
  REQUIRE(t);
  *t->append(1) = '0';
  REQUIRE(e.push_back(std::move(*t)));
  for (int i = 1; i <= 9; ++i) REQUIRE(src.push_back(make(pool, std::to_string(i))));
  REQUIRE(e.append_compact(std::move(src)));
  CHECK(src.empty());
  CHECK(e.count() == 1);
  CHECK(flatten(e) == "0123456789");
  CHECK(flatten(c) == "head" + big + "x");
}

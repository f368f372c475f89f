#include <catch2/catch.hpp>

#include "core/watermark.hpp"

using namespace sluice;

namespace {
struct Counts {
  int high = 0;
  int low = 0;
};
void on_high(void* u) { static_cast<Counts*>(u)->high++; }
void on_low(void* u) { static_cast<Counts*>(u)->low++; }
Slice bytes(BufferPool& pool, size_t n) {
  auto r = pool.get(n);
  REQUIRE(r);
  REQUIRE(r->append(n));
  return std::move(*r);
}
}  // namespace

TEST_CASE("callbacks fire once per crossing", "[core][watermark]") {
  BufferPool pool;
  WatermarkBuffer wb(100, 1000);
  Counts c;
  wb.set_callbacks(on_high, on_low, &c);
  REQUIRE(wb.push(bytes(pool, 600)));
  CHECK(c.high == 0);
  REQUIRE(wb.push(bytes(pool, 600)));
  CHECK(c.high == 1);
  CHECK(wb.above_high());
  REQUIRE(wb.push(bytes(pool, 600)));
  CHECK(c.high == 1);  // still above: no second call
  wb.drain(1000);      // 800 left: between the marks
  CHECK(c.low == 0);
  wb.drain(750);  // 50 left: at or below low
  CHECK(c.low == 1);
  CHECK_FALSE(wb.above_high());
  wb.drain(50);
  CHECK(c.low == 1);
  REQUIRE(wb.push(bytes(pool, 1001)));
  CHECK(c.high == 2);
  auto taken = wb.take(1001);
  REQUIRE(taken);
  CHECK(taken->size() == 1001);
  CHECK(c.low == 2);
  CHECK(wb.size() == 0);
}

TEST_CASE("moving the watermarks re-evaluates the state", "[core][watermark]") {
  BufferPool pool;
  WatermarkBuffer wb(10, 20);
  Counts c;
  wb.set_callbacks(on_high, on_low, &c);
  REQUIRE(wb.push(bytes(pool, 15)));
  CHECK(c.high == 0);
  wb.set_watermarks(5, 12);
  CHECK(c.high == 1);
  wb.set_watermarks(15, 100);
  CHECK(c.low == 1);
}

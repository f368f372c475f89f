#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <random>

#include "core/ring.hpp"

using namespace sluice;

TEST_CASE("Ring: FIFO order across wrap-around and growth", "[core][ring]") {
  Ring<int> r;
  CHECK(r.empty());
  // Interleave pushes and pops so the head wraps many times, with growth
  // in the middle of a wrapped state.
  std::deque<int> model;
  std::mt19937 rng(7);
  int next = 0;
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      REQUIRE(r.push_back(next));
      model.push_back(next++);
    } else {
      REQUIRE(r.front() == model.front());
      r.pop_front();
      model.pop_front();
    }
    REQUIRE(r.size() == model.size());
    if (!model.empty()) {
      REQUIRE(r[0] == model.front());
      REQUIRE(r[r.size() - 1] == model.back());
    }
  }
}

TEST_CASE("Ring: steady push/pop does not grow", "[core][ring]") {
  Ring<int> r;
  REQUIRE(r.reserve(4));
  const size_t cap = r.capacity();
  for (int i = 0; i < 100000; ++i) {
    REQUIRE(r.push_back(i));
    r.pop_front();
  }
  CHECK(r.capacity() == cap);
  CHECK(r.empty());
}

TEST_CASE("Ring: erase_at keeps order, find_index, move-only elements", "[core][ring]") {
  Ring<std::unique_ptr<int>> r;
  for (int i = 0; i < 10; ++i) REQUIRE(r.push_back(std::make_unique<int>(i)));
  r.pop_front();
  r.pop_front();  // head is now offset: erase works on a rotated buffer
  REQUIRE(r.push_back(std::make_unique<int>(10)));
  r.erase_at(3);  // removes 5
  std::vector<int> got;
  for (size_t i = 0; i < r.size(); ++i) got.push_back(*r[i]);
  CHECK(got == std::vector<int>{2, 3, 4, 6, 7, 8, 9, 10});
  Ring<int> q;
  for (int i : {4, 8, 15, 16}) REQUIRE(q.push_back(i));
  CHECK(q.find_index(15) == 2);
  CHECK(q.find_index(99) == q.size());
  q.clear();
  CHECK(q.empty());
  CHECK(q.find_index(4) == 0);  // == size()
}

TEST_CASE("Ring: shrink_to gives back capacity, keeps elements and order", "[core][ring]") {
  Ring<std::unique_ptr<int>> r;
  for (int i = 0; i < 1024; ++i) REQUIRE(r.push_back(std::make_unique<int>(i)));
  CHECK(r.capacity() == 1024);
  // Leave 10 elements across the wrap point of the array: 1020..1029.
  for (int i = 0; i < 1020; ++i) r.pop_front();
  for (int i = 1024; i < 1030; ++i) REQUIRE(r.push_back(std::make_unique<int>(i)));
  REQUIRE(r.capacity() == 1024);
  REQUIRE(r.size() == 10);
  REQUIRE(r.shrink_to(0));  // never below what it holds
  CHECK(r.capacity() == 16);
  for (size_t i = 0; i < r.size(); ++i) CHECK(*r[i] == 1020 + static_cast<int>(i));
  // Room for 100 asked: 128; not worth it when it would save less than half.
  REQUIRE(r.reserve(100));
  CHECK(r.capacity() == 128);
  REQUIRE(r.shrink_to(100));
  CHECK(r.capacity() == 128);
  REQUIRE(r.shrink_to(40));
  CHECK(r.capacity() == 64);
  r.clear();
  REQUIRE(r.shrink_to(0));
  CHECK(r.capacity() == 8);
  REQUIRE(r.push_back(std::make_unique<int>(7)));
  CHECK(*r.front() == 7);
  Ring<int> never;
  REQUIRE(never.shrink_to(0));  // nothing allocated: stays so
  CHECK(never.capacity() == 0);
}

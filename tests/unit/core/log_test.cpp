#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sluice/log.hpp"

using namespace sluice;

namespace {
struct Captured {
  std::vector<std::pair<LogLevel, std::string>> lines;
};
void capture(void* user, LogLevel level, const char* msg, size_t len) {
  static_cast<Captured*>(user)->lines.emplace_back(level, std::string(msg, len));
}
}  // namespace

TEST_CASE("the host sink receives formatted lines at or above the level", "[core][log]") {
  Captured cap;
  set_log_sink(capture, &cap);
  set_log_level(LogLevel::info);
  SLUICE_LOG_DEBUG("hidden %d", 1);
  SLUICE_LOG_INFO("shown %d %s", 2, "x");
  SLUICE_LOG_ERROR("bad");
  set_log_level(LogLevel::off);
  SLUICE_LOG_ERROR("silenced");
  set_log_level(LogLevel::info);
  set_log_sink(nullptr, nullptr);
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.lines[0].first == LogLevel::info);
  CHECK(cap.lines[0].second == "shown 2 x");
  CHECK(cap.lines[1].first == LogLevel::error);
}

TEST_CASE("long lines are cut, not overflowed", "[core][log]") {
  Captured cap;
  set_log_sink(capture, &cap);
  std::string big(5000, 'z');
  SLUICE_LOG_WARN("%s", big.c_str());
  set_log_sink(nullptr, nullptr);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].second.size() == 1023);
}

TEST_CASE("level names parse, including sing-box aliases", "[core][log]") {
  LogLevel l;
  CHECK(parse_log_level("warning", 7, &l));
  CHECK(l == LogLevel::warn);
  CHECK(parse_log_level("panic", 5, &l));
  CHECK(l == LogLevel::error);
  CHECK_FALSE(parse_log_level("loud", 4, &l));
  CHECK(std::string(log_level_name(LogLevel::debug)) == "debug");
}

namespace {
struct Counting {
  std::atomic<uint64_t> lines{0};
  std::atomic<bool> retired{false};
  std::atomic<uint64_t> after_retired{0};
};
void count(void* user, LogLevel, const char*, size_t) {
  auto* c = static_cast<Counting*>(user);
  c->lines.fetch_add(1, std::memory_order_relaxed);
  if (c->retired.load(std::memory_order_relaxed)) c->after_retired.fetch_add(1);
}
}  // namespace

// Hosts replace the sink while Engines on other threads log: once
// set_log_sink returns, the old sink is never called again (the host may
// then free its user data), and no line is lost or torn. The ThreadSanitizer
// build (scripts/test --tsan) runs this too.
TEST_CASE("the sink is replaced while other threads log", "[core][log]") {
  constexpr int kThreads = 3;
  constexpr int kLinesEach = 2000;
  constexpr int kSinks = 50;
  std::vector<Counting> sinks(kSinks);
  set_log_level(LogLevel::info);
  set_log_sink(count, &sinks[0]);
  std::atomic<int> started{0};
  std::vector<std::thread> loggers;
  for (int t = 0; t < kThreads; ++t)
    loggers.emplace_back([&started, t] {
      started.fetch_add(1);
      for (int i = 0; i < kLinesEach; ++i) SLUICE_LOG_INFO("thread %d line %d", t, i);
    });
  while (started.load() < kThreads) std::this_thread::yield();
  for (int i = 1; i < kSinks; ++i) {
    set_log_sink(count, &sinks[i]);
    sinks[i - 1].retired.store(true);
    std::this_thread::yield();
  }
  for (auto& th : loggers) th.join();
  set_log_sink(nullptr, nullptr);
  uint64_t total = 0;
  for (auto& c : sinks) {
    total += c.lines.load();
    CHECK(c.after_retired.load() == 0);
  }
  CHECK(total == uint64_t{kThreads} * kLinesEach);
}

#include <catch2/catch.hpp>
#include <string>
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

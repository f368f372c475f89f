// log.cpp: the process-wide log sink and level.
#include "sluice/log.hpp"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace sluice {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_sink_mu;  // guards the (sink, user) pair; logging is not a hot path
LogSink g_sink = nullptr;
void* g_user = nullptr;

constexpr const char* kNames[] = {"trace", "debug", "info", "warn", "error", "off"};

void stderr_sink(LogLevel level, const char* msg, size_t len) {
  std::fprintf(stderr, "sluice %s: %.*s\n", log_level_name(level), static_cast<int>(len), msg);
}

}  // namespace

void set_log_sink(LogSink sink, void* user) noexcept {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  g_sink = sink;
  g_user = user;
}

void set_log_level(LogLevel level) noexcept { g_level.store(static_cast<int>(level)); }

LogLevel log_level() noexcept { return static_cast<LogLevel>(g_level.load()); }

bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off &&
         static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

const char* log_level_name(LogLevel level) noexcept {
  const int i = static_cast<int>(level);
  return (i >= 0 && i <= 5) ? kNames[i] : "unknown";
}

bool parse_log_level(const char* name, size_t len, LogLevel* out) noexcept {
  struct Alias {
    const char* name;
    LogLevel level;
  };
  static constexpr Alias kAliases[] = {
      {"trace", LogLevel::trace}, {"debug", LogLevel::debug},  {"info", LogLevel::info},
      {"warn", LogLevel::warn},   {"warning", LogLevel::warn}, {"error", LogLevel::error},
      {"fatal", LogLevel::error}, {"panic", LogLevel::error},  {"off", LogLevel::off},
  };
  for (const auto& a : kAliases) {
    if (std::strlen(a.name) == len && std::memcmp(a.name, name, len) == 0) {
      *out = a.level;
      return true;
    }
  }
  return false;
}

void log_message(LogLevel level, const char* fmt, ...) noexcept {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1;
  std::lock_guard<std::mutex> lock(g_sink_mu);
  if (g_sink)
    g_sink(g_user, level, buf, len);
  else
    stderr_sink(level, buf, len);
}

}  // namespace sluice

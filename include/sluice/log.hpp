// sluice/log.hpp: logging with a host-settable sink and level.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// sluice logs through one process-wide sink. The default writes to stderr;
// a host replaces it with set_log_sink (the C ABI's log callback lands here).
// The sink is called on whichever thread logs (normally an Engine's loop
// thread), with a message that is valid only during the call and has no
// trailing newline. set_log_sink, set_log_level and log_enabled are
// thread-safe; the sink must be too if several Engines run.
#pragma once

#include <cstddef>

namespace sluice {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// LogSink receives one formatted line; |user| is the pointer given with it.
using LogSink = void (*)(void* user, LogLevel level, const char* msg, size_t len);

// set_log_sink installs |sink| (nullptr restores the stderr default).
void set_log_sink(LogSink sink, void* user) noexcept;
// set_log_level drops messages below |level|. Default: info.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool log_enabled(LogLevel level) noexcept;
// log_level_name returns "trace", "debug", ...; parse_log_level the reverse
// (false for an unknown name; sing-box's "warning", "fatal" and "panic" map to
// warn, error and error).
const char* log_level_name(LogLevel level) noexcept;
bool parse_log_level(const char* name, size_t len, LogLevel* out) noexcept;

// log_message formats printf-style and hands the line to the sink. Lines longer
// than 1 KiB are cut. Prefer the SLUICE_LOG macro, which skips formatting when
// the level is off.
void log_message(LogLevel level, const char* fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

}  // namespace sluice

#define SLUICE_LOG(level, ...)                                                   \
  do {                                                                           \
    if (::sluice::log_enabled(level)) ::sluice::log_message(level, __VA_ARGS__); \
  } while (0)
#define SLUICE_LOG_DEBUG(...) SLUICE_LOG(::sluice::LogLevel::debug, __VA_ARGS__)
#define SLUICE_LOG_INFO(...) SLUICE_LOG(::sluice::LogLevel::info, __VA_ARGS__)
#define SLUICE_LOG_WARN(...) SLUICE_LOG(::sluice::LogLevel::warn, __VA_ARGS__)
#define SLUICE_LOG_ERROR(...) SLUICE_LOG(::sluice::LogLevel::error, __VA_ARGS__)

// log.cpp: sluice_set_log_callback and sluice_set_log_level over the C++
// log sink.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The C++ sink takes one user pointer; the C callback needs two (function and
// user data), so each installation allocates a small pair. set_log_sink
// swaps under the logger's mutex, and log_message calls the sink under the
// same mutex, so once the swap returns the old pair is unused and is freed.
#include <mutex>

#include "capi/handle.hpp"
#include "sluice/log.hpp"

namespace sluice::capi {
namespace {

struct LogTarget {
  sluice_log_cb cb;
  void* user;
};

std::mutex g_install_mu;        // serializes installations (guards g_target)
LogTarget* g_target = nullptr;  // the pair now installed, or nullptr

void forward(void* user, LogLevel level, const char* msg, size_t len) {
  auto* t = static_cast<LogTarget*>(user);
  t->cb(static_cast<int>(level), msg, len, t->user);
}

}  // namespace
}  // namespace sluice::capi

extern "C" {

SLUICE_EXTERN void sluice_set_log_callback(sluice_log_cb cb, void* user_data) {
  using namespace sluice::capi;
  std::lock_guard<std::mutex> lock(g_install_mu);
  LogTarget* next = nullptr;
  if (cb) {
    next = new (std::nothrow) LogTarget{cb, user_data};
    if (!next) return;  // keep the current sink rather than lose every line
  }
  sluice::set_log_sink(next ? forward : nullptr, next);
  delete g_target;
  g_target = next;
}

SLUICE_EXTERN int sluice_set_log_level(int level) {
  if (level < SLUICE_LOG_TRACE || level > SLUICE_LOG_OFF) return SLUICE_ERR_INVALID_ARGUMENT;
  sluice::set_log_level(static_cast<sluice::LogLevel>(level));
  return SLUICE_OK;
}

}  // extern "C"

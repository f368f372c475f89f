// engine.hpp: CEngine, the object behind a sluice_engine handle.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// CEngine owns the C++ Engine and what the C ABI adds around it: the failure
// reason of the last failed call, and the list of instances not yet freed
// (sluice_engine_free frees those the host never closed).
//
// Threads: failure_ and the instance list belong to the loop thread (failure_
// is also copied out under failure_mu_ from any thread);
// stop() is serialized by stop_mu_ so two host threads cannot both join.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "capi/handle.hpp"

namespace sluice::capi {

class CInstance;

class CEngine final : public sluice_engine {
 public:
  using Opaque = sluice_engine;

  CEngine(std::unique_ptr<Engine> e, bool own_loop) noexcept
      : engine_(std::move(e)), own_loop_(own_loop) {}
  ~CEngine();

  Engine& engine() noexcept { return *engine_; }
  const Engine& engine() const noexcept { return *engine_; }

  int start() noexcept;
  int stop() noexcept;
  // stopping: stop() began; nothing new may be created.
  bool stopping() const noexcept { return stopping_; }

  // set_failure / clear_failure maintain the borrowed failure reason (loop
  // thread; under failure_mu_ so that copy_failure may read from any).
  void set_failure(std::string reason) noexcept;
  void clear_failure() noexcept;
  // failure_reason: the loop thread's borrowed view (it is the only writer).
  const char* failure_reason() const noexcept { return failure_.c_str(); }
  // copy_failure copies the reason into |buf| (|len| bytes, NUL-terminated
  // when len > 0) from any thread; returns its full length.
  size_t copy_failure(char* buf, size_t len) const noexcept;

  void link(CInstance* i) noexcept;
  void unlink(CInstance* i) noexcept;

 private:
  // close_everything runs Engine::close_all to completion where this thread
  // can (own loop not running); returns whether it completed.
  bool close_everything() noexcept;

  std::unique_ptr<Engine> engine_;
  const bool own_loop_;                // the engine runs its own loop (not a host's)
  bool started_ = false;               // start() spawned the loop thread
  std::atomic<bool> stopping_{false};  // stop() was called (read by the loop thread)
  std::recursive_mutex stop_mu_;       // serializes stop(); recursive for callbacks run by it
  bool closing_now_ = false;           // close_everything() is on the stack (under stop_mu_)
  std::string failure_;                // last failure reason (written on the loop thread)
  mutable std::mutex failure_mu_;      // guards failure_ against copy_failure
  CInstance* instances_ = nullptr;     // live instances, linked through CInstance
};

}  // namespace sluice::capi

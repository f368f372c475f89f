// engine.cpp: Engine, its loop (own thread or host), post queue and object list.
#include "sluice/engine.hpp"

#include <uv.h>

#include <signal.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "core/check.hpp"
#include "core/pool_trim.hpp"
#include "net/clock.hpp"
#include "net/engine_internal.hpp"
#include "net/timer_queue.hpp"
#include "sluice/log.hpp"

namespace sluice {
namespace detail {

struct EngineImpl {
  Engine* self = nullptr;
  uv_loop_t own_loop{};
  uv_loop_t* loop = nullptr;
  bool own = false;  // the Engine initialized loop itself
  BufferPool pool;
  std::thread thread;
  std::atomic<bool> running{false};
  std::thread::id loop_thread{};

  uv_async_t async{};
  bool async_open = false;
  std::mutex mu;  // guards queue and stopping
  std::deque<std::function<void()>> queue;
  bool stopping = false;

  EngineObject* objects = nullptr;  // intrusive list of live objects
  uint64_t object_count = 0;
  bool closing_all = false;
  // Everyone waiting for close_all to finish (it may be asked more than once).
  std::vector<std::pair<void (*)(void*), void*>> close_waiters;

  EngineStats stats;

  // Every net::Timer of this Engine is in |timers|. One uv_timer_t is armed
  // for the earliest (|wake_due|: the due time it is armed for); a timer that
  // is already due when armed (delay 0, a deferral) is run from a uv_idle_t
  // instead, because libuv 1.44 runs a uv_timer_t restarted with 0 ms from a
  // timer callback again in the same pass, without end. On a ManualClock
  // neither handle is started and the clock fires the timers.
  net::TimerQueue timers;
  uv_timer_t wake{};
  uv_idle_t defer{};
  // trim_tick samples the pool every kPoolTrimTickMs for trim_policy, which
  // gives idle memory back after load (core/pool_trim.hpp). Unreferenced: it
  // never keeps a loop alive. Closed with |wake|.
  uv_timer_t trim_tick{};
  IdleTrimPolicy trim_policy;
  bool wake_open = false;
  bool defer_active = false;
  uint64_t wake_due = UINT64_MAX;
  net::ManualClock* manual = nullptr;
  // net::defer calls for the next loop turn (run from |defer|, before timers),
  // and the batch being run (kept to reuse its storage).
  std::vector<std::pair<void (*)(void*), void*>> deferred, deferred_batch;

  int closing_handles = 0;  // uv_close callbacks close_all still waits for

  explicit EngineImpl(const EngineOptions& o) : pool(o.pool) {}

  uint64_t now_ms() const noexcept { return manual ? manual->now_ms() : uv_now(loop); }

  // arm_wake makes the loop wake up for the deferred calls and the earliest
  // timer: on its next turn when something is due already (the idle handle
  // keeps the poll from blocking), else when the earliest timer falls due.
  void arm_wake() noexcept {
    if (manual || !wake_open) return;
    net::Timer* top = timers.top();
    const bool due_now = !deferred.empty() || (top && top->due_ms() <= uv_now(loop));
    if (due_now != defer_active) {
      if (due_now)
        uv_idle_start(&defer, on_defer);
      else
        uv_idle_stop(&defer);
      defer_active = due_now;
    }
    // An armed uv_timer_t is left alone while a turn is due: waking for it
    // early finds nothing due, which is harmless, and the turn re-arms it.
    if (due_now) return;
    if (!top) {
      if (wake_due != UINT64_MAX) uv_timer_stop(&wake);
      wake_due = UINT64_MAX;
      return;
    }
    if (top->due_ms() == wake_due) return;
    wake_due = top->due_ms();
    uv_timer_start(&wake, on_wake, wake_due - uv_now(loop), 0);
  }

  static void on_wake(uv_timer_t* h) {
    auto* impl = static_cast<EngineImpl*>(h->data);
    impl->wake_due = UINT64_MAX;
    impl->run_due();
  }
  static void on_defer(uv_idle_t* h) {
    auto* impl = static_cast<EngineImpl*>(h->data);
    uv_idle_stop(h);
    impl->defer_active = false;
    impl->run_deferred();
    impl->run_due();
  }

  // run_deferred runs the net::defer calls queued so far; calls they queue
  // wait for the next turn.
  void run_deferred() noexcept {
    if (deferred.empty()) return;
    deferred_batch.swap(deferred);
    for (auto& [cb, user] : deferred_batch) cb(user);
    deferred_batch.clear();
  }

  // run_due fires every timer due now that was armed before this pass; timers
  // armed by the callbacks wait for a later pass, so I/O is not starved.
  void run_due() noexcept {
    const uint64_t now = uv_now(loop);
    const uint64_t limit = timers.next_seq();
    while (net::Timer* t = timers.pop_due(now, limit)) net::TimerQueue::fire(t);
    arm_wake();
  }

  static void on_async(uv_async_t* h) {
    auto* impl = static_cast<EngineImpl*>(h->data);
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard<std::mutex> lock(impl->mu);
      batch.swap(impl->queue);
    }
    for (auto& fn : batch) fn();
  }

  void maybe_finish_close() {
    if (!closing_all || object_count != 0 || !async_open) return;
    // Run queued posts and deferred calls one last time so nothing accepted
    // is silently dropped.
    on_async(&async);
    while (!deferred.empty()) run_deferred();
    async_open = false;
    close_handle(reinterpret_cast<uv_handle_t*>(&async));
    if (wake_open) {
      wake_open = false;
      wake_due = UINT64_MAX;
      defer_active = false;
      close_handle(reinterpret_cast<uv_handle_t*>(&wake));
      close_handle(reinterpret_cast<uv_handle_t*>(&defer));
      close_handle(reinterpret_cast<uv_handle_t*>(&trim_tick));
    }
  }

  void close_handle(uv_handle_t* h) {
    closing_handles++;
    uv_close(h, [](uv_handle_t* h) {
      auto* impl = static_cast<EngineImpl*>(h->data);
      if (--impl->closing_handles != 0) return;
      impl->closing_all = false;
      auto waiters = std::move(impl->close_waiters);
      impl->close_waiters.clear();
      for (auto& [cb, user] : waiters) cb(user);
    });
  }
};

}  // namespace detail

namespace {
// ignore_sigpipe: libuv writes to TCP sockets with write(2), so a peer that
// has gone raises SIGPIPE, whose default action kills the process. A proxy
// must survive that (the write fails with EPIPE instead). Only a default
// disposition is changed; a host's own handler is left alone.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL) {
      sa.sa_handler = SIG_IGN;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;
      sigaction(SIGPIPE, &sa, nullptr);
    }
  });
}
}  // namespace

Result<std::unique_ptr<Engine>> Engine::create(const EngineOptions& opts) {
  ignore_sigpipe();
  auto* impl = new (std::nothrow) detail::EngineImpl(opts);
  if (!impl) return Errc::no_memory;
  if (opts.loop) {
    impl->loop = opts.loop;
  } else {
    int rc = uv_loop_init(&impl->own_loop);
    if (rc != 0) {
      delete impl;
      return Errc::io_error;
    }
    impl->loop = &impl->own_loop;
    impl->own = true;
  }
  int rc = uv_async_init(impl->loop, &impl->async, detail::EngineImpl::on_async);
  if (rc != 0) {
    if (impl->own) uv_loop_close(&impl->own_loop);
    delete impl;
    return Errc::io_error;
  }
  impl->async.data = impl;
  impl->async_open = true;
  uv_timer_init(impl->loop, &impl->wake);  // cannot fail for a timer or idle
  impl->wake.data = impl;
  uv_idle_init(impl->loop, &impl->defer);
  impl->defer.data = impl;
  uv_timer_init(impl->loop, &impl->trim_tick);
  impl->trim_tick.data = impl;
  uv_timer_start(
      &impl->trim_tick,
      [](uv_timer_t* h) {
        auto* impl = static_cast<detail::EngineImpl*>(h->data);
        if (impl->manual != nullptr) return;  // virtual time: tests trim by hand
        if (impl->trim_policy.on_tick(impl->pool.stats())) trim_idle_memory(impl->pool);
      },
      kPoolTrimTickMs, kPoolTrimTickMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl->trim_tick));
  impl->wake_open = true;
  // The async handle must not keep a host's loop (or run_for_test) alive;
  // start() refs it for the own thread, which should run until stop().
  uv_unref(reinterpret_cast<uv_handle_t*>(&impl->async));
  impl->loop_thread = std::this_thread::get_id();
  std::unique_ptr<Engine> e(new (std::nothrow) Engine(impl));
  if (!e) return Errc::no_memory;
  impl->self = e.get();
  return e;
}

Engine::~Engine() {
  if (impl_->thread.joinable()) (void)stop();
  if (impl_->manual) impl_->manual->engine_ = nullptr;
  if (impl_->async_open) {
    // Not stopped by stop() or close_all(): close everything now, on this
    // thread, which is the loop thread in host-loop and never-started modes.
    bool done = false;
    close_all([](void* u) { *static_cast<bool*>(u) = true; }, &done);
    if (impl_->own) {
      while (!done) uv_run(impl_->loop, UV_RUN_ONCE);
    } else {
      // A host loop: the host must run it to finish; we can only warn.
      if (!done) SLUICE_LOG_ERROR("engine destroyed before close_all completed on the host loop");
    }
  }
  if (impl_->own) {
    uv_run(impl_->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(impl_->loop);
    if (rc != 0) SLUICE_LOG_ERROR("engine loop closed with handles still open");
  }
  delete impl_;
}

Status Engine::start() {
  if (!impl_->own || impl_->thread.joinable() || !impl_->async_open) return Errc::invalid_state;
  uv_ref(reinterpret_cast<uv_handle_t*>(&impl_->async));
  impl_->running = true;
  std::atomic<bool> ready{false};
  impl_->thread = std::thread([this, &ready] {
    impl_->loop_thread = std::this_thread::get_id();
    ready = true;
    uv_run(impl_->loop, UV_RUN_DEFAULT);
    impl_->running = false;
  });
  while (!ready) std::this_thread::yield();
  return {};
}

Status Engine::stop() {
  if (!impl_->thread.joinable()) return {};
  // The loop thread cannot wait for itself to end.
  if (std::this_thread::get_id() == impl_->thread.get_id()) return Errc::invalid_state;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->stopping) {
      impl_->stopping = true;
      impl_->queue.push_back([this] { close_all(nullptr, nullptr); });
    }
  }
  uv_async_send(&impl_->async);
  impl_->thread.join();
  impl_->loop_thread = std::this_thread::get_id();
  return {};
}

void Engine::close_all(void (*cb)(void* user), void* user) {
  if (!impl_->async_open) {
    if (cb) cb(user);  // already closed
    return;
  }
  if (cb) impl_->close_waiters.emplace_back(cb, user);
  if (impl_->closing_all) return;
  impl_->closing_all = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  // engine_close may detach and delete any object, itself or others, so never
  // hold a pointer across the call: rescan for the next object not yet told.
  // Quadratic in the number of objects, which only matters at stop.
  for (;;) {
    EngineObject* o = impl_->objects;
    while (o && o->close_requested_) o = o->next_;
    if (!o) break;
    o->close_requested_ = true;
    o->engine_close();
  }
  impl_->maybe_finish_close();
}

Status Engine::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping || !impl_->async_open) return Errc::closed;
    impl_->queue.push_back(std::move(fn));
  }
  uv_async_send(&impl_->async);
  return {};
}

uint64_t Engine::now_ms() const noexcept { return impl_->now_ms(); }

uv_loop_s* Engine::loop() noexcept { return impl_->loop; }
BufferPool& Engine::pool() noexcept { return impl_->pool; }
bool Engine::running() const noexcept { return impl_->running; }
bool Engine::on_loop_thread() const noexcept {
  return std::this_thread::get_id() == impl_->loop_thread;
}

EngineStats Engine::stats() const noexcept {
  EngineStats s = impl_->stats;
  s.objects = impl_->object_count;
  s.pool = impl_->pool.stats();
  return s;
}

void Engine::attach(EngineObject* o) noexcept {
  o->prev_ = nullptr;
  o->next_ = impl_->objects;
  if (impl_->objects) impl_->objects->prev_ = o;
  impl_->objects = o;
  impl_->object_count++;
}

void Engine::detach(EngineObject* o) noexcept {
  if (o->prev_)
    o->prev_->next_ = o->next_;
  else if (impl_->objects == o)
    impl_->objects = o->next_;
  if (o->next_) o->next_->prev_ = o->prev_;
  o->prev_ = o->next_ = nullptr;
  SLUICE_CHECK(impl_->object_count > 0);
  impl_->object_count--;
  impl_->maybe_finish_close();
}

namespace net {

void defer(Engine& e, void (*cb)(void* user), void* user) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  if (!impl->wake_open && !impl->manual) {
    cb(user);  // the Engine has closed its handles: no later turn will come
    return;
  }
  impl->deferred.emplace_back(cb, user);
  impl->arm_wake();
}

bool closing_all(Engine& e) noexcept { return detail::EngineAccess::impl(e)->closing_all; }

void run_for_test(Engine& e) { uv_run(e.loop(), UV_RUN_DEFAULT); }

void count_bytes(Engine& e, uint64_t up, uint64_t down) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  impl->stats.bytes_up += up;
  impl->stats.bytes_down += down;
}
void count_stream_open(Engine& e) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  impl->stats.streams_opened++;
  impl->stats.streams_active++;
}
void count_stream_close(Engine& e) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  if (impl->stats.streams_active) impl->stats.streams_active--;
}
void count_accept(Engine& e) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  impl->stats.connections_accepted++;
}
void count_accept_error(Engine& e) noexcept {
  detail::EngineAccess::impl(e)->stats.accept_errors++;
}
void count_refused(Engine& e) noexcept {
  detail::EngineAccess::impl(e)->stats.connections_refused++;
}
void count_ech(Engine& e, EchOutcome o) noexcept {
  detail::EngineImpl* impl = detail::EngineAccess::impl(e);
  switch (o) {
    case EchOutcome::accepted:
      impl->stats.ech_accepted++;
      break;
    case EchOutcome::rejected:
      impl->stats.ech_rejected++;
      break;
    case EchOutcome::retried:
      impl->stats.ech_retried++;
      break;
  }
}

TimerQueue& timer_queue(Engine& e) noexcept { return detail::EngineAccess::impl(e)->timers; }
void timers_changed(Engine& e) noexcept { detail::EngineAccess::impl(e)->arm_wake(); }

Result<std::unique_ptr<Engine>> create_engine(ManualClock& clock, const EngineOptions& opts) {
  if (clock.engine_) return Errc::invalid_state;  // one Engine per clock
  auto e = Engine::create(opts);
  if (!e) return e.error();
  detail::EngineAccess::impl(**e)->manual = &clock;
  clock.engine_ = e->get();
  return e;
}

void ManualClock::advance(uint64_t ms) noexcept {
  const uint64_t target = ms > UINT64_MAX - now_ ? UINT64_MAX : now_ + ms;
  while (engine_) {
    detail::EngineImpl* impl = detail::EngineAccess::impl(*engine_);
    if (!impl->deferred.empty()) {  // deferred calls first, at the current time
      impl->run_deferred();
      continue;
    }
    Timer* top = impl->timers.top();
    if (!top || top->due_ms() > target) break;
    if (top->due_ms() > now_) now_ = top->due_ms();
    TimerQueue::fire(impl->timers.pop_due(now_, UINT64_MAX));
    // A callback may have destroyed the Engine; the loop condition sees it.
  }
  now_ = target;
}

uint64_t ManualClock::next_due_ms() const noexcept {
  if (!engine_) return UINT64_MAX;
  const Timer* top = timer_queue(*engine_).top();
  return top ? top->due_ms() : UINT64_MAX;
}

size_t ManualClock::armed_timers() const noexcept {
  return engine_ ? timer_queue(*engine_).size() : 0;
}

}  // namespace net
}  // namespace sluice

// sluice/engine.hpp: Engine, one libuv loop with its BufferPool and objects.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// An Engine is one libuv loop, the BufferPool of that loop, and every session,
// inbound and stream created on it. It runs in one of two modes:
//
//  * host loop: EngineOptions::loop names the host's uv_loop_t; the host runs
//    the loop and calls everything on that loop's thread.
//  * own thread: start() spawns a thread that runs a loop the Engine owns. The
//    host then reaches it only through post() (a uv_async_t queue), and every
//    callback arrives on the Engine's thread.
//
// Creating the first Engine sets SIGPIPE to SIG_IGN if it still has the
// default disposition (a write to a vanished peer must fail with EPIPE, not
// kill the host); a handler the host installed is left alone.
//
// Stopping closes every object (inbounds first, then sessions and streams),
// returns every pool chunk and closes the loop. Thread-safe members: post(),
// stop() (own-thread mode), running(). Everything else: the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

struct uv_loop_s;

namespace sluice {

class EngineObject;
namespace detail {
struct EngineImpl;
struct EngineAccess;
}  // namespace detail

struct EngineOptions {
  // loop: a host's uv_loop_t to run inside, or nullptr for a loop of the
  // Engine's own (run by start()).
  uv_loop_s* loop = nullptr;
  BufferPoolOptions pool;
};

// EngineStats are an Engine's counters.
struct EngineStats {
  uint64_t bytes_up = 0;    // application -> tunnel, through relays
  uint64_t bytes_down = 0;  // tunnel -> application
  uint64_t streams_opened = 0;
  uint64_t streams_active = 0;
  uint64_t connections_accepted = 0;
  // accept_errors: accepts that failed (out of descriptors: EMFILE/ENFILE);
  // connections_refused: accepted connections an inbound's max_connections
  // or max_connections_per_ip, or the pool cap, closed at once (QUIC
  // connections refused before their handshake included).
  uint64_t accept_errors = 0;
  uint64_t connections_refused = 0;
  uint64_t objects = 0;  // live EngineObjects
  PoolStats pool;
  // ECH on outgoing TLS connections (TlsDial, configured ECHConfigList;
  // GREASE is not counted): handshakes the server accepted ECH in,
  // handshakes it rejected ECH in (each attempt), and second attempts made
  // with the retry configs of a rejection.
  uint64_t ech_accepted = 0;
  uint64_t ech_rejected = 0;
  uint64_t ech_retried = 0;
};

// EchOutcome names the ECH counters of EngineStats.
enum class EchOutcome : uint8_t { accepted, rejected, retried };

class Engine {
 public:
  // create makes an Engine; with no host loop its own loop is initialized now.
  static Result<std::unique_ptr<Engine>> create(const EngineOptions& opts = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // start runs the own loop on a new thread (invalid_state with a host loop
  // or when already started).
  Status start();
  // stop (thread-safe, own-thread mode) closes every object on the loop thread,
  // waits for the thread to end and closes the loop. Idempotent.
  // invalid_state when called on the loop thread itself (it would wait for itself).
  Status stop();
  // close_all (loop thread) starts closing every object; |cb| (may be null)
  // runs when the last one has closed. Calling it again while it is under
  // way adds another waiter; after it finished, |cb| runs at once. In
  // host-loop mode this is how the host shuts down.
  void close_all(void (*cb)(void* user), void* user);

  // post queues |fn| to run on the loop thread (thread-safe). closed once the
  // Engine is stopping.
  Status post(std::function<void()> fn);

  // now_ms: the Engine's clock in milliseconds, the time every deadline is
  // measured against: libuv's loop time (uv_now, updated once per loop
  // iteration), or a virtual clock in sluice's own tests. Loop thread.
  uint64_t now_ms() const noexcept;

  uv_loop_s* loop() noexcept;
  BufferPool& pool() noexcept;
  bool running() const noexcept;
  bool on_loop_thread() const noexcept;
  EngineStats stats() const noexcept;

  // Registration of objects closed by close_all(); done by EngineObject.
  void attach(EngineObject* o) noexcept;
  void detach(EngineObject* o) noexcept;

 private:
  friend struct detail::EngineAccess;
  explicit Engine(detail::EngineImpl* impl) : impl_(impl) {}
  detail::EngineImpl* impl_;
};

// EngineObject is the base of everything an Engine closes at stop: inbounds,
// sessions, relays, host-owned streams. The Engine calls engine_close() once;
// the object must then close its handles and call finished() when done
// (which may delete it).
class EngineObject {
 public:
  explicit EngineObject(Engine& e) noexcept : engine_(e) { e.attach(this); }
  virtual ~EngineObject() { detach_from_engine(); }
  EngineObject(const EngineObject&) = delete;
  EngineObject& operator=(const EngineObject&) = delete;

  Engine& engine() const noexcept { return engine_; }
  // engine_close: the Engine is stopping; close everything and detach.
  virtual void engine_close() noexcept = 0;
  // detach_from_engine: the object holds no loop resources any more (or never
  // did) and need not be waited for; idempotent. Objects owned by something
  // other than themselves (sessions) call it from engine_close().
  void detach_from_engine() noexcept {
    if (attached_) {
      attached_ = false;
      engine_.detach(this);
    }
  }

 private:
  friend class Engine;
  friend struct detail::EngineImpl;
  Engine& engine_;
  EngineObject* prev_ = nullptr;
  EngineObject* next_ = nullptr;
  bool close_requested_ = false;  // engine_close() was called
  bool attached_ = true;          // on the Engine's list
};

}  // namespace sluice

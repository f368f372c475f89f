// closer.hpp: net::Closer, the one asynchronous close with exactly one callback.
//
// Every object that owns loop resources (uv handles, requests in flight, an
// inner Transport or socket) closes the same way, as libuv handles do:
// close(cb, user) starts it, |cb(user)| runs exactly once when the last part
// has closed, and nothing of the object is called back after that (so the
// callback may delete it). A Closer holds that state for its owner:
//
//   void Thing::close(CloseCallback cb, void* user) noexcept {
//     if (!closer_.begin(cb, user)) return;     // already closing: no-op
//     ...stop reading, drop queues...
//     closer_.close_handle<&Thing::closer_>(&timer_);  // h->data == this
//     closer_.close_handle<&Thing::closer_>(&udp_);
//     inner_->close(closer_.hold_callback(), &closer_);  // any async part
//     closer_.arm(engine());                    // everything is held now
//   }
//
// begin() holds one reference that arm() gives back, so parts finishing
// synchronously cannot end the close before every part has been counted.
// If nothing at all was held when arm() is called, the callback is deferred
// to the Engine's next loop turn (net::defer) rather than run inside close():
// a close callback never runs from inside close() itself.
//
// Threading: the loop thread. The Closer is a member of its owner; the owner
// must not be destroyed before its callback ran (or before begin() was ever
// called).
#pragma once

#include <uv.h>

#include <cstdint>
#include <type_traits>

#include "core/check.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice {
class Engine;
namespace net {

// defer calls |cb(user)| on the Engine's next loop turn (on a ManualClock:
// from the next advance()); queued calls still run when the Engine closes.
void defer(Engine& e, void (*cb)(void* user), void* user) noexcept;

class Closer {
 public:
  Closer() = default;
  Closer(const Closer&) = delete;
  Closer& operator=(const Closer&) = delete;

  // begin starts the close with the owner's callback (may be null). false if
  // the close had begun already: a second close() does nothing, and its
  // callback is never called.
  bool begin(CloseCallback cb, void* user) noexcept {
    if (begun_) return false;
    begun_ = true;
    cb_ = cb;
    user_ = user;
    pending_ = 1;  // given back by arm()
    return true;
  }
  // detach_when_closed: |o| (the owner) leaves its Engine's list of objects
  // right before the callback, once nothing of it is left on the loop.
  void detach_when_closed(EngineObject* o) noexcept { detach_ = o; }

  // closing: begin() was called (the object no longer does any work).
  bool closing() const noexcept { return begun_; }
  // closed: the callback has been called (or deferred).
  bool closed() const noexcept { return begun_ && pending_ == 0; }

  // hold: one more part the close must wait for; release() when it is done.
  void hold() noexcept { ++pending_; }
  // release: a held part is done. The last release after arm() runs the
  // callback, which may destroy the owner: touch nothing after release().
  void release() noexcept {
    SLUICE_CHECK(pending_ > 1 || (pending_ == 1 && armed_));
    if (--pending_ == 0) finish();
  }
  // hold_callback: a CloseCallback releasing the Closer given as its user
  // pointer, for an inner object's close(): hold() is done here.
  CloseCallback hold_callback() noexcept {
    hold();
    return [](void* u) { static_cast<Closer*>(u)->release(); };
  }

  // close_handle holds, uv_close()s |h| and releases from its close callback.
  // |h|->data must point to the owner, whose Closer is the member |Member|
  // (given as &Owner::closer_). A handle already closing is only waited for
  // if its close was started here.
  template <auto Member, class Handle>
  void close_handle(Handle* h) noexcept {
    auto* hd = reinterpret_cast<uv_handle_t*>(h);
    hold();
    uv_close(hd, [](uv_handle_t* x) {
      using Owner = typename MemberOwner<decltype(Member)>::type;
      (static_cast<Owner*>(x->data)->*Member).release();
    });
  }

  // arm: every part is held; gives back begin()'s reference. With nothing
  // held the callback is deferred to the next loop turn of |e|.
  void arm(Engine& e) noexcept {
    armed_ = true;
    if (pending_ > 1) {
      --pending_;
      return;
    }
    pending_ = 0;
    if (detach_) detach_->detach_from_engine();
    CloseCallback cb = cb_;
    cb_ = nullptr;
    if (cb) defer(e, cb, user_);
  }
  // arm, for an owner that holds at least one part (a handle it closes).
  void arm() noexcept {
    SLUICE_CHECK(pending_ > 1);
    armed_ = true;
    --pending_;
  }

 private:
  template <class T>
  struct MemberOwner;
  template <class O, class M>
  struct MemberOwner<M O::*> {
    using type = O;
  };

  void finish() noexcept {
    if (detach_) detach_->detach_from_engine();
    CloseCallback cb = cb_;
    cb_ = nullptr;
    if (cb) cb(user_);  // may delete the owner and this
  }

  CloseCallback cb_ = nullptr;
  void* user_ = nullptr;
  EngineObject* detach_ = nullptr;
  uint32_t pending_ = 0;
  bool begun_ = false;
  bool armed_ = false;
};

}  // namespace net
}  // namespace sluice

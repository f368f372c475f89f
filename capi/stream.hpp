// stream.hpp: CStream, the object behind a sluice_stream handle.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A CStream opens a Stream through a Session (it is the OpenHandler), then
// receives its events (it is the TransportHandler) and forwards both to the
// host's versioned callbacks. It is an EngineObject, so engine stop closes
// it, and the host hears on_close as after sluice_stream_close.
//
// States: opening -> open -> (failed) -> closing -> freed. on_open with an
// error leaves it failed; closing is reachable from every state and ends,
// when the transport has closed (at the earliest one loop turn after
// sluice_stream_close), with the remaining write completions, on_close and
// the delete.
//
// Writes borrow the host's bytes: each becomes a foreign Slice (Slice::wrap)
// whose release callback records the write's completion; the buffer is the
// host's again once the last reference is gone (handed to the OS, or dropped
// at close). Completions and a synchronous open result are delivered from a
// zero-delay timer (hop_), never from inside the call that caused them.
//
// Threads: the Engine's loop thread.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <string>

#include "capi/handle.hpp"
#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/session.hpp"
#include "sluice/stream.hpp"

namespace sluice::capi {

class CEngine;
class CInstance;
class CSession;
struct OutboundCounters;

class CStream final : public sluice_stream,
                      public EngineObject,
                      private TransportHandler,
                      private OpenHandler {
 public:
  using Opaque = sluice_stream;

  // start creates the stream and asks |s| to open it; nothing is called back
  // before it returns.
  // |deadline_ms| (0: none) bounds the open (timed_out after it).
  static CStream* start(CSession& s, std::string_view host, uint16_t port,
                        const sluice_stream_callbacks& cbs, void* user, uint32_t deadline_ms);

  int write(const uint8_t* data, size_t len, void* ctx) noexcept;
  int shutdown() noexcept;
  int set_reading(bool on) noexcept;
  void close() noexcept;
  const char* failure_reason() const noexcept { return reason_.c_str(); }
  // stats fills the latest sluice_stream_stats.
  void stats(sluice_stream_stats* out) const noexcept;

  // abort_open fails a stream still opening with |e| (its instance is
  // closing), delivered from the hop timer.
  void abort_open(Errc e, const char* reason) noexcept;
  void engine_close() noexcept override { close(); }

 private:
  enum class State { opening, open, failed, closing };

  // WriteReq is one sluice_stream_write whose bytes the library still holds;
  // linked into writes_ until its release callback (or until orphaned).
  struct WriteReq {
    CStream* stream;        // nullptr once orphaned (stream gone first)
    void* ctx;              // the host's write_ctx
    bool released = false;  // released inside the write() call itself
    bool suppress = false;  // the write() failed: no completion for it
    WriteReq* prev = nullptr;
    WriteReq* next = nullptr;
  };
  struct Completion {
    void* ctx;
    int status;
  };

  CStream(CEngine& ce, CInstance& inst, CSession& s, const sluice_stream_callbacks& cbs,
          void* user);
  ~CStream() override;

  // OpenHandler
  void on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) override;
  // TransportHandler
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;

  // call invokes an int-returning host callback (if set); a nonzero return
  // fails the stream with callback_failure. Returns whether it returned 0.
  template <typename Fn, typename... Args>
  bool call(const char* name, Fn fn, Args... args) noexcept;
  void fail(Errc e, std::string reason, bool from_transport) noexcept;
  void deliver_open(Result<std::unique_ptr<Stream>> r, const char* reason) noexcept;
  void forget_opening() noexcept;

  static void on_release(void* user, const uint8_t* data, size_t len) noexcept;
  void link(WriteReq* r) noexcept;
  void unlink(WriteReq* r) noexcept;
  void arm_hop() noexcept;
  static void on_hop(void* self) noexcept;
  static void on_deadline(void* self) noexcept;
  void drain_completions() noexcept;
  static void on_closed(void* self) noexcept;
  void finish() noexcept;

  CEngine& ce_;
  CInstance* inst_;              // while opening: its list holds us
  Session* session_;             // while opening: to cancel the open
  sluice_stream_callbacks cbs_;  // lifted to the latest version
  void* user_;                   // stream_user_data
  std::unique_ptr<Stream> t_;    // once open
  State state_ = State::opening;
  Errc error_ = Errc::ok;            // why the stream failed (writes return it)
  Errc transport_error_ = Errc::ok;  // a transport failure (write completion status)
  std::string reason_;               // failure_reason()
  bool paused_ = false;              // the host paused reading
  bool shut_down_ = false;           // sluice_stream_shutdown was called
  bool counted_ = false;             // counted in the engine's open streams
  bool in_open_call_ = false;        // inside Session::open_stream
  bool error_pending_ = false;       // on_error waits for hop_

  // An open result that arrived inside open_stream (or abort_open), for hop_.
  bool open_ready_ = false;
  Errc open_error_ = Errc::ok;
  std::string open_reason_;
  std::unique_ptr<Stream> open_stream_;

  std::deque<Completion> completions_;  // finished writes not yet reported
  WriteReq* current_write_ = nullptr;   // the write() on the stack, if any
  WriteReq* writes_ = nullptr;          // outstanding writes (list head)
  net::Timer hop_;                      // zero-delay deferral timer
  net::Timer deadline_;                 // the open's deadline (sluice_open_options.deadline_ms)
  uint32_t deadline_ms_ = 0;
  net::Closer closer_;  // waits for the transport's close; never calls back inside close()

  // Counters (sluice_stream_stats) and the outbound's (shared with it).
  std::shared_ptr<OutboundCounters> counters_;
  std::string outbound_;     // the session's tag
  uint64_t started_ns_ = 0;  // uv_hrtime() at sluice_stream_open
  uint64_t open_ns_ = 0;     // how long the open took, once it finished
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
};

}  // namespace sluice::capi

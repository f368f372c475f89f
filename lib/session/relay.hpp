// relay.hpp: Relay, which splices two Streams in both directions.
//
// Slices read from one side are written to the other as they are: no payload
// copy. Each side's write queue has watermarks; while one side is above its
// high mark the other side stops reading, so a relay buffers at most about
// `high` bytes per direction. End-of-stream from one side half-closes the
// other (after its queue drains); when both directions have ended and both
// queues are empty, or on any error, or after idle_timeout_ms without
// traffic, the relay closes both sides and frees itself.
//
// Splice: a direction whose source reads a raw TCP socket and whose
// destination writes one, with nothing buffered between (SOCKS5 / HTTP /
// mixed inbound -> direct; a VLESS Vision stream's direction once it
// switched to direct copy, looked for again as data passes), moves with
// splice(2), socket -> pipe -> socket, so no byte enters user space; the
// source's reads stop. Half-close, the byte counters, the idle timeout and
// the end-of-relay rules are the same; what a direction buffers is what its
// pipe holds (at most the high watermark). A direction holds a pipe only
// while bytes are in it, taken from and given back to a small cache per
// loop thread; pipes are bounded in number per thread, and without one, or
// when the kernel refuses splice on these sockets (EINVAL), the relay
// copies as above.
//
// Time is the Engine's clock (Engine::now_ms), and the idle timeout a
// net::Timer re-armed only when it fires, not per packet; so on a
// net::ManualClock the whole relay runs on virtual time.
//
// Threads: the Engine's loop thread. Owned by itself (and closed by the
// Engine at stop).
#pragma once

#include <memory>

#include "net/closer.hpp"
#include "net/timer.hpp"
#include "sluice/engine.hpp"
#include "sluice/transport.hpp"

namespace sluice {
namespace net {
class TcpTransport;
}

struct RelayOptions {
  uint64_t idle_timeout_ms = 300000;
  size_t low_watermark = 128 * 1024;
  size_t high_watermark = 512 * 1024;
  // splice: use splice(2) when both sides are raw TCP sockets (see above).
  bool splice = true;
};

struct RelayResult {
  uint64_t bytes_a_to_b = 0;
  uint64_t bytes_b_to_a = 0;
  Errc error = Errc::ok;    // first error, or timed_out on idle
  int failed_side = -1;     // 0 = a, 1 = b, -1 = none
  uint64_t bytes_lost = 0;  // accepted for writing but never sent (closed early)
};

class RelayObserver {
 public:
  virtual ~RelayObserver() = default;
  virtual void on_relay_done(const RelayResult& r) = 0;
};

class Relay final : public EngineObject {
 public:
  // start splices |a| and |b| (both connected) and returns the relay, which
  // owns itself from now on. |obs| (may be null) hears the result once.
  static Relay* start(Engine& e, std::unique_ptr<Transport> a, std::unique_ptr<Transport> b,
                      const RelayOptions& o, RelayObserver* obs) noexcept;

  void engine_close() noexcept override { finish(Errc::canceled, -1); }
  // detach_observer: the observer is going away; no callback.
  void detach_observer() noexcept { observer_ = nullptr; }
  const RelayResult& result() const noexcept { return result_; }
  // splicing: bytes move with splice(2) (see the file comment).
  bool splicing() const noexcept {
    return splice_ != nullptr && (splice_active(0) || splice_active(1));
  }
  // splice_active: direction |d| (side d -> side 1-d) moves with splice(2).
  bool splice_active(int d) const noexcept;
  // refuse_splice_for_test: relays started from now on (any thread) behave
  // as if the kernel refused splice(2) (the fallback path).
  static void refuse_splice_for_test(bool on) noexcept;
  // live_pipes_for_test: pipe pairs in use or cached on this thread.
  static size_t live_pipes_for_test() noexcept;
  // splice_eagain_for_test: splice(2) calls of this thread's relays that
  // moved nothing for want of data or room (EAGAIN), since the thread began.
  static uint64_t splice_eagain_for_test() noexcept;

 private:
  struct Side final : TransportHandler {
    Relay* relay = nullptr;
    int idx = 0;
    std::unique_ptr<Transport> t;
    bool eof = false;     // this side's peer ended its stream
    bool paused = false;  // reading stopped because the other side is full
    void on_data(Slice&& data) override;
    bool wants_data_chain() const noexcept override { return true; }
    void on_data_chain(Chain&& data) override;
    void on_eof() override;
    void on_error(Errc e) override;
    void on_write_high() override;
    void on_write_low() override;
    void on_drained() override;
  };

  Relay(Engine& e, const RelayOptions& o) noexcept;
  ~Relay() override;
  void finish(Errc err, int side) noexcept;
  void maybe_done() noexcept;
  static void on_idle_timer(void* self);
  struct Splice;  // relay.cpp
  bool start_splice(int d) noexcept;
  int read_fd(int side, net::TcpTransport** tcp) const noexcept;
  int write_fd(int side, bool queued_ok) const noexcept;
  bool reads_spliced(int side) const noexcept;
  size_t pipe_size() const noexcept;
  void maybe_splice() noexcept;
  void splice_pump() noexcept;
  void splice_arm() noexcept;
  void splice_fail(int side, int err, const char* what) noexcept;

  RelayOptions opts_;
  Side side_[2];
  net::Timer idle_;
  uint64_t last_activity_ = 0;
  RelayObserver* observer_ = nullptr;
  RelayResult result_;
  bool finishing_ = false;
  net::Closer closer_;                 // both transports; its callback deletes the relay
  std::unique_ptr<Splice> splice_;     // set while splicing
  bool may_splice_ = false;            // both sides may become raw TCP later (VLESS Vision)
  bool draining_[2] = {false, false};  // side i's reads stopped until the other side's queue
                                       // drains, then direction i is spliced
};

}  // namespace sluice

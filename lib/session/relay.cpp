// relay.cpp: splicing two Streams with backpressure and half-close.
#include "session/relay.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/check.hpp"
#include "net/engine_internal.hpp"
#include "net/tcp_transport.hpp"
#include "net/uv_error.hpp"
#include "session/vless_vision_stream.hpp"
#include "sluice/log.hpp"

namespace sluice {

namespace {

// A pipe pair carries one direction of a spliced relay.
struct PipeFds {
  int r = -1;
  int w = -1;
  size_t cap = 0;  // capacity in bytes (F_GETPIPE_SZ)
};

// A spliced direction holds a pipe only while bytes are in it; kIdlePipes
// empty pairs are kept for the loop thread's relays (creating one costs
// pipe2 + two fcntl, closing two closes); kMaxPipes bounds the pairs on the
// thread (two descriptors each): past it a direction goes back to copying.
constexpr size_t kIdlePipes = 32;
constexpr size_t kMaxPipes = 1024;

struct PipeCache {
  PipeFds idle[kIdlePipes];
  size_t idle_count = 0;
  size_t live = 0;  // in use or idle
  ~PipeCache() {
    for (size_t i = 0; i < idle_count; ++i) {
      ::close(idle[i].r);
      ::close(idle[i].w);
    }
  }
};
thread_local PipeCache g_pipes;
thread_local uint64_t g_splice_eagain = 0;  // splice_eagain_for_test
std::atomic<bool> g_refuse_for_test{false};

// get_pipe hands out a pipe pair of |size| bytes of capacity (at least the
// kernel's default); false when none can be had.
bool get_pipe(PipeFds* out, size_t size) noexcept {
  if (g_pipes.idle_count > 0) {
    *out = g_pipes.idle[--g_pipes.idle_count];
    return true;
  }
  if (g_pipes.live >= kMaxPipes) return false;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  out->r = fds[0];
  out->w = fds[1];
  ++g_pipes.live;
  // Best effort: unprivileged processes may grow a pipe up to
  // /proc/sys/fs/pipe-max-size (1 MiB by default).
  (void)::fcntl(out->w, F_SETPIPE_SZ, static_cast<int>(size));
  const int cap = ::fcntl(out->w, F_GETPIPE_SZ);
  out->cap = cap > 0 ? static_cast<size_t>(cap) : 65536;
  return true;
}

// put_pipe returns a pair: kept if it is empty and the cache has room.
void put_pipe(PipeFds p, bool empty) noexcept {
  if (p.r < 0) return;
  if (empty && g_pipes.idle_count < kIdlePipes) {
    g_pipes.idle[g_pipes.idle_count++] = p;
    return;
  }
  ::close(p.r);
  ::close(p.w);
  --g_pipes.live;
}

}  // namespace

// Splice is the state of a relay with one or both directions spliced: per
// side a dup() of its socket polled by the relay (the transport keeps its
// own handle; its reading stops while its direction is spliced), per
// direction a pipe and the bytes in it.
struct Relay::Splice {
  int fd[2] = {-1, -1};  // dup()s of side i's socket
  uv_poll_t poll[2];
  bool poll_init[2] = {false, false};
  int events[2] = {0, 0};
  bool active[2] = {false, false};  // direction i (side i -> side 1-i) is spliced
  PipeFds pipe[2];                  // pipe[i] carries direction i
  size_t cap[2] = {0, 0};
  size_t queued[2] = {0, 0};  // bytes in pipe[i]
  // full[i]: pipe[i] refused more bytes while holding some (its slots, one
  // per page fragment, ran out before its byte capacity). Its source is not
  // polled for reading until bytes leave the pipe: a readable socket whose
  // splice can only fail would wake the loop again at once, as often as
  // epoll returns (seen as ~45 failed splices per useful one on the Vision
  // inner-TLS row).
  bool full[2] = {false, false};
  bool shut[2] = {false, false};  // side i's write side was shut down
  net::TcpTransport* tcp[2] = {nullptr, nullptr};
  ~Splice() {
    for (int i = 0; i < 2; ++i) {
      put_pipe(pipe[i], queued[i] == 0);
      if (fd[i] >= 0) ::close(fd[i]);
    }
  }
};

void Relay::refuse_splice_for_test(bool on) noexcept { g_refuse_for_test = on; }
size_t Relay::live_pipes_for_test() noexcept { return g_pipes.live; }
uint64_t Relay::splice_eagain_for_test() noexcept { return g_splice_eagain; }

Relay::Relay(Engine& e, const RelayOptions& o) noexcept : EngineObject(e), opts_(o), idle_(e) {}

Relay::~Relay() = default;

Relay* Relay::start(Engine& e, std::unique_ptr<Transport> a, std::unique_ptr<Transport> b,
                    const RelayOptions& o, RelayObserver* obs) noexcept {
  auto* r = new (std::nothrow) Relay(e, o);
  if (!r) {
    close_and_delete(a.release());
    close_and_delete(b.release());
    return nullptr;
  }
  r->observer_ = obs;
  for (int i = 0; i < 2; ++i) {
    r->side_[i].relay = r;
    r->side_[i].idx = i;
  }
  r->side_[0].t = std::move(a);
  r->side_[1].t = std::move(b);
  r->last_activity_ = e.now_ms();
  if (o.idle_timeout_ms) r->idle_.start(o.idle_timeout_ms, on_idle_timer, r);
  net::count_stream_open(e);
  for (auto& s : r->side_) {
    s.t->set_write_watermarks(o.low_watermark, o.high_watermark);
    s.t->set_handler(&s);
  }
  if (o.splice) {
    // Raw TCP on both sides (or a VLESS Vision stream, which may turn raw
    // later): splice what can be spliced now, and look again as data passes.
    bool may[2];
    for (int i = 0; i < 2; ++i) {
      Transport* t = r->side_[i].t.get();
      may[i] = dynamic_cast<net::TcpTransport*>(t) != nullptr ||
               dynamic_cast<VisionStream*>(t) != nullptr;
    }
    r->may_splice_ = may[0] && may[1];
    r->maybe_splice();
  }
  for (auto& s : r->side_) {
    if (r->finishing_) break;
    if (r->reads_spliced(s.idx)) continue;
    s.t->read_start();
  }
  return r;
}

// start_splice switches to splice(2) when both sides are raw TCP sockets
// with nothing buffered; false (nothing changed) otherwise.
// read_fd / write_fd: side |side|'s socket when its receive (send) path is
// raw TCP with nothing held above the socket, else -1. |queued_ok|: bytes
// queued for the socket do not count (the caller waits for them).
int Relay::read_fd(int side, net::TcpTransport** tcp) const noexcept {
  Transport* t = side_[side].t.get();
  if (auto* raw = dynamic_cast<net::TcpTransport*>(t)) {
    *tcp = raw;
    return raw->splice_read_fd();
  }
  if (auto* vision = dynamic_cast<VisionStream*>(t)) {
    *tcp = static_cast<net::TcpTransport*>(vision->inner());
    return vision->splice_read_fd();
  }
  return -1;
}

int Relay::write_fd(int side, bool queued_ok) const noexcept {
  Transport* t = side_[side].t.get();
  if (auto* raw = dynamic_cast<net::TcpTransport*>(t)) return raw->splice_write_fd(queued_ok);
  if (auto* vision = dynamic_cast<VisionStream*>(t)) return vision->splice_write_fd(queued_ok);
  return -1;
}

bool Relay::splice_active(int d) const noexcept { return splice_ && splice_->active[d]; }

bool Relay::reads_spliced(int side) const noexcept {
  return (splice_ && splice_->active[side]) || draining_[side];
}

// maybe_splice splices each direction whose source reads raw TCP and whose
// destination writes raw TCP. While bytes are still queued for the
// destination, it stops reading the source and switches once they drained
// (on_drained calls it again).
void Relay::maybe_splice() noexcept {
  for (int d = 0; d < 2 && may_splice_ && !finishing_; ++d) {
    if ((splice_ && splice_->active[d]) || side_[d].eof) continue;
    net::TcpTransport* tcp;
    if (read_fd(d, &tcp) < 0 || write_fd(1 - d, true) < 0) continue;
    if (side_[1 - d].t->write_buffered() > 0) {
      if (!draining_[d]) {
        draining_[d] = true;
        side_[d].t->read_stop();
      }
      continue;
    }
    const bool was_draining = draining_[d];
    draining_[d] = false;
    if (start_splice(d)) continue;
    if (finishing_) return;
    // Refused, or no pipe: this relay copies from now on.
    may_splice_ = false;
    if (was_draining && !side_[d].paused && !side_[d].eof) side_[d].t->read_start();
  }
  if (splice_ && splice_->active[0] && splice_->active[1]) may_splice_ = false;
}

// start_splice splices direction |d| (side d -> side 1-d); false, nothing
// changed and no byte moved, if it cannot.
bool Relay::start_splice(int d) noexcept {
  if (!splice_) {
    auto sp = std::unique_ptr<Splice>(new (std::nothrow) Splice);
    if (!sp) return false;
    for (int i = 0; i < 2; ++i) {
      net::TcpTransport* tcp = nullptr;
      const int rfd = read_fd(i, &tcp);
      const int fd = i == d ? rfd : write_fd(i, true);
      if (fd < 0 || tcp == nullptr) return false;
      sp->tcp[i] = tcp;
      sp->fd[i] = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (sp->fd[i] < 0) return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (uv_poll_init_socket(engine().loop(), &sp->poll[i], sp->fd[i]) != 0) {
        // A handle already initialised closes through the loop at finish().
        if (i > 0) splice_ = std::move(sp);
        return false;
      }
      sp->poll[i].data = this;
      sp->poll_init[i] = true;
    }
    splice_ = std::move(sp);
  }
  Splice& sp = *splice_;
  if (!get_pipe(&sp.pipe[d], pipe_size())) return false;
  // What a direction buffers: at most its pipe, and at most the high mark.
  sp.cap[d] = std::min(sp.pipe[d].cap, opts_.high_watermark);
  // Probe with a real splice (a zero-length one returns 0 before any
  // check): the kernel refuses a socket that cannot splice with EINVAL
  // before it moves a byte. What the probe moved waits in the pipe.
  const ssize_t n = g_refuse_for_test.load(std::memory_order_relaxed)
                        ? (errno = EINVAL, -1)
                        : ::splice(sp.fd[d], nullptr, sp.pipe[d].w, nullptr, sp.cap[d],
                                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    const int err = errno;
    put_pipe(sp.pipe[d], true);
    sp.pipe[d] = PipeFds{};
    if (err == EINVAL || err == ENOSYS) {
      SLUICE_LOG_DEBUG("relay: splice refused (%s); copying", std::strerror(err));
      return false;
    }
    splice_fail(d, err, "read");
    return false;
  }
  side_[d].t->read_stop();
  sp.active[d] = true;
  if (n > 0) {
    sp.queued[d] = static_cast<size_t>(n);
    sp.tcp[d]->count_spliced(static_cast<uint64_t>(n), 0);
  } else if (n == 0) {
    side_[d].eof = true;
  }
  if (sp.queued[d] == 0) {  // an idle direction holds no pipe
    put_pipe(sp.pipe[d], true);
    sp.pipe[d] = PipeFds{};
  }
  splice_pump();
  return true;
}

size_t Relay::pipe_size() const noexcept {
  return std::min<size_t>(opts_.high_watermark, 1u << 20);
}

void Relay::splice_fail(int side, int err, const char* what) noexcept {
  const int st = -err;
  std::string why = std::string(what) + ": " + uv_strerror(st);
  splice_->tcp[side]->set_failure(why.c_str());
  finish(net::errc_from_uv(st), side);
}

// splice_pump moves what it can in both directions: socket -> pipe while
// the pipe has room, pipe -> socket while the socket takes it; a socket's
// end-of-stream shuts the other side's write side once its pipe is empty.
void Relay::splice_pump() noexcept {
  Splice& sp = *splice_;
  // A splice that moved less than asked met an empty socket, a full pipe or
  // a full socket: that end is not tried again in this pump (it would fail
  // with EAGAIN); the poll says when it can move again.
  bool in_done[2] = {false, false};
  bool out_done[2] = {false, false};
  for (int round = 0; round < 64 && !finishing_; ++round) {
    bool moved = false;
    for (int d = 0; d < 2 && !finishing_; ++d) {
      if (!sp.active[d]) continue;
      Side& src = side_[d];
      const int dst = 1 - d;
      if (!src.eof && sp.queued[d] < sp.cap[d] && sp.pipe[d].r < 0 &&
          !get_pipe(&sp.pipe[d], pipe_size())) {
        // No pipe to be had on this thread: this direction copies again
        // (its pipe is empty, so nothing is in flight).
        sp.active[d] = false;
        may_splice_ = false;
        if (!src.paused) src.t->read_start();
        if (finishing_) return;
        continue;
      }
      if (!src.eof && !in_done[d] && !sp.full[d] && sp.queued[d] < sp.cap[d]) {
        const size_t want = sp.cap[d] - sp.queued[d];
        const ssize_t n = ::splice(sp.fd[d], nullptr, sp.pipe[d].w, nullptr, want,
                                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
          if (static_cast<size_t>(n) < want) in_done[d] = true;
          sp.queued[d] += static_cast<size_t>(n);
          sp.tcp[d]->count_spliced(static_cast<uint64_t>(n), 0);
          moved = true;
        } else if (n == 0) {
          // splice(2) on a TCP socket reports end-of-stream for a reset
          // too (the kernel checks "done" before the socket error), so ask
          // for the pending error: a reset is passed on as a reset.
          int soerr = 0;
          socklen_t len = sizeof soerr;
          if (::getsockopt(sp.fd[d], SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
            splice_fail(d, soerr, "read");
            return;
          }
          src.eof = true;
          moved = true;
        } else if (errno == EAGAIN) {
          ++g_splice_eagain;
          // With bytes in the pipe, EAGAIN may be the pipe's (no slot
          // left) rather than the socket's: wait for the pipe to drain.
          in_done[d] = true;
          if (sp.queued[d] > 0) sp.full[d] = true;
        } else if (errno != EINTR) {
          splice_fail(d, errno, "read");
          return;
        }
      }
      if (sp.queued[d] > 0 && !out_done[d]) {
        const size_t want = sp.queued[d];
        const ssize_t n = ::splice(sp.pipe[d].r, nullptr, sp.fd[dst], nullptr, want,
                                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n > 0) {
          if (static_cast<size_t>(n) < want) out_done[d] = true;
          sp.full[d] = false;
          sp.queued[d] -= static_cast<size_t>(n);
          sp.tcp[dst]->count_spliced(0, static_cast<uint64_t>(n));
          last_activity_ = engine().now_ms();
          if (d == 0) {
            result_.bytes_a_to_b += static_cast<uint64_t>(n);
            net::count_bytes(engine(), static_cast<uint64_t>(n), 0);
          } else {
            result_.bytes_b_to_a += static_cast<uint64_t>(n);
            net::count_bytes(engine(), 0, static_cast<uint64_t>(n));
          }
          moved = true;
        } else if (n < 0 && errno == EAGAIN) {
          ++g_splice_eagain;
          out_done[d] = true;
        } else if (n < 0 && errno != EINTR) {
          splice_fail(dst, errno, "write");
          return;
        }
      }
      if (sp.queued[d] == 0 && sp.pipe[d].r >= 0) {  // back to the cache while idle
        put_pipe(sp.pipe[d], true);
        sp.pipe[d] = PipeFds{};
      }
      if (src.eof && sp.queued[d] == 0 && !sp.shut[dst]) {
        sp.shut[dst] = true;
        Status st = side_[dst].t->shutdown();
        if (!st) {
          finish(st.error(), dst);
          return;
        }
      }
    }
    if (!moved) break;
  }
  if (finishing_) return;
  // A spliced direction's end-of-stream: the copying path may be done too.
  maybe_done();
  if (!finishing_) splice_arm();
}

// splice_arm polls each socket for what its directions wait on: readable
// while its pipe has room, writable while the other side's pipe has bytes.
void Relay::splice_arm() noexcept {
  Splice& sp = *splice_;
  for (int i = 0; i < 2; ++i) {
    int ev = 0;
    if (sp.active[i] && !side_[i].eof && !sp.full[i] && sp.queued[i] < sp.cap[i]) ev |= UV_READABLE;
    if (sp.active[1 - i] && sp.queued[1 - i] > 0) ev |= UV_WRITABLE;
    if (ev == sp.events[i]) continue;
    sp.events[i] = ev;
    if (ev == 0) {
      uv_poll_stop(&sp.poll[i]);
      continue;
    }
    const int rc = uv_poll_start(&sp.poll[i], ev, [](uv_poll_t* p, int status, int) {
      auto* r = static_cast<Relay*>(p->data);
      if (r->finishing_ || !r->splice_) return;
      if (status < 0) {
        // libuv reports a socket error (POLLERR) as UV_EBADF: the socket's
        // own error says what happened (a reset is passed on as a reset).
        const int side = p == &r->splice_->poll[0] ? 0 : 1;
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (::getsockopt(r->splice_->fd[side], SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
            soerr == 0)
          soerr = -status;
        r->splice_fail(side, soerr, "read");
        return;
      }
      r->splice_pump();
    });
    if (rc != 0) {
      splice_fail(i, -rc, "poll");
      return;
    }
  }
}

void Relay::Side::on_data(Slice&& data) {
  Relay* r = relay;
  Side& other = r->side_[1 - idx];
  const size_t n = data.size();
  r->last_activity_ = r->engine().now_ms();
  if (idx == 0) {
    r->result_.bytes_a_to_b += n;
    net::count_bytes(r->engine(), n, 0);
  } else {
    r->result_.bytes_b_to_a += n;
    net::count_bytes(r->engine(), 0, n);
  }
  Status st = other.t->write(std::move(data));
  if (!st) {
    r->finish(st.error(), 1 - idx);
    return;
  }
  r->maybe_splice();
}

// Several Slices of one read (TLS records) go out in one write: one socket
// write per read rather than one per record.
void Relay::Side::on_data_chain(Chain&& data) {
  Relay* r = relay;
  Side& other = r->side_[1 - idx];
  const size_t n = data.size();
  r->last_activity_ = r->engine().now_ms();
  if (idx == 0) {
    r->result_.bytes_a_to_b += n;
    net::count_bytes(r->engine(), n, 0);
  } else {
    r->result_.bytes_b_to_a += n;
    net::count_bytes(r->engine(), 0, n);
  }
  Status st = other.t->write(std::move(data));
  if (!st) {
    r->finish(st.error(), 1 - idx);
    return;
  }
  r->maybe_splice();
}

void Relay::Side::on_eof() {
  eof = true;
  Relay* r = relay;
  Status st = r->side_[1 - idx].t->shutdown();
  if (!st) {
    r->finish(st.error(), 1 - idx);
    return;
  }
  r->maybe_done();
}

void Relay::Side::on_error(Errc e) { relay->finish(e, idx); }

// This side's write queue is full: stop reading from the other side.
void Relay::Side::on_write_high() {
  Side& other = relay->side_[1 - idx];
  other.paused = true;
  other.t->read_stop();
}

void Relay::Side::on_write_low() {
  Side& other = relay->side_[1 - idx];
  if (other.paused) {
    other.paused = false;
    if (!other.eof && !relay->reads_spliced(other.idx)) other.t->read_start();
  }
}

void Relay::Side::on_drained() {
  relay->maybe_done();
  relay->maybe_splice();
}

void Relay::maybe_done() noexcept {
  if (finishing_) return;
  if (splice_ && (splice_->queued[0] > 0 || splice_->queued[1] > 0)) return;
  if (side_[0].eof && side_[1].eof && side_[0].t->write_buffered() == 0 &&
      side_[1].t->write_buffered() == 0)
    finish(Errc::ok, -1);
}

void Relay::on_idle_timer(void* self) {
  auto* r = static_cast<Relay*>(self);
  const uint64_t now = r->engine().now_ms();
  const uint64_t idle = now - r->last_activity_;
  if (idle >= r->opts_.idle_timeout_ms) {
    r->finish(Errc::timed_out, -1);
    return;
  }
  // Re-arm for the remainder rather than restarting the timer per packet.
  r->idle_.start(r->opts_.idle_timeout_ms - idle, on_idle_timer, r);
}

void Relay::finish(Errc err, int side) noexcept {
  if (finishing_) return;
  finishing_ = true;
  idle_.stop();
  result_.error = err;
  result_.failed_side = side;
  if (err != Errc::ok && err != Errc::canceled) {
    const char* reason = side >= 0 ? side_[side].t->failure_reason() : "";
    SLUICE_LOG_DEBUG("relay closed: %s%s%s", errc_message(err), *reason ? ": " : "", reason);
  }
  for (auto& s : side_) result_.bytes_lost += s.t->write_buffered();
  if (splice_) result_.bytes_lost += splice_->queued[0] + splice_->queued[1];
  // A reset on one side is passed on as a reset, not as a clean end.
  if (err == Errc::connection_reset && side >= 0) side_[1 - side].t->reset_on_close();
  net::count_stream_close(engine());
  RelayObserver* obs = observer_;
  observer_ = nullptr;
  if (obs) obs->on_relay_done(result_);
  closer_.begin([](void* u) { delete static_cast<Relay*>(u); }, this);
  if (splice_) {
    for (int i = 0; i < 2; ++i) {
      if (!splice_->poll_init[i]) continue;
      uv_poll_stop(&splice_->poll[i]);
      closer_.close_handle<&Relay::closer_>(&splice_->poll[i]);
    }
  }
  for (auto& s : side_) {
    s.t->set_handler(nullptr);
    s.t->close(closer_.hold_callback(), &closer_);
  }
  closer_.arm(engine());
}

}  // namespace sluice

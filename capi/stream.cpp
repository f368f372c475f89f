// stream.cpp: CStream and the sluice_stream_* shims.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "capi/stream.hpp"

#include <algorithm>
#include <string>

#include "capi/engine.hpp"
#include "capi/instance.hpp"
#include "capi/versioned.hpp"
#include "net/engine_internal.hpp"
#include "sluice/log.hpp"

namespace sluice::capi {

CStream::CStream(CEngine& ce, CInstance& inst, CSession& s, const sluice_stream_callbacks& cbs,
                 void* user)
    : EngineObject(ce.engine()),
      ce_(ce),
      inst_(&inst),
      session_(&s.session()),
      cbs_(cbs),
      user_(user),
      hop_(ce.engine()),
      deadline_(ce.engine()),
      counters_(s.counters()),
      outbound_(s.session().tag()),
      started_ns_(uv_hrtime()) {}

CStream::~CStream() = default;

CStream* CStream::start(CSession& s, std::string_view host, uint16_t port,
                        const sluice_stream_callbacks& cbs, void* user, uint32_t deadline_ms) {
  CInstance& inst = s.owner();
  auto* st = new CStream(inst.cengine(), inst, s, cbs, user);
  try {
    inst.add_opening(st);
  } catch (...) {
    // The host never gets this handle: free it one loop turn later, silently.
    st->inst_ = nullptr;
    st->session_ = nullptr;
    st->cbs_.on_close = nullptr;
    st->close();
    throw;
  }
  st->in_open_call_ = true;
  s.session().open_stream(host, port, st);
  st->in_open_call_ = false;
  if (st->open_ready_) {
    st->arm_hop();
  } else if (deadline_ms > 0) {
    st->deadline_ms_ = deadline_ms;
    st->deadline_.start(deadline_ms, &CStream::on_deadline, st);
  }
  return st;
}

template <typename Fn, typename... Args>
bool CStream::call(const char* name, Fn fn, Args... args) noexcept {
  if (!fn) return true;
  const int rc = fn(this, args..., user_);
  if (rc == 0) return true;
  try {
    fail(Errc::callback_failure, std::string(name) + " callback returned " + std::to_string(rc),
         false);
  } catch (...) {
    fail(Errc::callback_failure, std::string(), false);
  }
  return false;
}

void CStream::fail(Errc e, std::string reason, bool from_transport) noexcept {
  if (state_ == State::closing || state_ == State::failed) return;
  state_ = State::failed;
  error_ = e;
  if (from_transport) transport_error_ = e;
  reason_ = std::move(reason);
  if (t_) {
    t_->read_stop();
    t_->set_handler(nullptr);
  }
}

void CStream::forget_opening() noexcept {
  session_ = nullptr;
  if (inst_) {
    inst_->remove_opening(this);
    inst_ = nullptr;
  }
}

// --- opening ---------------------------------------------------------------

void CStream::on_open(Result<std::unique_ptr<Stream>> stream, const char* reason) {
  if (in_open_call_) {
    // Completed inside open_stream: keep it for hop_ (on_open is never
    // called from inside sluice_stream_open).
    open_ready_ = true;
    if (stream)
      open_stream_ = std::move(*stream);
    else
      open_error_ = stream.error();
    try {
      open_reason_ = reason ? reason : "";
    } catch (...) {
    }
    forget_opening();
    return;
  }
  deliver_open(std::move(stream), reason);
}

void CStream::on_deadline(void* p) noexcept {
  auto* self = static_cast<CStream*>(p);
  // A result already waiting for the hop wins over the deadline.
  if (self->state_ != State::opening || self->open_ready_) return;
  if (self->session_) self->session_->cancel_open(self);
  std::string why;
  try {
    why = "open deadline of " + std::to_string(self->deadline_ms_) + " ms passed";
  } catch (...) {
  }
  self->deliver_open(Errc::timed_out, why.c_str());
}

void CStream::stats(sluice_stream_stats* out) const noexcept {
  std::memset(out, 0, sizeof *out);
  out->version = SLUICE_STREAM_STATS_VERSION;
  out->bytes_up = bytes_up_;
  out->bytes_down = bytes_down_;
  out->open_ms = open_ns_ / 1000000;
  out->age_ms = (uv_hrtime() - started_ns_) / 1000000;
  out->outbound = outbound_.c_str();
}

void CStream::abort_open(Errc e, const char* reason) noexcept {
  if (state_ != State::opening) return;
  if (session_) session_->cancel_open(this);
  forget_opening();
  if (open_stream_) close_and_delete(open_stream_.release());
  open_ready_ = true;
  open_error_ = e;
  try {
    open_reason_ = reason;
  } catch (...) {
  }
  arm_hop();
}

void CStream::deliver_open(Result<std::unique_ptr<Stream>> r, const char* reason) noexcept {
  forget_opening();
  if (state_ != State::opening) {
    if (r) close_and_delete(r->release());
    return;
  }
  deadline_.stop();
  open_ns_ = std::max<uint64_t>(uv_hrtime() - started_ns_, 1);
  if (!r) {
    if (r.error() != Errc::canceled) counters_->streams_failed++;
    state_ = State::failed;
    error_ = r.error();
    try {
      reason_ = reason ? reason : "";
    } catch (...) {
    }
    (void)call("on_open", cbs_.on_open, to_c(error_), reason_.c_str());
    return;
  }
  t_ = std::move(*r);
  t_->set_handler(this);
  state_ = State::open;
  net::count_stream_open(engine());
  counted_ = true;
  counters_->streams_opened++;
  counters_->streams_active++;
  if (!call("on_open", cbs_.on_open, 0, "")) return;
  if (state_ == State::open && !paused_) t_->read_start();
}

// --- events ----------------------------------------------------------------

void CStream::on_data(Slice&& data) {
  if (state_ != State::open) return;
  net::count_bytes(engine(), 0, data.size());
  bytes_down_ += data.size();
  counters_->bytes_down += data.size();
  (void)call("on_data", cbs_.on_data, data.data(), data.size());
}

void CStream::on_eof() {
  if (state_ != State::open) return;
  (void)call("on_eof", cbs_.on_eof);
}

void CStream::on_error(Errc e) {
  if (state_ != State::open) return;
  std::string why;
  try {
    why = t_->failure_reason();
  } catch (...) {
  }
  fail(e, std::move(why), true);
  // A write can fail the transport from inside sluice_stream_write: tell the
  // host from the hop, never from inside one of its calls.
  error_pending_ = true;
  arm_hop();
}

// --- writing ---------------------------------------------------------------

void CStream::link(WriteReq* r) noexcept {
  r->next = writes_;
  if (writes_) writes_->prev = r;
  writes_ = r;
}

void CStream::unlink(WriteReq* r) noexcept {
  if (r->prev)
    r->prev->next = r->next;
  else if (writes_ == r)
    writes_ = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = nullptr;
}

void CStream::on_release(void* user, const uint8_t*, size_t) noexcept {
  auto* req = static_cast<WriteReq*>(user);
  CStream* self = req->stream;
  if (!self) {  // orphaned: the stream finished first (see finish())
    delete req;
    return;
  }
  if (self->current_write_ == req) {
    req->released = true;  // write() decides once the transport returns
    return;
  }
  self->unlink(req);
  if (!req->suppress) {
    const int status =
        self->state_ == State::closing ? SLUICE_ERR_CLOSED : to_c(self->transport_error_);
    try {
      self->completions_.push_back({req->ctx, status});
    } catch (...) {
      SLUICE_LOG_ERROR("sluice: out of memory recording a write completion");
    }
    self->arm_hop();
  }
  delete req;
}

int CStream::write(const uint8_t* data, size_t len, void* ctx) noexcept {
  if (state_ == State::opening) return SLUICE_ERR_INVALID_STATE;
  if (state_ == State::closing || shut_down_) return SLUICE_ERR_CLOSED;
  if (state_ == State::failed) return to_c(error_);
  if ((data == nullptr && len != 0) || len > UINT32_MAX) return SLUICE_ERR_INVALID_ARGUMENT;
  auto* req = new (std::nothrow) WriteReq{this, ctx};
  if (!req) return SLUICE_ERR_NO_MEMORY;
  auto slice = Slice::wrap(data, len, &CStream::on_release, req);
  if (!slice) {
    delete req;  // wrap failed: the release callback will not run
    return to_c(slice.error());
  }
  link(req);
  current_write_ = req;
  const Status st = t_->write(std::move(*slice));
  current_write_ = nullptr;
  if (!st) {
    // A call that fails never calls back: drop the completion.
    if (req->released) {
      unlink(req);
      delete req;
    } else {
      req->suppress = true;
    }
    return to_c(st);
  }
  net::count_bytes(engine(), len, 0);
  bytes_up_ += len;
  counters_->bytes_up += len;
  if (req->released) {
    // Written at once (uv_try_write): report it from the hop, not from here.
    unlink(req);
    void* c = req->ctx;
    delete req;
    try {
      completions_.push_back({c, 0});
    } catch (...) {
      SLUICE_LOG_ERROR("sluice: out of memory recording a write completion");
    }
    arm_hop();
  }
  return SLUICE_OK;
}

int CStream::shutdown() noexcept {
  if (state_ == State::opening) return SLUICE_ERR_INVALID_STATE;
  if (state_ == State::closing) return SLUICE_ERR_CLOSED;
  if (state_ == State::failed) return to_c(error_);
  if (shut_down_) return SLUICE_OK;
  shut_down_ = true;
  return to_c(t_->shutdown());
}

int CStream::set_reading(bool on) noexcept {
  paused_ = !on;
  if (state_ != State::open) return SLUICE_OK;
  if (on)
    t_->read_start();
  else
    t_->read_stop();
  return SLUICE_OK;
}

// --- the hop timer ---------------------------------------------------------

void CStream::arm_hop() noexcept {
  if (hop_.armed() || state_ == State::closing) return;
  hop_.start(0, &CStream::on_hop, this);  // a timer never fires inside the call arming it
}

void CStream::on_hop(void* p) noexcept {
  auto* self = static_cast<CStream*>(p);
  if (self->open_ready_) {
    self->open_ready_ = false;
    if (self->open_stream_) {
      self->deliver_open(std::move(self->open_stream_), "");
    } else {
      std::string why = std::move(self->open_reason_);
      self->deliver_open(self->open_error_, why.c_str());
    }
  }
  if (self->error_pending_) {
    self->error_pending_ = false;
    if (self->state_ == State::failed && self->cbs_.on_error)
      self->cbs_.on_error(self, to_c(self->transport_error_), self->user_);
  }
  self->drain_completions();
}

void CStream::drain_completions() noexcept {
  // Only what is queued now: a host that writes again from each completion
  // and completes at once must not starve the loop.
  std::deque<Completion> batch;
  batch.swap(completions_);
  for (const Completion& c : batch) {
    if (cbs_.on_write_complete) {
      if (state_ == State::closing)
        cbs_.on_write_complete(this, c.ctx, c.status, user_);
      else
        (void)call("on_write_complete", cbs_.on_write_complete, c.ctx, c.status);
    }
  }
}

// --- closing ---------------------------------------------------------------

void CStream::close() noexcept {
  if (state_ == State::closing) return;
  const bool opening = state_ == State::opening;
  state_ = State::closing;
  if (opening && session_) session_->cancel_open(this);
  forget_opening();
  open_ready_ = false;
  if (open_stream_) close_and_delete(open_stream_.release());
  // Nothing is delivered after close: completions still queued are reported
  // (as closed) by finish().
  hop_.stop();
  deadline_.stop();
  closer_.begin(&CStream::on_closed, this);
  if (t_) {
    t_->set_handler(nullptr);
    t_->close(closer_.hold_callback(), &closer_);  // queued writes release now
  }
  // With the transport closed already (or none), on_close comes one loop
  // turn later: never from inside sluice_stream_close.
  closer_.arm(engine());
}

void CStream::on_closed(void* self) noexcept { static_cast<CStream*>(self)->finish(); }

void CStream::finish() noexcept {
  t_.reset();  // releases whatever the transport still held
  // Nothing else should hold the host's buffers now; if something does, it
  // must not call into a freed stream, and the host must not reuse them.
  for (WriteReq* r = writes_; r;) {
    WriteReq* next = r->next;
    SLUICE_LOG_ERROR("sluice: a stream write is still referenced at close");
    SLUICE_DCHECK(!"write buffer outlived its stream");
    r->stream = nullptr;
    r = next;
  }
  writes_ = nullptr;
  drain_completions();
  if (counted_) {
    net::count_stream_close(engine());
    counters_->streams_active--;
  }
  if (cbs_.on_close) cbs_.on_close(this, user_);
  delete this;  // ~EngineObject detaches: engine stop may now complete
}

}  // namespace sluice::capi

using sluice::capi::CSession;
using sluice::capi::CStream;
using sluice::capi::from_opaque;
using sluice::capi::guard;
using sluice::capi::on_loop;

extern "C" {

SLUICE_EXTERN int sluice_stream_callbacks_init(sluice_stream_callbacks* callbacks,
                                               uint32_t version) {
  return sluice::capi::struct_init(callbacks, version);
}

SLUICE_EXTERN int sluice_open_options_init(sluice_open_options* options, uint32_t version) {
  return sluice::capi::struct_init(options, version);
}

SLUICE_EXTERN int sluice_stream_stats_init(sluice_stream_stats* stats, uint32_t version) {
  return sluice::capi::struct_init(stats, version);
}

SLUICE_EXTERN int sluice_stream_open(sluice_session* session, const char* host, uint16_t port,
                                     const sluice_stream_callbacks* callbacks,
                                     void* stream_user_data, sluice_stream** out_stream) {
  return sluice_stream_open2(session, host, port, callbacks, nullptr, stream_user_data, out_stream);
}

SLUICE_EXTERN int sluice_stream_open2(sluice_session* session, const char* host, uint16_t port,
                                      const sluice_stream_callbacks* callbacks,
                                      const sluice_open_options* options, void* stream_user_data,
                                      sluice_stream** out_stream) {
  if (!session || !host || !callbacks || !out_stream || port == 0)
    return SLUICE_ERR_INVALID_ARGUMENT;
  sluice_open_options opts;
  if (int rc = sluice::capi::lift(options, &opts); rc != SLUICE_OK) return rc;
  const size_t host_len = std::strlen(host);
  if (host_len == 0 || host_len > 255) return SLUICE_ERR_INVALID_ARGUMENT;
  sluice_stream_callbacks cbs;
  if (int rc = sluice::capi::lift(callbacks, &cbs); rc != SLUICE_OK) return rc;
  if (!cbs.on_open || !cbs.on_data) return SLUICE_ERR_INVALID_ARGUMENT;
  CSession* cs = from_opaque<CSession>(session);
  if (!on_loop(cs->owner().engine())) return SLUICE_ERR_INVALID_STATE;
  if (!cs->owner().open() || cs->owner().cengine().stopping()) return SLUICE_ERR_INVALID_STATE;
  return guard([&]() -> int {
    *out_stream = CStream::start(*cs, std::string_view(host, host_len), port, cbs, stream_user_data,
                                 opts.deadline_ms);
    return SLUICE_OK;
  });
}

SLUICE_EXTERN int sluice_stream_write(sluice_stream* stream, const uint8_t* data, size_t data_len,
                                      void* write_ctx) {
  if (!stream) return SLUICE_ERR_INVALID_ARGUMENT;
  CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  return s->write(data, data_len, write_ctx);
}

SLUICE_EXTERN int sluice_stream_shutdown(sluice_stream* stream) {
  if (!stream) return SLUICE_ERR_INVALID_ARGUMENT;
  CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  return s->shutdown();
}

SLUICE_EXTERN int sluice_stream_pause_reading(sluice_stream* stream) {
  if (!stream) return SLUICE_ERR_INVALID_ARGUMENT;
  CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  return s->set_reading(false);
}

SLUICE_EXTERN int sluice_stream_resume_reading(sluice_stream* stream) {
  if (!stream) return SLUICE_ERR_INVALID_ARGUMENT;
  CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  return s->set_reading(true);
}

SLUICE_EXTERN int sluice_stream_close(sluice_stream* stream) {
  if (!stream) return SLUICE_ERR_INVALID_ARGUMENT;
  CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  s->close();
  return SLUICE_OK;
}

SLUICE_EXTERN const char* sluice_stream_failure_reason(const sluice_stream* stream) {
  if (!stream) return "";
  return from_opaque<CStream>(stream)->failure_reason();
}

}  // extern "C"

extern "C" {

SLUICE_EXTERN int sluice_stream_get_stats(const sluice_stream* stream,
                                          sluice_stream_stats* out_stats) {
  if (!stream || !out_stats) return SLUICE_ERR_INVALID_ARGUMENT;
  const CStream* s = from_opaque<CStream>(stream);
  if (!on_loop(s->engine())) return SLUICE_ERR_INVALID_STATE;
  sluice_stream_stats full;
  s->stats(&full);
  return sluice::capi::store(full, out_stats);
}

}  // extern "C"

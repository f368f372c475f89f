// engine.cpp: sluice_engine_* shims.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "capi/engine.hpp"

#include <uv.h>

#include <algorithm>
#include <cstring>

#include "capi/instance.hpp"
#include "capi/versioned.hpp"
#include "sluice/log.hpp"

namespace sluice::capi {

CEngine::~CEngine() {
  const bool closed = close_everything();
  // Instances the host never closed: the engine closed them (they are
  // detached), only their memory is left.
  if (closed) {
    while (instances_) delete instances_;  // ~CInstance unlinks
  } else {
    SLUICE_LOG_ERROR("sluice_engine_free: the host loop did not finish closing; leaking instances");
  }
  engine_.reset();
}

int CEngine::start() noexcept {
  if (!own_loop_ || started_ || stopping_) return SLUICE_ERR_INVALID_STATE;
  Status st = engine_->start();
  if (st) started_ = true;
  return to_c(st);
}

bool CEngine::close_everything() noexcept {
  std::lock_guard<std::recursive_mutex> lock(stop_mu_);
  // A callback run by the loop below may call stop again on this thread:
  // the close under way covers it (and Engine::close_all would otherwise
  // replace our completion callback).
  if (closing_now_) return false;
  closing_now_ = true;
  stopping_ = true;
  if (started_) (void)engine_->stop();  // joins; this thread is the loop thread after
  bool done = false;
  engine_->close_all([](void* u) { *static_cast<bool*>(u) = true; }, &done);
  if (own_loop_) {
    while (!done) uv_run(engine_->loop(), UV_RUN_ONCE);
  }
  closing_now_ = false;
  return done;
}

int CEngine::stop() noexcept {
  if (own_loop_) {
    if (started_ && engine_->running() && engine_->on_loop_thread()) {
      SLUICE_DCHECK(!"sluice_engine_stop on its own loop thread");
      return SLUICE_ERR_INVALID_STATE;
    }
    (void)close_everything();
    return SLUICE_OK;
  }
  // Host loop: start the close; the host's uv_run finishes it.
  if (!on_loop(*engine_)) return SLUICE_ERR_INVALID_STATE;
  std::lock_guard<std::recursive_mutex> lock(stop_mu_);
  if (stopping_) return SLUICE_OK;
  stopping_ = true;
  engine_->close_all(nullptr, nullptr);
  return SLUICE_OK;
}

void CEngine::set_failure(std::string reason) noexcept {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_ = std::move(reason);
}

void CEngine::clear_failure() noexcept {
  std::lock_guard<std::mutex> lock(failure_mu_);
  failure_.clear();
}

size_t CEngine::copy_failure(char* buf, size_t len) const noexcept {
  std::lock_guard<std::mutex> lock(failure_mu_);
  if (len > 0) {
    const size_t n = std::min(len - 1, failure_.size());
    std::memcpy(buf, failure_.data(), n);
    buf[n] = '\0';
  }
  return failure_.size();
}

void CEngine::link(CInstance* i) noexcept {
  i->engine_next_ = instances_;
  i->engine_prev_ = nullptr;
  if (instances_) instances_->engine_prev_ = i;
  instances_ = i;
}

void CEngine::unlink(CInstance* i) noexcept {
  if (i->engine_prev_)
    i->engine_prev_->engine_next_ = i->engine_next_;
  else if (instances_ == i)
    instances_ = i->engine_next_;
  if (i->engine_next_) i->engine_next_->engine_prev_ = i->engine_prev_;
  i->engine_prev_ = i->engine_next_ = nullptr;
}

}  // namespace sluice::capi

using sluice::capi::CEngine;
using sluice::capi::from_opaque;
using sluice::capi::guard;
using sluice::capi::to_c;

extern "C" {

SLUICE_EXTERN int sluice_engine_options_init(sluice_engine_options* options, uint32_t version) {
  return sluice::capi::struct_init(options, version);
}

SLUICE_EXTERN int sluice_engine_stats_init(sluice_engine_stats* stats, uint32_t version) {
  return sluice::capi::struct_init(stats, version);
}

SLUICE_EXTERN int sluice_engine_new(const sluice_engine_options* options,
                                    sluice_engine** out_engine) {
  return guard([&]() -> int {
    if (!out_engine) return SLUICE_ERR_INVALID_ARGUMENT;
    sluice_engine_options o;
    if (int rc = sluice::capi::lift(options, &o); rc != SLUICE_OK) return rc;
    sluice::EngineOptions eo;
    eo.loop = static_cast<uv_loop_s*>(o.uv_loop);
    eo.pool.max_bytes = o.pool_max_bytes;
    auto e = sluice::Engine::create(eo);
    if (!e) return to_c(e.error());
    auto* ce = new CEngine(std::move(*e), o.uv_loop == nullptr);
    *out_engine = ce;
    return SLUICE_OK;
  });
}

SLUICE_EXTERN int sluice_engine_start(sluice_engine* engine) {
  if (!engine) return SLUICE_ERR_INVALID_ARGUMENT;
  return from_opaque<CEngine>(engine)->start();
}

SLUICE_EXTERN int sluice_engine_stop(sluice_engine* engine) {
  if (!engine) return SLUICE_ERR_INVALID_ARGUMENT;
  return from_opaque<CEngine>(engine)->stop();
}

SLUICE_EXTERN void sluice_engine_free(sluice_engine* engine) {
  if (!engine) return;
  delete from_opaque<CEngine>(engine);
}

SLUICE_EXTERN int sluice_engine_post(sluice_engine* engine, sluice_engine_post_cb fn,
                                     void* user_data) {
  if (!engine || !fn) return SLUICE_ERR_INVALID_ARGUMENT;
  return guard([&]() -> int {
    return to_c(from_opaque<CEngine>(engine)->engine().post([fn, user_data] { fn(user_data); }));
  });
}

SLUICE_EXTERN int sluice_engine_is_loop_thread(const sluice_engine* engine) {
  return engine && from_opaque<CEngine>(engine)->engine().on_loop_thread() ? 1 : 0;
}

SLUICE_EXTERN int sluice_engine_get_stats(sluice_engine* engine, sluice_engine_stats* out_stats) {
  if (!engine || !out_stats) return SLUICE_ERR_INVALID_ARGUMENT;
  CEngine* ce = from_opaque<CEngine>(engine);
  if (!sluice::capi::on_loop(ce->engine())) return SLUICE_ERR_INVALID_STATE;
  const sluice::EngineStats s = ce->engine().stats();
  sluice_engine_stats full;
  std::memset(&full, 0, sizeof full);
  full.bytes_up = s.bytes_up;
  full.bytes_down = s.bytes_down;
  full.streams_opened = s.streams_opened;
  full.streams_active = s.streams_active;
  full.connections_accepted = s.connections_accepted;
  full.pool_hits = s.pool.hits;
  full.pool_misses = s.pool.misses;
  full.pool_bytes_outstanding = s.pool.bytes_outstanding;
  full.pool_high_water = s.pool.high_water;
  full.ech_accepted = s.ech_accepted;
  full.ech_rejected = s.ech_rejected;
  full.ech_retried = s.ech_retried;
  full.accept_errors = s.accept_errors;
  full.connections_refused = s.connections_refused;
  return sluice::capi::store(full, out_stats);
}

SLUICE_EXTERN const char* sluice_engine_failure_reason(const sluice_engine* engine) {
  if (!engine) return "";
  const CEngine* ce = from_opaque<CEngine>(engine);
  // Not on_loop(): this must answer, not abort, off the loop thread.
  if (!ce->engine().on_loop_thread()) return SLUICE_FAILURE_REASON_WRONG_THREAD;
  return ce->failure_reason();
}

SLUICE_EXTERN int sluice_engine_copy_failure_reason(const sluice_engine* engine, char* out_buf,
                                                    size_t buf_len, size_t* out_len) {
  if (!engine || (!out_buf && buf_len != 0)) return SLUICE_ERR_INVALID_ARGUMENT;
  const size_t n = from_opaque<CEngine>(engine)->copy_failure(out_buf, buf_len);
  if (out_len) *out_len = n;
  return n < buf_len || (n == 0 && buf_len == 0) ? SLUICE_OK : SLUICE_ERR_BUFFER_TOO_SMALL;
}

}  // extern "C"

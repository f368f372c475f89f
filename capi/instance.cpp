// instance.cpp: sluice_instance_* shims.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "capi/instance.hpp"

#include <algorithm>
#include <string>

#include "capi/engine.hpp"
#include "capi/stream.hpp"
#include "capi/versioned.hpp"
#include "net/closer.hpp"
#include "sluice/config.hpp"
#include "sluice/log.hpp"

namespace sluice::capi {

CInstance::CInstance(CEngine& ce, std::unique_ptr<Instance>&& inst)
    : EngineObject(ce.engine()), ce_(ce), inst_(std::move(inst)) {
  ce_.link(this);
}

CInstance::~CInstance() {
  SLUICE_DCHECK(opening_.empty());
  ce_.unlink(this);
  // The Instance was closed (by us or by engine stop) before we get here.
  inst_.reset();
}

CSession* CInstance::session_handle(Session& s) {
  for (auto& h : sessions_)
    if (&h->session() == &s) return h.get();
  sessions_.push_back(std::make_unique<CSession>(*this, s));
  return sessions_.back().get();
}

void CInstance::add_opening(CStream* s) { opening_.push_back(s); }

void CInstance::remove_opening(CStream* s) noexcept {
  auto it = std::find(opening_.begin(), opening_.end(), s);
  if (it != opening_.end()) opening_.erase(it);
}

void CInstance::begin_close() noexcept {
  state_ = State::closing;
  // Their sessions are about to close, which forgets pending opens without
  // a word: tell each stream now (each removes itself from opening_).
  while (!opening_.empty()) opening_.back()->abort_open(Errc::canceled, "instance closed");
  inst_->close(&CInstance::on_instance_closed, this);  // may call back at once
}

void CInstance::on_instance_closed(void* p) noexcept {
  auto* self = static_cast<CInstance*>(p);
  self->state_ = State::closed;
  if (!self->user_close_) {
    // Closed by engine stop: keep the memory for the host's handle.
    self->detach_from_engine();
    return;
  }
  // One loop turn before the callback, so it never runs inside
  // sluice_instance_close; we stay attached (engine stop waits) until then.
  net::defer(self->engine(), &CInstance::on_close_deferred, self);
}

void CInstance::on_close_deferred(void* p) noexcept {
  auto* self = static_cast<CInstance*>(p);
  sluice_instance_close_cb cb = self->close_cb_;
  void* user = self->close_user_;
  if (cb) cb(user);
  delete self;
}

int CInstance::user_close(sluice_instance_close_cb cb, void* user) noexcept {
  if (user_close_) return SLUICE_ERR_INVALID_STATE;
  user_close_ = true;
  close_cb_ = cb;
  close_user_ = user;
  switch (state_) {
    case State::open:
      begin_close();
      break;
    case State::closing:
      break;  // engine stop is closing it; on_instance_closed sees user_close_
    case State::closed:
      // Closed by engine stop, possibly with no loop left to run a hop.
      if (cb) cb(user);
      delete this;
      break;
  }
  return SLUICE_OK;
}

void CInstance::engine_close() noexcept {
  if (state_ == State::open) begin_close();
}

}  // namespace sluice::capi

using sluice::capi::CEngine;
using sluice::capi::CInstance;
using sluice::capi::CSession;
using sluice::capi::from_opaque;
using sluice::capi::guard;
using sluice::capi::on_loop;
using sluice::capi::to_c;

extern "C" {

SLUICE_EXTERN int sluice_instance_new(sluice_engine* engine, const char* json, size_t json_len,
                                      sluice_instance** out_instance) {
  if (!engine || !json || !out_instance) return SLUICE_ERR_INVALID_ARGUMENT;
  CEngine* ce = from_opaque<CEngine>(engine);
  if (!on_loop(ce->engine()) || ce->stopping()) return SLUICE_ERR_INVALID_STATE;
  ce->clear_failure();
  int rc = guard([&]() -> int {
    sluice::ConfigDiagnostics diag;
    auto cfg = sluice::parse_config(std::string_view(json, json_len), &diag);
    for (const auto& w : diag.warnings) SLUICE_LOG_WARN("config: %s", w.c_str());
    if (!cfg) {
      ce->set_failure(diag.error.empty() ? sluice::errc_message(cfg.error()) : diag.error);
      return to_c(cfg.error());
    }
    std::string reason;
    auto inst = sluice::Instance::create(ce->engine(), *cfg, &reason);
    if (!inst) {
      ce->set_failure(reason.empty() ? sluice::errc_message(inst.error()) : reason);
      return to_c(inst.error());
    }
    // The Instance is listening: it must be closed, never just deleted.
    // The wrapper comes after it so the Engine tells the wrapper first.
    auto* ci = new (std::nothrow) CInstance(*ce, std::move(*inst));
    if (!ci) {
      sluice::Instance* raw = inst->release();
      raw->close([](void* u) { delete static_cast<sluice::Instance*>(u); }, raw);
      return SLUICE_ERR_NO_MEMORY;
    }
    ci->set_warnings(std::move(diag.warnings));
    *out_instance = ci;
    return SLUICE_OK;
  });
  if (rc == SLUICE_ERR_NO_MEMORY && *ce->failure_reason() == '\0') ce->set_failure("out of memory");
  return rc;
}

SLUICE_EXTERN int sluice_instance_inbound_port(sluice_instance* instance, const char* tag,
                                               uint16_t* out_port) {
  if (!instance || !out_port) return SLUICE_ERR_INVALID_ARGUMENT;
  CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine()) || !ci->open()) return SLUICE_ERR_INVALID_STATE;
  sluice::Instance& inst = ci->instance();
  // Any inbound kind (proxy or protocol server) by tag; without a tag the
  // first proxy inbound.
  uint16_t port = 0;
  if (tag)
    port = inst.inbound_port(std::string_view(tag));
  else if (inst.inbound_count() > 0)
    port = inst.inbound(size_t{0})->port();
  if (port == 0) return SLUICE_ERR_INVALID_ARGUMENT;
  *out_port = port;
  return SLUICE_OK;
}

SLUICE_EXTERN int sluice_instance_get0_session(sluice_instance* instance, const char* tag,
                                               sluice_session** out_session) {
  if (!instance || !out_session) return SLUICE_ERR_INVALID_ARGUMENT;
  CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine()) || !ci->open()) return SLUICE_ERR_INVALID_STATE;
  return guard([&]() -> int {
    sluice::Session* s =
        tag ? ci->instance().session(std::string_view(tag)) : ci->instance().final_session();
    if (!s) return SLUICE_ERR_INVALID_ARGUMENT;
    *out_session = ci->session_handle(*s);
    return SLUICE_OK;
  });
}

SLUICE_EXTERN size_t sluice_instance_warning_count(const sluice_instance* instance) {
  if (!instance) return 0;
  const CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine())) return 0;
  return ci->warnings().size();
}

SLUICE_EXTERN const char* sluice_instance_warning_get(const sluice_instance* instance,
                                                      size_t index) {
  if (!instance) return nullptr;
  const CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine()) || index >= ci->warnings().size()) return nullptr;
  return ci->warnings()[index].c_str();
}

SLUICE_EXTERN int sluice_outbound_stats_init(sluice_outbound_stats* stats, uint32_t version) {
  return sluice::capi::struct_init(stats, version);
}

SLUICE_EXTERN int sluice_instance_get_outbound_stats(sluice_instance* instance, const char* tag,
                                                     sluice_outbound_stats* out_stats) {
  if (!instance || !out_stats) return SLUICE_ERR_INVALID_ARGUMENT;
  CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine()) || !ci->open()) return SLUICE_ERR_INVALID_STATE;
  return guard([&]() -> int {
    sluice::Session* s =
        tag ? ci->instance().session(std::string_view(tag)) : ci->instance().final_session();
    if (!s) return SLUICE_ERR_INVALID_ARGUMENT;
    const sluice::capi::OutboundCounters& c = *ci->session_handle(*s)->counters();
    sluice_outbound_stats full;
    std::memset(&full, 0, sizeof full);
    full.streams_opened = c.streams_opened;
    full.streams_failed = c.streams_failed;
    full.streams_active = c.streams_active;
    full.bytes_up = c.bytes_up;
    full.bytes_down = c.bytes_down;
    full.datagram_flows = c.datagram_flows;
    full.datagrams_sent = c.datagrams_sent;
    full.datagrams_received = c.datagrams_received;
    return sluice::capi::store(full, out_stats);
  });
}

SLUICE_EXTERN int sluice_instance_close(sluice_instance* instance, sluice_instance_close_cb cb,
                                        void* user_data) {
  if (!instance) return SLUICE_ERR_INVALID_ARGUMENT;
  CInstance* ci = from_opaque<CInstance>(instance);
  if (!on_loop(ci->engine())) return SLUICE_ERR_INVALID_STATE;
  return ci->user_close(cb, user_data);
}

}  // extern "C"

// datagram.cpp: CDatagram and the sluice_datagram_* shims.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "capi/datagram.hpp"

#include <cstring>
#include <string>

#include "capi/engine.hpp"
#include "capi/instance.hpp"
#include "capi/versioned.hpp"

namespace sluice::capi {

CDatagram::CDatagram(CSession& s, const sluice_datagram_callbacks& cbs, void* user)
    : EngineObject(s.owner().engine()),
      cbs_(cbs),
      user_(user),
      hop_(s.owner().engine()),
      counters_(s.counters()),
      outbound_(s.session().tag()),
      started_ns_(uv_hrtime()) {}

int CDatagram::open(CSession& s, const sluice_datagram_callbacks& cbs, void* user,
                    CDatagram** out) noexcept {
  auto* d = new (std::nothrow) CDatagram(s, cbs, user);
  if (!d) return SLUICE_ERR_NO_MEMORY;
  auto flow = s.session().open_datagram(d);
  if (!flow) {
    // Never handed out: close silently (freed one loop turn later).
    d->cbs_.on_close = nullptr;
    d->close();
    return to_c(flow.error());
  }
  d->flow_ = std::move(*flow);
  d->counters_->datagram_flows++;
  *out = d;
  return SLUICE_OK;
}

void CDatagram::fail(Errc e, std::string reason) noexcept {
  if (state_ != State::open) return;
  state_ = State::failed;
  error_ = e;
  reason_ = std::move(reason);
}

void CDatagram::on_datagram(const Endpoint& from, Slice&& payload) {
  if (state_ != State::open) return;
  received_++;
  bytes_down_ += payload.size();
  counters_->datagrams_received++;
  counters_->bytes_down += payload.size();
  const int rc =
      cbs_.on_datagram(this, from.host.c_str(), from.port, payload.data(), payload.size(), user_);
  if (rc != 0) {
    std::string why;
    try {
      why = "on_datagram callback returned " + std::to_string(rc);
    } catch (...) {
    }
    fail(Errc::callback_failure, std::move(why));
  }
}

void CDatagram::on_error(Errc e) {
  if (state_ != State::open) return;
  std::string why;
  try {
    why = std::string("datagram flow through \"") + outbound_ + "\" failed: " + errc_message(e);
  } catch (...) {
  }
  fail(e, std::move(why));
  // A flow may fail inside send(): tell the host from the hop.
  error_pending_ = true;
  hop_.start(0, &CDatagram::on_hop, this);  // never fires inside this call
}

void CDatagram::on_hop(void* p) noexcept {
  auto* self = static_cast<CDatagram*>(p);
  if (!self->error_pending_) return;
  self->error_pending_ = false;
  if (self->state_ == State::failed && self->cbs_.on_error)
    self->cbs_.on_error(self, to_c(self->error_), self->user_);
}

int CDatagram::send(std::string_view host, uint16_t port, const uint8_t* data,
                    size_t len) noexcept {
  if (state_ == State::closing) return SLUICE_ERR_CLOSED;
  if (state_ == State::failed) return to_c(error_);
  auto slice = engine().pool().copy_from(data, len);
  if (!slice) return to_c(slice.error());
  try {
    to_.host.assign(host.data(), host.size());  // reuses its capacity
  } catch (...) {
    return SLUICE_ERR_NO_MEMORY;
  }
  to_.port = port;
  const Status st = flow_->send(to_, std::move(*slice));
  if (!st) return to_c(st);
  bytes_up_ += len;
  counters_->datagrams_sent++;
  counters_->bytes_up += len;
  return SLUICE_OK;
}

void CDatagram::stats(sluice_datagram_stats* out) const noexcept {
  std::memset(out, 0, sizeof *out);
  out->version = SLUICE_DATAGRAM_STATS_VERSION;
  if (flow_) {
    const DatagramFlowStats fs = flow_->stats();
    out->sent = fs.sent;
    out->dropped = fs.dropped;
  }
  out->received = received_;
  out->bytes_up = bytes_up_;
  out->bytes_down = bytes_down_;
  out->age_ms = (uv_hrtime() - started_ns_) / 1000000;
  out->outbound = outbound_.c_str();
}

void CDatagram::close() noexcept {
  if (state_ == State::closing) return;
  state_ = State::closing;
  error_pending_ = false;
  hop_.stop();
  closer_.begin(&CDatagram::on_closed, this);
  if (flow_) flow_->close(closer_.hold_callback(), &closer_);
  closer_.arm(engine());  // with nothing left open: on_close one loop turn later
}

void CDatagram::on_closed(void* p) noexcept {
  auto* self = static_cast<CDatagram*>(p);
  self->flow_.reset();
  if (self->cbs_.on_close) self->cbs_.on_close(self, self->user_);
  delete self;  // ~EngineObject detaches: engine stop may now complete
}

}  // namespace sluice::capi

using sluice::capi::CDatagram;
using sluice::capi::CSession;
using sluice::capi::from_opaque;
using sluice::capi::on_loop;

extern "C" {

SLUICE_EXTERN int sluice_datagram_callbacks_init(sluice_datagram_callbacks* callbacks,
                                                 uint32_t version) {
  return sluice::capi::struct_init(callbacks, version);
}

SLUICE_EXTERN int sluice_datagram_stats_init(sluice_datagram_stats* stats, uint32_t version) {
  return sluice::capi::struct_init(stats, version);
}

SLUICE_EXTERN int sluice_datagram_open(sluice_session* session,
                                       const sluice_datagram_callbacks* callbacks,
                                       const sluice_open_options* options, void* flow_user_data,
                                       sluice_datagram** out_flow) {
  if (!session || !callbacks || !out_flow) return SLUICE_ERR_INVALID_ARGUMENT;
  sluice_datagram_callbacks cbs;
  if (int rc = sluice::capi::lift(callbacks, &cbs); rc != SLUICE_OK) return rc;
  if (!cbs.on_datagram) return SLUICE_ERR_INVALID_ARGUMENT;
  sluice_open_options opts;  // no field applies to datagram flows yet; the version is checked
  if (int rc = sluice::capi::lift(options, &opts); rc != SLUICE_OK) return rc;
  CSession* cs = from_opaque<CSession>(session);
  if (!on_loop(cs->owner().engine())) return SLUICE_ERR_INVALID_STATE;
  if (!cs->owner().open() || cs->owner().cengine().stopping()) return SLUICE_ERR_INVALID_STATE;
  return sluice::capi::guard([&]() -> int {
    CDatagram* d = nullptr;
    const int rc = CDatagram::open(*cs, cbs, flow_user_data, &d);
    if (rc == SLUICE_OK) *out_flow = d;
    return rc;
  });
}

SLUICE_EXTERN int sluice_datagram_send(sluice_datagram* flow, const char* host, uint16_t port,
                                       const uint8_t* data, size_t data_len) {
  if (!flow || !host || port == 0 || (!data && data_len != 0) || data_len > 65535)
    return SLUICE_ERR_INVALID_ARGUMENT;
  const size_t host_len = std::strlen(host);
  if (host_len == 0 || host_len > 255) return SLUICE_ERR_INVALID_ARGUMENT;
  CDatagram* d = from_opaque<CDatagram>(flow);
  if (!on_loop(d->engine())) return SLUICE_ERR_INVALID_STATE;
  static const uint8_t kEmpty = 0;
  return d->send(std::string_view(host, host_len), port, data ? data : &kEmpty, data_len);
}

SLUICE_EXTERN int sluice_datagram_close(sluice_datagram* flow) {
  if (!flow) return SLUICE_ERR_INVALID_ARGUMENT;
  CDatagram* d = from_opaque<CDatagram>(flow);
  if (!on_loop(d->engine())) return SLUICE_ERR_INVALID_STATE;
  d->close();
  return SLUICE_OK;
}

SLUICE_EXTERN const char* sluice_datagram_failure_reason(const sluice_datagram* flow) {
  if (!flow) return "";
  return from_opaque<CDatagram>(flow)->failure_reason();
}

SLUICE_EXTERN int sluice_datagram_get_stats(const sluice_datagram* flow,
                                            sluice_datagram_stats* out_stats) {
  if (!flow || !out_stats) return SLUICE_ERR_INVALID_ARGUMENT;
  const CDatagram* d = from_opaque<CDatagram>(flow);
  if (!on_loop(d->engine())) return SLUICE_ERR_INVALID_STATE;
  sluice_datagram_stats full;
  d->stats(&full);
  return sluice::capi::store(full, out_stats);
}

}  // extern "C"

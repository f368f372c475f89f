// instance.hpp: CInstance and CSession, the objects behind sluice_instance
// and sluice_session handles.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A CInstance owns an Instance (sessions, router, inbounds built from a
// Config) and the CSession wrappers handed out for its sessions. It is an
// EngineObject so that engine stop closes the Instance; created after the
// Instance, it sits ahead of the Instance's inbounds in the Engine's list and
// is told first, so the Instance's own close (which needs its inbounds'
// close callbacks) runs rather than the inbounds' plain engine_close.
//
// States: open -> closing -> closed. sluice_instance_close in `open` starts
// the close and ends with the host's callback one loop turn later
// (net::defer, so the callback never runs inside the call) and the delete. Engine stop in `open`
// also closes, then only detaches: the memory stays until sluice_instance_close (which then calls
// back at once) or sluice_engine_free.
//
// Streams still opening through the instance's sessions are listed in
// opening_ and cancelled when it closes (their sessions go away).
//
// Threads: the Engine's loop thread.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "capi/handle.hpp"
#include "inbound/instance.hpp"

namespace sluice::capi {

class CEngine;
class CInstance;
class CStream;

// OutboundCounters add up the streams and flows the host opened through one
// session (sluice_outbound_stats). Streams and flows hold a reference, so
// they count on after the instance (and this session handle) are gone.
struct OutboundCounters {
  uint64_t streams_opened = 0;
  uint64_t streams_failed = 0;
  uint64_t streams_active = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t datagram_flows = 0;
  uint64_t datagrams_sent = 0;
  uint64_t datagrams_received = 0;
};

class CSession final : public sluice_session {
 public:
  using Opaque = sluice_session;
  CSession(CInstance& owner, Session& s)
      : owner_(owner), session_(s), counters_(std::make_shared<OutboundCounters>()) {}
  CInstance& owner() noexcept { return owner_; }
  Session& session() noexcept { return session_; }
  const std::shared_ptr<OutboundCounters>& counters() const noexcept { return counters_; }

 private:
  CInstance& owner_;
  Session& session_;
  std::shared_ptr<OutboundCounters> counters_;
};

class CInstance final : public sluice_instance, public EngineObject {
 public:
  using Opaque = sluice_instance;

  CInstance(CEngine& ce, std::unique_ptr<Instance>&& inst);
  ~CInstance() override;

  CEngine& cengine() noexcept { return ce_; }
  Instance& instance() noexcept { return *inst_; }
  bool open() const noexcept { return state_ == State::open; }

  // session_handle returns the wrapper for |s|, creating it once.
  CSession* session_handle(Session& s);
  // user_close implements sluice_instance_close; may delete this.
  int user_close(sluice_instance_close_cb cb, void* user) noexcept;
  void engine_close() noexcept override;

  void add_opening(CStream* s);
  void remove_opening(CStream* s) noexcept;

  // The configuration's warnings (sluice_instance_warning_*).
  void set_warnings(std::vector<std::string> w) noexcept { warnings_ = std::move(w); }
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  friend class CEngine;  // engine_prev_/engine_next_
  enum class State { open, closing, closed };
  void begin_close() noexcept;
  static void on_instance_closed(void* self) noexcept;
  static void on_close_deferred(void* self) noexcept;

  CEngine& ce_;
  std::unique_ptr<Instance> inst_;
  std::vector<std::unique_ptr<CSession>> sessions_;  // handles given out so far
  std::vector<CStream*> opening_;                    // streams opening through our sessions
  std::vector<std::string> warnings_;                // from parsing the configuration
  State state_ = State::open;
  bool user_close_ = false;  // sluice_instance_close was called
  sluice_instance_close_cb close_cb_ = nullptr;
  void* close_user_ = nullptr;
  CInstance* engine_prev_ = nullptr;  // CEngine's list of live instances
  CInstance* engine_next_ = nullptr;
};

}  // namespace sluice::capi

// sluice/session.hpp: Session, one configured peer (an outbound).
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// A Session owns the connection(s) to one configured peer: it authenticates,
// keeps alive and reconnects as its protocol requires, and opens Streams and
// DatagramFlows to targets through it. `direct` dials targets itself; `socks`
// and `http` go through an upstream proxy; later sessions tunnel through
// TLS, QUIC or SSH.
//
// Ownership: a Session belongs to its creator (unique_ptr) and may be deleted
// whenever no open is pending for a handler that still cares. At Engine stop
// it cancels its pending opens and detaches. Streams it handed out belong to
// their takers (usually Relays, which the Engine closes).
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"
#include "sluice/stream.hpp"

namespace sluice {

struct OutboundOptions;

class Session : public EngineObject {
 public:
  explicit Session(Engine& e, std::string tag) : EngineObject(e), tag_(std::move(tag)) {}

  // type: the outbound type name ("direct", "socks", ...).
  virtual const char* type() const noexcept = 0;
  const std::string& tag() const noexcept { return tag_; }

  // open_stream opens a Stream to host:port; |h| is called exactly once unless
  // cancel_open(h) is called first. |h| must stay valid until then.
  virtual void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept = 0;
  // cancel_open forgets a pending open; nothing is called back for it.
  virtual void cancel_open(OpenHandler* h) noexcept = 0;

  // open_datagram opens a UDP flow; not_supported where the protocol has none.
  virtual Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept {
    (void)h;
    return Errc::not_supported;
  }

 private:
  std::string tag_;
};

// make_session builds the Session an outbound's options describe.
Result<std::unique_ptr<Session>> make_session(Engine& e, const OutboundOptions& o,
                                              std::string* error_detail);

}  // namespace sluice

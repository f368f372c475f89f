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
// Ownership: a Session belongs to its creator (unique_ptr). Closing is
// asynchronous, as for Transports: close(cb, user) fails the pending opens
// and closes the connections to the peer, cb(user) runs exactly once when it
// is done, and only then may the Session be deleted. The Engine closes every
// Session this way at stop. Streams it handed out belong to their takers
// (usually Relays, which the Engine closes).
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/engine.hpp"
#include "sluice/error.hpp"
#include "sluice/stream.hpp"
#include "sluice/transport.hpp"

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

  // close starts closing the Session: every pending open fails with
  // Errc::canceled, the connections to the peer close, and |cb(user)| (may be
  // null) runs exactly once when nothing of the Session is left on the loop,
  // never from inside close() itself; nothing is called back after it, and
  // the Session may then be deleted. A second call does nothing (its callback
  // is never called). An override must detach_from_engine() by the time it
  // calls |cb|. The default is for a Session with nothing in flight: it
  // detaches and calls |cb| on the Engine's next loop turn.
  virtual void close(CloseCallback cb, void* user) noexcept;

  // engine_close: the Engine stops; it closes the Session with close() and
  // waits until the Session detaches.
  void engine_close() noexcept override { close(nullptr, nullptr); }

  // close_begun: close() has been called (for overrides: the same flag, so
  // one check covers both the default and an override). An owner closing a
  // Session the Engine's stop closed already gets no callback from close().
  bool close_begun() const noexcept { return close_begun_; }

 protected:
  // begin_close: marks the close as begun; false if it already was.
  bool begin_close() noexcept {
    if (close_begun_) return false;
    close_begun_ = true;
    return true;
  }

 private:
  std::string tag_;
  bool close_begun_ = false;
};

// make_session builds the Session an outbound's options describe.
Result<std::unique_ptr<Session>> make_session(Engine& e, const OutboundOptions& o,
                                              std::string* error_detail);

}  // namespace sluice

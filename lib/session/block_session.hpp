// block_session.hpp: BlockSession, the `block` outbound: refuses every flow.
#pragma once

#include "sluice/session.hpp"

namespace sluice {

class BlockSession final : public Session {
 public:
  BlockSession(Engine& e, std::string tag) : Session(e, std::move(tag)) {}
  const char* type() const noexcept override { return "block"; }
  void open_stream(std::string_view, uint16_t, OpenHandler* h) noexcept override {
    h->on_open(Errc::connection_refused, "blocked by the block outbound");
  }
  void cancel_open(OpenHandler*) noexcept override {}
  // Nothing is ever in flight: Session's close() (detach, call back on the
  // next loop turn) is the whole close, at Engine stop too.
};

}  // namespace sluice

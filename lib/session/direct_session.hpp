// direct_session.hpp: DirectSession, the `direct` outbound: dial targets itself.
#pragma once

#include <memory>

#include "net/dialer.hpp"
#include "session/client_connect.hpp"
#include "sluice/session.hpp"

namespace sluice {

class DirectSession final : public Session {
 public:
  DirectSession(Engine& e, std::string tag, const net::DialOptions& o);
  ~DirectSession() override;

  const char* type() const noexcept override { return "direct"; }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override;
  void cancel_open(OpenHandler* h) noexcept override;
  Result<std::unique_ptr<DatagramFlow>> open_datagram(DatagramHandler* h) noexcept override;
  // close fails the pending opens (Errc::canceled, "outbound closing",
  // or "engine stopping" when the Engine closes it at stop) and
  // detaches; the callback follows on the next loop turn (Session::close).
  // The streams and flows handed out belong to their takers. Opens asked
  // for afterwards fail at once.
  void close(CloseCallback cb, void* user) noexcept override;

 private:
  DialTarget target_;  // the TCP strategy; host and port per open
  PendingOpens pending_;
};

}  // namespace sluice

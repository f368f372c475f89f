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
  void engine_close() noexcept override;

 private:
  DialTarget target_;  // the TCP strategy; host and port per open
  PendingOpens pending_;
};

}  // namespace sluice

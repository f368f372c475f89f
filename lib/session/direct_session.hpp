// direct_session.hpp: DirectSession, the `direct` outbound: dial targets itself.
#pragma once

#include <memory>
#include <vector>

#include "net/dialer.hpp"
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
  struct Pending final : net::DialHandler {
    DirectSession* session = nullptr;
    OpenHandler* handler = nullptr;
    net::Dial* dial = nullptr;
    void on_dial(Result<std::unique_ptr<net::TcpTransport>> t, const char* reason) override;
  };
  void forget(Pending* p) noexcept;

  net::DialOptions opts_;
  std::vector<std::unique_ptr<Pending>> pending_;
};

}  // namespace sluice

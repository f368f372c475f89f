// direct_session.cpp: the direct outbound.
#include "session/direct_session.hpp"

#include "net/udp_flow.hpp"

namespace sluice {

DirectSession::DirectSession(Engine& e, std::string tag, const net::DialOptions& o)
    : Session(e, std::move(tag)) {
  target_.tcp = o;
}

DirectSession::~DirectSession() = default;  // pending_ cancels its dials

void DirectSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  target_.host.assign(host.data(), host.size());
  target_.port = port;
  // The dial may answer at once (bad address): the handler hears then.
  pending_.open(engine(), target_, nullptr, h, "");
}

void DirectSession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

Result<std::unique_ptr<DatagramFlow>> DirectSession::open_datagram(DatagramHandler* h) noexcept {
  return net::UdpFlow::create(engine(), h);
}

void DirectSession::engine_close() noexcept {
  pending_.fail_all(Errc::canceled, "engine stopping");
  detach_from_engine();
}

}  // namespace sluice

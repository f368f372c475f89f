// direct_session.cpp: the direct outbound.
#include "session/direct_session.hpp"

#include "net/engine_internal.hpp"
#include "net/udp_flow.hpp"

namespace sluice {

DirectSession::DirectSession(Engine& e, std::string tag, const net::DialOptions& o)
    : Session(e, std::move(tag)) {
  target_.tcp = o;
}

DirectSession::~DirectSession() = default;  // pending_ cancels its dials

void DirectSession::open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept {
  if (close_begun()) {
    h->on_open(Errc::canceled, "outbound closed");
    return;
  }
  target_.host.assign(host.data(), host.size());
  target_.port = port;
  // The dial may answer at once (bad address): the handler hears then.
  pending_.open(engine(), target_, nullptr, h, "");
}

void DirectSession::cancel_open(OpenHandler* h) noexcept { pending_.cancel(h); }

Result<std::unique_ptr<DatagramFlow>> DirectSession::open_datagram(DatagramHandler* h) noexcept {
  if (close_begun()) return Errc::closed;
  return net::UdpFlow::create(engine(), h);
}

void DirectSession::close(CloseCallback cb, void* user) noexcept {
  if (close_begun()) return;
  pending_.fail_all(Errc::canceled,
                    net::closing_all(engine()) ? "engine stopping" : "outbound closing");
  Session::close(cb, user);  // detaches; |cb| on the next loop turn
}

}  // namespace sluice

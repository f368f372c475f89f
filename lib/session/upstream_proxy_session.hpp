// upstream_proxy_session.hpp: the `socks` and `http` outbounds: streams through
// an upstream SOCKS5 or HTTP CONNECT proxy.
//
// Each open_stream is a ClientConnect: it dials the proxy, runs the client
// handshake of its protocol (lib/proto/socks5 ClientHandshake,
// lib/proto/http_connect) as the connector's request and reply phase under
// one deadline (handshake_timeout_ms + the dial's connect_timeout_ms), and
// hands over the connection as the Stream; bytes the proxy sent after its
// reply are pushed back with unread() so the stream's reader sees them first. SOCKS5
// also gives datagram flows (UDP ASSOCIATE) — not yet: open_datagram answers
// not_supported for now.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/dialer.hpp"
#include "session/client_connect.hpp"
#include "sluice/session.hpp"

namespace sluice {

struct UpstreamProxyOptions {
  enum class Kind { socks, http } kind = Kind::socks;
  std::string server;
  uint16_t server_port = 0;
  std::string username;
  std::string password;
  std::vector<std::pair<std::string, std::string>> headers;  // http only
  uint64_t handshake_timeout_ms = 10000;
  net::DialOptions dial;
};

class UpstreamProxySession final : public Session {
 public:
  UpstreamProxySession(Engine& e, std::string tag, UpstreamProxyOptions o);
  ~UpstreamProxySession() override;

  const char* type() const noexcept override {
    return opts_.kind == UpstreamProxyOptions::Kind::socks ? "socks" : "http";
  }
  void open_stream(std::string_view host, uint16_t port, OpenHandler* h) noexcept override;
  void cancel_open(OpenHandler* h) noexcept override;
  // close fails the pending opens (Errc::canceled, "outbound closing",
  // or "engine stopping" when the Engine closes it at stop) and
  // detaches; the callback follows on the next loop turn (Session::close).
  // The streams and flows handed out belong to their takers. Opens asked
  // for afterwards fail at once.
  void close(CloseCallback cb, void* user) noexcept override;

 private:
  UpstreamProxyOptions opts_;  // before pending_: its opens borrow it
  DialTarget target_;          // the proxy, over TCP
  PendingOpens pending_;
};

}  // namespace sluice

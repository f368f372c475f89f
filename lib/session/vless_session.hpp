// vless_session.hpp: VlessSession, the `vless` outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Each open_stream makes one connection to the server — TLS through TlsDial
// (ticket cache, ECH with its single retry) or, with TLS disabled (security
// "none", for tests and for servers behind another encrypting layer), plain
// TCP — writes the VLESS request header (lib/proto/vless, command 0x01) as
// the first bytes and hands the connection over at once as a VlessStream
// that strips the server's response header before the first downstream
// byte. Nothing waits for the response (vless.md section 4).
//
// open_datagram gives a StreamDatagramFlow that carries UDP either as XUDP
// (Mux.Cool session 0 on one connection, full cone; vless::XudpFraming) or
// with command 0x02 (one connection per destination, at most
// kVlessUdpMaxStreams; vless::UdpFraming). A connection opens on the first
// datagram sent through it; one that fails or ends is forgotten and the
// next datagram opens another. Datagrams wait in a bounded queue while a
// connection opens and may fill a bounded write queue after; past either,
// and when empty, they are dropped and counted (UDP semantics).
//
// Flow "xtls-rprx-vision" (TLS only, and TLS 1.3 at connect time): TCP
// streams and XUDP go through a VisionStream (padding, then direct copy
// per direction once the inner traffic is TLS 1.3); UDP with command 0x02
// is sent without flow, as sing-box does (Xray servers accept it).
//
// Threads: the Engine's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "crypto/tls_context.hpp"
#include "proto/vless/addons.hpp"
#include "proto/vless/user_id.hpp"
#include "session/client_connect.hpp"
#include "sluice/session.hpp"
#include "transport/tls_dial.hpp"

namespace sluice {

struct TlsClientOptions;

// Bounds of a UDP flow: connections (command 0x02: one per destination),
// bytes of frames waiting for a connection, bytes in its write queue.
inline constexpr size_t kVlessUdpMaxStreams = 64;
inline constexpr size_t kVlessUdpConnectQueue = 256 * 1024;
inline constexpr size_t kVlessUdpWriteQueue = 1024 * 1024;

struct VlessSessionOptions {
  std::string server;
  uint16_t server_port = 0;
  vless::UserId user{};
  vless::Flow flow = vless::Flow::none;
  // xudp: UDP as XUDP on one connection (sing-box's default); otherwise
  // command 0x02, one connection per destination.
  bool xudp = true;
  bool tcp = true;  // "network": which of TCP and UDP this outbound carries
  bool udp = true;
  TlsDialOptions dial;  // dial.dial is used for TCP without TLS too
};

// VlessTarget is what every connection of one session shares (the flows
// outlive nothing, but they must not depend on the Session's lifetime).
struct VlessTarget {
  VlessSessionOptions opts;
  std::shared_ptr<const tls::TlsClientContext> ctx;  // nullptr: no TLS
};

class VlessSession final : public Session {
 public:
  // create builds the TLS client context from |tls| when tls.enabled; |why|
  // on failure.
  static Result<std::unique_ptr<VlessSession>> create(Engine& e, std::string tag,
                                                      const VlessSessionOptions& o,
                                                      const TlsClientOptions& tls,
                                                      std::string* why);
  ~VlessSession() override;

  const char* type() const noexcept override { return "vless"; }
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
  VlessSession(Engine& e, std::string tag, std::shared_ptr<const VlessTarget> target);

  std::shared_ptr<const VlessTarget> target_;
  PendingOpens pending_;
};

}  // namespace sluice

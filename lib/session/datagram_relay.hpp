// session/datagram_relay.hpp: DatagramRelay, the one place a server relays
// UDP: a client-side DatagramPort <-> an outbound DatagramFlow.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A DatagramPort is how the client's datagrams reach the server:
//   - FramedStreamPort: datagrams framed inside the client's stream by any
//     DatagramFraming (Trojan UDP ASSOCIATE, VLESS 0x02, XUDP);
//   - Socks5UdpPort: a UDP socket of its own, RFC 1928 section 7 headers,
//     alive as long as the SOCKS5 TCP control connection.
// The relay sends what the port takes to the flow (the address each
// datagram names) and what the flow receives back to the port (framed with
// its source). Replies are dropped, not queued, while the port's write queue
// holds more than |write_queue| bytes (counted in dropped). A malformed or
// truncated frame ends the relay with that error (malformed = true): a
// framing that lost its place cannot resync. Nothing moving either way for
// idle_timeout_ms (0 = never) ends it with timed_out.
//
// The flow is opened (DatagramFlowOpener: the Router) on the stream's target at start,
// or (lazy) on the first datagram's address, as XUDP names its first
// destination only in its first frame.
//
// Ownership: owned by its creator (the server driver's connection), who is
// told once through DatagramRelayOwner::on_datagram_relay_done and then
// calls close(); exactly one close callback; delete after it. The idle
// expiry is a net::Timer on the Engine's clock (virtual time in tests).
// Threads: the Engine's loop thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/timer.hpp"
#include "proto/datagram_framing.hpp"
#include "sluice/engine.hpp"
#include "sluice/stream.hpp"
#include "sluice/transport.hpp"

namespace sluice {

// DatagramFlowOpener opens the outbound side (the server driver: through
// its Router, for its inbound's tag). Kept abstract so this layer does not
// reach up into lib/inbound.
class DatagramFlowOpener {
 public:
  virtual ~DatagramFlowOpener() = default;
  virtual Result<std::unique_ptr<DatagramFlow>> open_flow(const TargetAddress& target,
                                                          DatagramHandler* h) noexcept = 0;
};

// DatagramPort is the client side of a DatagramRelay.
class DatagramPort {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // on_port_datagram: the client sent |d| (address: its destination).
    virtual void on_port_datagram(FramedDatagram&& d) = 0;
    // on_port_end: the client side ended: ok for a clean end, else the
    // error and a static description; |malformed|: a frame that broke the
    // framing's rules or was cut off by the end of the stream.
    virtual void on_port_end(Errc e, const char* why, bool malformed) = 0;
  };
  virtual ~DatagramPort() = default;
  // start begins delivering to |h| (datagrams already received first).
  virtual void start(Handler* h) noexcept = 0;
  // deliver sends one datagram from |from| to the client: false if dropped
  // (queue above the limit, no client address yet, framing refused it).
  virtual bool deliver(const TargetAddress& from, Slice&& payload) noexcept = 0;
  // idle_expiry: whether the relay's idle timeout applies (every port
  // today: a SOCKS5 association ends on udp_timeout as well as with its
  // control connection).
  virtual bool idle_expiry() const noexcept { return true; }
  // close: exactly one callback; nothing called back after it starts.
  virtual void close(CloseCallback cb, void* user) noexcept = 0;
};

// FramedStreamPort: datagrams framed by |framing| inside |t|. |received|
// holds bytes already read after the request header.
class FramedStreamPort final : public DatagramPort, private TransportHandler {
 public:
  FramedStreamPort(Engine& e, std::unique_ptr<Transport> t,
                   std::unique_ptr<DatagramFraming> framing, Chain&& received,
                   size_t write_queue) noexcept;
  ~FramedStreamPort() override;

  void start(Handler* h) noexcept override;
  bool deliver(const TargetAddress& from, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;

 private:
  void on_data(Slice&& data) override;
  void on_eof() override;
  void on_error(Errc e) override;
  void drain() noexcept;
  void end(Errc e, const char* why, bool malformed = false) noexcept;

  Engine& engine_;
  std::unique_ptr<Transport> t_;
  std::unique_ptr<DatagramFraming> framing_;
  Chain in_;
  size_t write_queue_;
  Handler* h_ = nullptr;
  bool ended_ = false;
};

// Socks5UdpPort: the UDP relay socket of a SOCKS5 UDP ASSOCIATE, bound on
// the listen address; only datagrams from the control connection's peer IP
// are taken, and the first one fixes the client's UDP address (replies go
// there). |control| is the TCP control connection: its end ends the port.
class Socks5UdpPort final : public DatagramPort, private TransportHandler {
 public:
  // bind creates the socket on |host| (port 0); |bound| gets its address
  // (for the SOCKS5 reply). |peer| is the control connection's peer.
  static Result<std::unique_ptr<Socks5UdpPort>> bind(Engine& e, const sockaddr_storage& peer,
                                                     std::string_view host, TargetAddress* bound);
  // set_control gives the port the control connection (before start), once
  // the SOCKS5 reply has been written to it.
  void set_control(std::unique_ptr<Transport> control) noexcept { control_ = std::move(control); }
  ~Socks5UdpPort() override;

  void start(Handler* h) noexcept override;
  bool deliver(const TargetAddress& from, Slice&& payload) noexcept override;
  void close(CloseCallback cb, void* user) noexcept override;

 private:
  Socks5UdpPort(Engine& e, const sockaddr_storage& peer) noexcept : engine_(e), peer_(peer) {}
  void on_data(Slice&&) override {}  // the control connection carries nothing more
  void on_eof() override;
  void on_error(Errc e) override;
  static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void on_recv(uv_udp_t* u, ssize_t nread, const uv_buf_t*, const sockaddr* addr,
                      unsigned flags);
  void closed_one() noexcept;

  Engine& engine_;
  std::unique_ptr<Transport> control_;
  sockaddr_storage peer_{};
  sockaddr_storage client_udp_{};
  bool client_known_ = false;
  uv_udp_t udp_{};
  bool udp_open_ = false;
  Slice buf_;
  Handler* h_ = nullptr;
  bool ended_ = false;
  int closing_ = 0;  // handles still to close
  CloseCallback cb_ = nullptr;
  void* user_ = nullptr;
};

struct DatagramRelayOptions {
  uint64_t idle_timeout_ms = 5 * 60 * 1000;  // 0 = no idle expiry
  size_t write_queue = 1024 * 1024;          // reply bytes queued to the client
};

struct DatagramRelayResult {
  uint64_t to_target = 0;  // datagrams client -> flow
  uint64_t to_client = 0;  // datagrams flow -> client
  uint64_t dropped = 0;    // replies dropped (queue full, unframeable source)
  bool malformed = false;  // ended by a malformed or truncated frame
  Errc error = Errc::ok;   // ok: the client ended; timed_out: idle
  const char* reason = "";
};

class DatagramRelayOwner {
 public:
  virtual ~DatagramRelayOwner() = default;
  // on_datagram_relay_done: the relay ended (once); close() it now or later.
  virtual void on_datagram_relay_done(const DatagramRelayResult& r) = 0;
};

class DatagramRelay final : private DatagramPort::Handler, private DatagramHandler {
 public:
  DatagramRelay(Engine& e, DatagramFlowOpener* opener, std::unique_ptr<DatagramPort> port,
                const DatagramRelayOptions& o, DatagramRelayOwner* owner) noexcept;
  ~DatagramRelay() override;

  // open opens the flow to |target| now; without it, the flow opens on the
  // first datagram's address. The error if the opener refuses.
  Status open(const TargetAddress& target) noexcept;
  // start starts the port and the idle timer.
  void start() noexcept;
  void close(CloseCallback cb, void* user) noexcept;
  const DatagramRelayResult& result() const noexcept { return result_; }

 private:
  void on_port_datagram(FramedDatagram&& d) override;
  void on_port_end(Errc e, const char* why, bool malformed) override;
  void on_datagram(const Endpoint& from, Slice&& payload) override;
  void on_error(Errc e) override;
  void finish(Errc e, const char* why) noexcept;
  void arm(uint64_t ms) noexcept;
  static void on_timer(void* self);
  void closed_one() noexcept;

  Engine& engine_;
  DatagramFlowOpener* opener_;
  std::unique_ptr<DatagramPort> port_;
  std::unique_ptr<DatagramFlow> flow_;
  DatagramRelayOptions opts_;
  DatagramRelayOwner* owner_;
  DatagramRelayResult result_;
  net::Timer timer_;            // idle expiry
  uint64_t last_activity_ = 0;  // Engine::now_ms of the last datagram either way
  bool finished_ = false;
  bool closing_ = false;
  int open_ = 0;  // parts (port, flow) still to close
  CloseCallback cb_ = nullptr;
  void* user_ = nullptr;
};

}  // namespace sluice

// tls_support.hpp: TLS test servers on an Engine for end-to-end tests.
//
// TlsEchoServer terminates TLS and echoes (half-closing after the peer's
// end-of-stream). TlsForwarder accepts plain TCP and carries each
// connection over a TlsDial to a TLS server through a Relay, so the test
// thread drives TLS with ordinary blocking sockets. TcpTap sits between
// them when a test needs to count or see the TCP connections.
#pragma once

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tcp_listener.hpp"
#include "session/relay.hpp"
#include "support.hpp"
#include "transport/tls_dial.hpp"
#include "transport/tls_transport.hpp"

namespace sluice::test {

class TlsEchoServer final : public EngineObject, public net::AcceptHandler {
 public:
  TlsEchoServer(Engine& e, std::shared_ptr<tls::TlsServerContext> ctx);
  ~TlsEchoServer() override;
  uint16_t port() const { return port_; }
  void engine_close() noexcept override;

  struct Seen {
    std::string server_name, alpn;
    bool ech_accepted = false;
    bool resumed = false;
    Errc error = Errc::ok;
    std::string reason;
  };
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  void record(Seen s) {
    std::lock_guard<std::mutex> l(mu_);
    seen_.push_back(std::move(s));
  }

  struct Conn;
  std::vector<Conn*> conns_;
  std::shared_ptr<tls::TlsServerContext> ctx_;

 private:
  void on_accept(std::unique_ptr<net::TcpTransport> t) override;
  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

class TlsForwarder final : public EngineObject, public net::AcceptHandler {
 public:
  TlsForwarder(Engine& e, std::shared_ptr<const tls::TlsClientContext> ctx, uint16_t target_port,
               TlsDialOptions o = {});
  ~TlsForwarder() override;
  uint16_t port() const { return port_; }
  void engine_close() noexcept override;

  struct Result {
    Errc error = Errc::ok;
    std::string reason;
    TlsInfo info;
  };
  std::vector<Result> results() {
    std::lock_guard<std::mutex> l(mu_);
    return results_;
  }
  void record(Result r) {
    std::lock_guard<std::mutex> l(mu_);
    results_.push_back(std::move(r));
  }

  struct Pending;
  std::vector<Pending*> pending_;
  std::shared_ptr<const tls::TlsClientContext> ctx_;
  uint16_t target_port_;
  TlsDialOptions opts_;

 private:
  void on_accept(std::unique_ptr<net::TcpTransport> t) override;
  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Result> results_;
};

// TcpTap is a plain TCP forwarder in front of a server, on its own thread
// (no Engine): it counts the connections that reach it and keeps the bytes
// each client sent, as they crossed the wire. For small exchanges only (it
// forwards with blocking sends).
class TcpTap {
 public:
  explicit TcpTap(uint16_t target_port);
  ~TcpTap();
  TcpTap(const TcpTap&) = delete;
  TcpTap& operator=(const TcpTap&) = delete;
  uint16_t port() const { return port_; }
  size_t connections();
  // client_bytes: per connection, in accept order, what the client sent.
  std::vector<std::string> client_bytes();

 private:
  struct Link;
  void run();
  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<std::string> sent_;
  std::thread thread_;
};

// check_tls_prober_echoed: a TLS client that is not a proxy client (a plain
// socket -> TlsForwarder trusting |ca_pem| for |server_name|, on its own
// Engine) sends an HTTP request to the proxy server on 127.0.0.1:|port|;
// the request must come back unchanged from the server's fallback (an echo
// server), and the prober's end-of-stream must travel there and back.
void check_tls_prober_echoed(const std::string& ca_pem, const std::string& server_name,
                             uint16_t port);

}  // namespace sluice::test

// support.hpp: helpers for end-to-end tests on 127.0.0.1.
//
// An Engine runs on its own thread; test servers (echo, greeter, sink) run on
// that Engine as real listeners, and the test drives ordinary blocking POSIX
// sockets from the test thread, like an application would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "net/tcp_listener.hpp"
#include "sluice/engine.hpp"

namespace sluice::test {

// on_loop runs |fn| on the Engine's thread and waits for its result.
template <typename F>
auto on_loop(Engine& e, F fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::promise<R> p;
  auto fut = p.get_future();
  Status st = e.post([&] {
    if constexpr (std::is_void_v<R>) {
      fn();
      p.set_value();
    } else {
      p.set_value(fn());
    }
  });
  if (!st) std::abort();
  return fut.get();
}

// TestServer is a listener on the Engine whose connections behave per Mode.
class TestServer final : public EngineObject, public net::AcceptHandler {
 public:
  enum class Mode {
    echo,     // write back what arrives; on EOF, shut down after echoing
    greeter,  // send |greeting| then half-close; count what arrives
    sink,     // accept but never read
    reset,    // read, then abort with RST after the first bytes
  };
  TestServer(Engine& e, Mode m, std::string greeting = {});
  ~TestServer() override;
  uint16_t port() const { return port_; }
  void engine_close() noexcept override;
  std::atomic<uint64_t> received{0};
  std::atomic<int> eofs{0};

  struct Conn;

 private:
  void on_accept(std::unique_ptr<net::TcpTransport> t) override;
  Mode mode_;
  std::string greeting_;
  std::unique_ptr<net::TcpListener> listener_;
  uint16_t port_ = 0;
  std::vector<Conn*> conns_;
  friend struct Conn;
};

// Blocking client helpers.
int tcp_connect(uint16_t port);  // connect to 127.0.0.1:port or abort
bool send_all(int fd, const void* p, size_t n);
bool recv_exact(int fd, void* p, size_t n, int timeout_ms = 10000);
std::string recv_some(int fd, int timeout_ms = 10000);  // "" on EOF/timeout
bool wait_eof(int fd, int timeout_ms = 10000);          // true when the peer closed/shut down
// socks5_connect performs a no-auth SOCKS5 CONNECT to host:port over |fd|;
// returns the REP code (0 = success) or -1 on a protocol failure.
int socks5_connect(int fd, const std::string& host, uint16_t port);

// Pattern is a deterministic byte stream for hash-checked transfers.
struct Pattern {
  uint64_t state;
  explicit Pattern(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  void fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      p[i] = static_cast<uint8_t>(state);
    }
  }
};

}  // namespace sluice::test

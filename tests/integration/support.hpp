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
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tcp_listener.hpp"
#include "sluice/engine.hpp"

#include "sluice/log.hpp"

namespace sluice {
class Instance;
struct TrojanInboundStats;
struct VlessInboundStats;
}  // namespace sluice

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

// wait_until polls |pred| from the test thread every |every| until it holds
// (true) or |limit| passes (false).
template <typename P>
bool wait_until(P pred, std::chrono::milliseconds limit = std::chrono::seconds(30),
                std::chrono::milliseconds every = std::chrono::milliseconds(2)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
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

// echo_transfer writes |total| Pattern(|seed|) bytes through |fd| from a
// second thread while reading the echo back; true if every byte came back
// in order. With |half_close| the writer shuts down its sending side after
// the last byte; without it the stream stays open both ways until the echo
// is complete (for peers that tear a session down on end-of-stream).
bool echo_transfer(int fd, size_t total, uint64_t seed, bool half_close = true);

// UdpEcho answers every datagram to its sender, on its own thread, from
// 127.0.0.1:|port|; |received| counts the datagrams.
struct UdpEcho {
  int fd = -1;
  uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> received{0};
  std::thread thread;
  UdpEcho();
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;
  ~UdpEcho();
};

// SocksUdpAssociation is an application's no-auth SOCKS5 UDP ASSOCIATE on
// the SOCKS5 server at 127.0.0.1:|socks_port| (REQUIREd to succeed with an
// IPv4 relay address): |ctl| keeps the association alive, |u| is the
// application's UDP socket, |relay| the server's relay. Both sockets are
// closed at scope end, which ends the association.
struct SocksUdpAssociation {
  int ctl = -1;
  int u = -1;
  sockaddr_in relay{};
  explicit SocksUdpAssociation(uint16_t socks_port);
  SocksUdpAssociation(const SocksUdpAssociation&) = delete;
  SocksUdpAssociation& operator=(const SocksUdpAssociation&) = delete;
  ~SocksUdpAssociation();
  // send_to sends |payload| to 127.0.0.1:|port| through the relay, with the
  // SOCKS5 UDP header (RSV RSV FRAG=0 ATYP=1 address port); false unless
  // the whole datagram went out. |sent|, if given, receives the datagram.
  bool send_to(uint16_t port, const void* payload, size_t n, std::vector<uint8_t>* sent = nullptr);
  // receive takes the next datagram's payload if it came from
  // 127.0.0.1:|port|; false after |timeout_ms| without one, or from
  // another source.
  bool receive(uint16_t port, std::vector<uint8_t>* payload, int timeout_ms = 5000);
  // round_trip sends |n| bytes to the echo server at 127.0.0.1:|port| until
  // they come back intact from it: up to |attempts| sends, |timeout_ms|
  // each (UDP may drop one while a tunnel comes up).
  bool round_trip(uint16_t port, const void* payload, size_t n, int attempts = 3,
                  int timeout_ms = 2000);
  template <typename Bytes>
  bool round_trip(uint16_t port, const Bytes& b) {
    return round_trip(port, b.data(), b.size());
  }
};

// udp_round_trips sends |count| datagrams, growing from 1 to |max_payload|
// bytes, through a new association on the SOCKS5 server at |socks_port| to
// the UDP echo server at 127.0.0.1:|echo_port|, one at a time (each with
// SocksUdpAssociation::round_trip's retries); returns how many came back
// intact, stopping at the first that did not, which |why| names.
int udp_round_trips(uint16_t socks_port, uint16_t echo_port, int count, size_t max_payload,
                    std::string* why);

// write_temp writes |text| to /tmp/sluice_<tag>_<pid>_<name> and returns
// the path.
std::string write_temp(const std::string& tag, const std::string& name, const std::string& text);

// Side is an Instance built from JSON (like `sluice run`) on its own Engine
// thread. At scope end the Engine stops and must have no objects or pool
// chunks left.
struct Side {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Instance> instance;
  explicit Side(const std::string& json);
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;
  ~Side();
  uint16_t port(const char* tag);
  // The stats of the Trojan / VLESS inbound tagged |tag|, read on the loop.
  TrojanInboundStats trojan_stats(const char* tag = "in");
  VlessInboundStats vless_stats(const char* tag = "in");
};

// LogCapture keeps the warning (and worse) lines logged while it lives, from
// any thread; the level returns to info when it goes.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  LogCapture() {
    set_log_level(LogLevel::warn);
    set_log_sink(
        [](void* u, LogLevel, const char* msg, size_t len) {
          auto* self = static_cast<LogCapture*>(u);
          std::lock_guard<std::mutex> l(self->mu);
          self->lines.emplace_back(msg, len);
        },
        this);
  }
  ~LogCapture() {
    set_log_sink(nullptr, nullptr);
    set_log_level(LogLevel::info);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  bool contains(const std::string& needle) {
    std::lock_guard<std::mutex> l(mu);
    for (const std::string& s : lines)
      if (s.find(needle) != std::string::npos) return true;
    return false;
  }
};

// free_udp_ports finds |n| distinct UDP ports free on 127.0.0.1 just now
// (for servers listening on several ports: port-hopping tests).
inline std::vector<uint16_t> free_udp_ports(size_t n) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (fd >= 0) ::close(fd);
      break;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ports.push_back(ntohs(a.sin_port));
    fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

}  // namespace sluice::test

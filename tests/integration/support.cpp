#include "support.hpp"

#include <sys/resource.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "inbound/instance.hpp"
#include "net/tcp_transport.hpp"

namespace sluice::test {

struct TestServer::Conn final : TransportHandler {
  TestServer* server;
  std::unique_ptr<net::TcpTransport> t;
  bool got_eof = false;
  bool closed = false;

  void on_data(Slice&& data) override {
    server->received += data.size();
    switch (server->mode_) {
      case Mode::echo:
        (void)t->write(std::move(data));
        break;
      case Mode::reset: {
        uv_os_fd_t fd;
        uv_fileno(reinterpret_cast<uv_handle_t*>(t->handle()), &fd);
        linger lg{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close();
        break;
      }
      default:
        break;
    }
  }
  void on_eof() override {
    server->eofs++;
    got_eof = true;
    if (server->mode_ == Mode::echo) (void)t->shutdown();
    maybe_done();
  }
  void on_error(Errc) override { close(); }
  void on_write_high() override { t->read_stop(); }
  void on_write_low() override { t->read_start(); }
  void on_drained() override { maybe_done(); }
  void maybe_done() {
    if (got_eof && t->write_buffered() == 0 && server->mode_ != Mode::greeter) close();
  }
  void close() {
    if (closed) return;
    closed = true;
    t->set_handler(nullptr);
    t->close(
        [](void* u) {
          auto* c = static_cast<Conn*>(u);
          auto& v = c->server->conns_;
          v.erase(std::find(v.begin(), v.end(), c));
          delete c;
        },
        this);
  }
};

TestServer::TestServer(Engine& e, Mode m, std::string greeting)
    : EngineObject(e), mode_(m), greeting_(std::move(greeting)) {
  std::string reason;
  auto l = net::TcpListener::create(e, "127.0.0.1", 0, {}, this, &reason);
  if (!l) std::abort();
  listener_ = std::move(*l);
  port_ = listener_->port();
}

TestServer::~TestServer() = default;

void TestServer::on_accept(std::unique_ptr<net::TcpTransport> t) {
  auto* c = new Conn();
  c->server = this;
  c->t = std::move(t);
  c->t->set_handler(c);
  conns_.push_back(c);
  if (mode_ == Mode::greeter) {
    auto s = engine().pool().copy_from(greeting_.data(), greeting_.size());
    (void)c->t->write(std::move(*s));
    (void)c->t->shutdown();
  }
  if (mode_ != Mode::sink) c->t->read_start();
}

void TestServer::engine_close() noexcept {
  auto v = conns_;
  for (Conn* c : v) c->close();
  listener_->close(
      [](void* u) {
        auto* s = static_cast<TestServer*>(u);
        s->listener_.reset();
        s->detach_from_engine();
      },
      this);
}

namespace {
struct RaiseFdLimit {
  RaiseFdLimit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
} g_raise;
}  // namespace

int tcp_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    ssize_t k = ::send(fd, b, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    b += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool recv_exact(int fd, void* p, size_t n, int timeout_ms) {
  auto* b = static_cast<uint8_t*>(p);
  while (n > 0) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, timeout_ms) <= 0) return false;
    ssize_t k = ::recv(fd, b, n, 0);
    if (k <= 0) return false;
    b += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

std::string recv_some(int fd, int timeout_ms) {
  pollfd pf{fd, POLLIN, 0};
  if (::poll(&pf, 1, timeout_ms) <= 0) return {};
  char buf[65536];
  ssize_t k = ::recv(fd, buf, sizeof buf, 0);
  if (k <= 0) return {};
  return std::string(buf, static_cast<size_t>(k));
}

bool wait_eof(int fd, int timeout_ms) {
  for (;;) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t k = ::recv(fd, buf, sizeof buf, 0);
    if (k <= 0) return true;
  }
}

int socks5_connect(int fd, const std::string& host, uint16_t port) {
  const uint8_t greet[] = {5, 1, 0};
  if (!send_all(fd, greet, 3)) return -1;
  uint8_t choice[2];
  if (!recv_exact(fd, choice, 2) || choice[0] != 5 || choice[1] != 0) return -1;
  std::vector<uint8_t> req = {5, 1, 0};
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    req.push_back(1);
    auto* b = reinterpret_cast<uint8_t*>(&a4);
    req.insert(req.end(), b, b + 4);
  } else {
    req.push_back(3);
    req.push_back(static_cast<uint8_t>(host.size()));
    for (char ch : host) req.push_back(static_cast<uint8_t>(ch));
  }
  req.push_back(static_cast<uint8_t>(port >> 8));
  req.push_back(static_cast<uint8_t>(port));
  if (!send_all(fd, req.data(), req.size())) return -1;
  uint8_t rep[4];
  if (!recv_exact(fd, rep, 4) || rep[0] != 5) return -1;
  size_t rest = rep[3] == 1 ? 6 : rep[3] == 4 ? 18 : 0;
  if (rep[3] == 3) {
    uint8_t l;
    if (!recv_exact(fd, &l, 1)) return -1;
    rest = l + 2u;
  }
  std::vector<uint8_t> tail(rest);
  if (rest && !recv_exact(fd, tail.data(), rest)) return -1;
  return rep[1];
}

bool echo_transfer(int fd, size_t total, uint64_t seed, bool half_close) {
  std::thread writer([fd, total, seed, half_close] {
    Pattern p(seed);
    std::vector<uint8_t> buf(256 * 1024);
    for (size_t sent = 0; sent < total;) {
      const size_t n = std::min(buf.size(), total - sent);
      p.fill(buf.data(), n);
      if (!send_all(fd, buf.data(), n)) return;
      sent += n;
    }
    if (half_close) ::shutdown(fd, SHUT_WR);
  });
  Pattern expect(seed);
  std::vector<uint8_t> got(256 * 1024), want(256 * 1024);
  size_t received = 0;
  bool same = true;
  while (received < total) {
    const size_t n = std::min(got.size(), total - received);
    if (!recv_exact(fd, got.data(), n, 30000)) break;
    expect.fill(want.data(), n);
    same = same && std::memcmp(got.data(), want.data(), n) == 0;
    received += n;
  }
  if (received < total) ::shutdown(fd, SHUT_RDWR);  // unblock the writer
  writer.join();
  return received == total && same;
}

UdpEcho::UdpEcho() {
  fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  thread = std::thread([this] {
    std::vector<char> buf(65536);
    while (!stop) {
      pollfd pf{fd, POLLIN, 0};
      if (::poll(&pf, 1, 50) <= 0) continue;
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n =
          ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) continue;
      received++;
      ::sendto(fd, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
}

UdpEcho::~UdpEcho() {
  stop = true;
  thread.join();
  ::close(fd);
}

SocksUdpAssociation::SocksUdpAssociation(uint16_t socks_port) {
  ctl = tcp_connect(socks_port);
  const uint8_t greet[] = {5, 1, 0};
  REQUIRE(send_all(ctl, greet, 3));
  uint8_t c[2];
  REQUIRE(recv_exact(ctl, c, 2));
  // DST.ADDR: where our datagrams will come from (port not known yet).
  const uint8_t req[] = {5, 3, 0, 1, 127, 0, 0, 1, 0, 0};
  REQUIRE(send_all(ctl, req, sizeof req));
  uint8_t rep[10];
  REQUIRE(recv_exact(ctl, rep, 10));
  REQUIRE(rep[1] == 0);
  REQUIRE(rep[3] == 1);
  relay.sin_family = AF_INET;
  std::memcpy(&relay.sin_addr, rep + 4, 4);
  std::memcpy(&relay.sin_port, rep + 8, 2);
  // A server bound to the wildcard may answer 0.0.0.0: its relay is local.
  if (relay.sin_addr.s_addr == 0) relay.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  u = ::socket(AF_INET, SOCK_DGRAM, 0);
}

SocksUdpAssociation::~SocksUdpAssociation() {
  ::close(u);
  ::close(ctl);
}

bool SocksUdpAssociation::send_to(uint16_t port, const void* payload, size_t n,
                                  std::vector<uint8_t>* sent) {
  std::vector<uint8_t> d = {
      0, 0, 0, 1, 127, 0, 0, 1, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  const auto* p = static_cast<const uint8_t*>(payload);
  d.insert(d.end(), p, p + n);
  const bool ok = ::sendto(u, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&relay),
                           sizeof relay) == static_cast<ssize_t>(d.size());
  if (sent) *sent = std::move(d);
  return ok;
}

bool SocksUdpAssociation::receive(uint16_t port, std::vector<uint8_t>* payload, int timeout_ms) {
  pollfd pf{u, POLLIN, 0};
  if (::poll(&pf, 1, timeout_ms) != 1) return false;
  std::vector<uint8_t> b(65536);
  const ssize_t n = ::recv(u, b.data(), b.size(), 0);
  // RSV RSV FRAG=0 ATYP=1 127.0.0.1 port
  if (n < 10 || b[2] != 0 || b[3] != 1 || b[4] != 127 || b[5] != 0 || b[6] != 0 || b[7] != 1 ||
      b[8] != (port >> 8) || b[9] != (port & 0xff))
    return false;
  payload->assign(b.begin() + 10, b.begin() + n);
  return true;
}

bool SocksUdpAssociation::round_trip(uint16_t port, const void* payload, size_t n, int attempts,
                                     int timeout_ms) {
  const auto* p = static_cast<const uint8_t*>(payload);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (!send_to(port, payload, n)) return false;
    std::vector<uint8_t> back;
    while (receive(port, &back, timeout_ms))
      if (back.size() == n && std::memcmp(back.data(), p, n) == 0) return true;
  }
  return false;
}

int udp_round_trips(uint16_t socks_port, uint16_t echo_port, int count, size_t max_payload,
                    std::string* why) {
  SocksUdpAssociation a(socks_port);
  for (int i = 0; i < count; ++i) {
    const size_t size =
        count > 1 ? 1 + (max_payload - 1) * static_cast<size_t>(i) / static_cast<size_t>(count - 1)
                  : max_payload;
    std::vector<uint8_t> payload(size);
    Pattern(static_cast<uint64_t>(i) + 1000).fill(payload.data(), payload.size());
    if (!a.round_trip(echo_port, payload.data(), payload.size(), 5, 1000)) {
      *why = "datagram #" + std::to_string(i) + " (" + std::to_string(size) +
             " bytes) did not come back intact";
      return i;
    }
  }
  return count;
}

std::string write_temp(const std::string& tag, const std::string& name, const std::string& text) {
  const std::string path = "/tmp/sluice_" + tag + "_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

Side::Side(const std::string& json) {
  ConfigDiagnostics diag;
  auto cfg = parse_config(json, &diag);
  INFO(diag.error);
  REQUIRE(cfg);
  engine = std::move(*Engine::create());
  std::string why;
  auto inst = Instance::create(*engine, *cfg, &why);
  INFO(why);
  REQUIRE(inst);
  instance = std::move(*inst);
  REQUIRE(engine->start());
}

Side::~Side() {
  REQUIRE(engine->stop());
  const EngineStats st = engine->stats();
  instance.reset();
  CHECK(st.objects == 0);
  CHECK(st.pool.chunks_outstanding == 0);
  engine.reset();
}

uint16_t Side::port(const char* tag) { return instance->inbound_port(tag); }

TrojanInboundStats Side::trojan_stats(const char* tag) {
  return on_loop(*engine, [this, tag] { return instance->trojan_inbound(tag)->stats(); });
}

VlessInboundStats Side::vless_stats(const char* tag) {
  return on_loop(*engine, [this, tag] { return instance->vless_inbound(tag)->stats(); });
}

}  // namespace sluice::test

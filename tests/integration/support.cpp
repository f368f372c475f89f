#include "support.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

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

}  // namespace sluice::test

// measure.cpp: paths, test servers and the measurements of measure.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "measure.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sluice::measure {

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool send_all(int fd, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n > 0) {
    ssize_t k = ::send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// recv_exact waits at most |timeout_ms| for each piece.
bool recv_exact(int fd, void* p, size_t n, int timeout_ms) {
  auto* b = static_cast<uint8_t*>(p);
  while (n > 0) {
    ssize_t k = ::recv(fd, b, n, MSG_DONTWAIT);
    if (k > 0) {
      b += k;
      n -= static_cast<size_t>(k);
      continue;
    }
    if (k == 0) return false;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd pf{fd, POLLIN, 0};
    int r = ::poll(&pf, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
  }
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// socks5_connect: no-auth greeting, then CONNECT; true on REP 0.
bool socks5_connect(int fd, const Target& t, std::string* error, int timeout_ms) {
  const uint8_t greet[] = {5, 1, 0};
  if (!send_all(fd, greet, sizeof greet)) return (*error = errno_text("socks5 greeting"), false);
  uint8_t choice[2];
  if (!recv_exact(fd, choice, 2, timeout_ms) || choice[0] != 5 || choice[1] != 0)
    return (*error = "socks5: no acceptable method (or closed)", false);
  uint8_t req[4 + 1 + 255 + 2] = {5, 1, 0};
  size_t n = 3;
  in_addr a4{};
  if (inet_pton(AF_INET, t.host.c_str(), &a4) == 1) {
    req[n++] = 1;
    std::memcpy(req + n, &a4, 4);
    n += 4;
  } else {
    if (t.host.empty() || t.host.size() > 255) return (*error = "socks5: bad host name", false);
    req[n++] = 3;
    req[n++] = static_cast<uint8_t>(t.host.size());
    std::memcpy(req + n, t.host.data(), t.host.size());
    n += t.host.size();
  }
  req[n++] = static_cast<uint8_t>(t.port >> 8);
  req[n++] = static_cast<uint8_t>(t.port);
  if (!send_all(fd, req, n)) return (*error = errno_text("socks5 request"), false);
  uint8_t rep[4];
  if (!recv_exact(fd, rep, 4, timeout_ms) || rep[0] != 5)
    return (*error = "socks5: no reply (closed or timed out)", false);
  if (rep[1] != 0)
    return (*error = "socks5: CONNECT refused, REP " + std::to_string(rep[1]), false);
  size_t rest = rep[3] == 1 ? 6 : rep[3] == 4 ? 18 : 0;
  if (rep[3] == 3) {
    uint8_t l = 0;
    if (!recv_exact(fd, &l, 1, timeout_ms)) return (*error = "socks5: short reply", false);
    rest = l + 2u;
  }
  uint8_t tail[262];
  if (rest == 0 || !recv_exact(fd, tail, rest, timeout_ms))
    return (*error = "socks5: short reply", false);
  return true;
}

// percentile: nearest-rank on sorted |v| (non-empty).
double percentile(const std::vector<double>& v, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  return v[std::min(rank, v.size()) - 1];
}

}  // namespace

int connect_path(const Path& p, const Target& t, std::string* error, int timeout_ms) {
  std::string scratch;
  if (!error) error = &scratch;
  const bool via_socks = p.socks_port != 0;
  const std::string& host = via_socks ? p.socks_host : t.host;
  uint16_t port = via_socks ? p.socks_port : t.port;
  if (!via_socks && !p.forwards.empty()) {
    auto f = std::find_if(p.forwards.begin(), p.forwards.end(),
                          [&](const auto& fw) { return fw.first == t.port; });
    if (f == p.forwards.end()) {
      *error = "the relay has no forward to port " + std::to_string(t.port);
      return -1;
    }
    port = f->second;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    *error = "not an IPv4 literal: " + host;
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno_text("socket");
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *error = errno_text("connect");
    ::close(fd);
    return -1;
  }
  set_nodelay(fd);
  if (via_socks && !socks5_connect(fd, t, error, timeout_ms)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// ---------------------------------------------------------------- inner TLS

namespace {

// tls_error: the first queued BoringSSL error (or errno), for messages.
std::string tls_error(const char* what, SSL* ssl, int rc) {
  const int e = ssl ? SSL_get_error(ssl, rc) : SSL_ERROR_SSL;
  const uint32_t q = ERR_get_error();
  ERR_clear_error();
  if (q != 0) return std::string(what) + ": " + ERR_reason_error_string(q);
  if (e == SSL_ERROR_SYSCALL) return errno == 0 ? std::string(what) + ": closed" : errno_text(what);
  if (e == SSL_ERROR_ZERO_RETURN) return std::string(what) + ": closed";
  return std::string(what) + ": SSL error " + std::to_string(e);
}

// client_ctx: TLS 1.3 only, no verification (the peer is our TestServer).
SSL_CTX* client_ctx() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_method());
    if (!c) return c;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return ctx;
}

// server_ctx: TLS 1.3 only, with a self-signed P-256 certificate made once
// per process. nullptr with |error| when BoringSSL refuses.
SSL_CTX* server_ctx(std::string* error) {
  static std::once_flag once;
  static SSL_CTX* ctx = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
    bssl::UniquePtr<X509> x(X509_new());
    bssl::UniquePtr<SSL_CTX> c(SSL_CTX_new(TLS_method()));
    X509_NAME* name = x ? X509_get_subject_name(x.get()) : nullptr;
    const auto* cn = reinterpret_cast<const uint8_t*>("measure.test");
    bool ok =
        ec && key && x && c && name && EC_KEY_generate_key(ec.get()) &&
        EVP_PKEY_set1_EC_KEY(key.get(), ec.get()) && X509_set_version(x.get(), X509_VERSION_3) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1) &&
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) &&
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 30L * 86400) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) &&
        X509_set_issuer_name(x.get(), name) && X509_set_pubkey(x.get(), key.get()) &&
        X509_sign(x.get(), key.get(), EVP_sha256()) && SSL_CTX_use_certificate(c.get(), x.get()) &&
        SSL_CTX_use_PrivateKey(c.get(), key.get()) &&
        SSL_CTX_set_min_proto_version(c.get(), TLS1_3_VERSION) &&
        SSL_CTX_set_max_proto_version(c.get(), TLS1_3_VERSION);
    if (!ok) {
      failure = tls_error("test server certificate", nullptr, 0);
      return;
    }
    SSL_CTX_set_mode(c.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ctx = c.release();
  });
  if (!ctx && error) *error = failure;
  return ctx;
}

// Stream: one measuring connection, plain or inner TLS. Plain streams use
// the socket as before (send/recv, poll for timeouts); TLS streams are
// blocking SSL objects whose waits SO_RCVTIMEO/SO_SNDTIMEO bound.
class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { close(); }

  // open connects through |p| and, for inner TLS, completes the handshake.
  bool open(const Path& p, const Target& t, std::string* error, int timeout_ms = 10000) {
    if (p.inner_tls != t.tls) {
      *error = p.inner_tls ? "inner TLS path, but the target does not speak TLS"
                           : "the target speaks TLS, but the path is not inner TLS";
      return false;
    }
    fd_ = connect_path(p, t, error, timeout_ms);
    if (fd_ < 0) return false;
    if (!p.inner_tls) return true;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    SSL_CTX* ctx = client_ctx();
    ssl_ = ctx ? SSL_new(ctx) : nullptr;
    if (!ssl_ || !SSL_set_fd(ssl_, fd_)) {
      *error = tls_error("SSL_new", nullptr, 0);
      return false;
    }
    SSL_set_connect_state(ssl_);
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      *error = tls_error("inner TLS handshake", ssl_, rc);
      return false;
    }
    return true;
  }

  int fd() const noexcept { return fd_; }
  SSL* ssl() const noexcept { return ssl_; }

  bool write_all(const void* p, size_t n) {
    if (!ssl_) return send_all(fd_, p, n);
    // Blocking SSL_write without partial writes sends all of |n| or fails.
    return n == 0 || SSL_write(ssl_, p, static_cast<int>(n)) == static_cast<int>(n);
  }
  // read_some: one blocking read, > 0 bytes, or <= 0 on EOF / failure.
  ssize_t read_some(void* p, size_t n) {
    if (!ssl_) {
      ssize_t k;
      do k = ::recv(fd_, p, n, 0);
      while (k < 0 && errno == EINTR);
      return k;
    }
    return SSL_read(ssl_, p, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
  }
  // write_some: one blocking write of up to |n| bytes.
  ssize_t write_some(const void* p, size_t n) {
    if (!ssl_) {
      ssize_t k;
      do k = ::send(fd_, p, n, MSG_NOSIGNAL);
      while (k < 0 && errno == EINTR);
      return k;
    }
    return SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
  }
  bool read_exact(void* p, size_t n, int timeout_ms) {
    if (!ssl_) return recv_exact(fd_, p, n, timeout_ms);
    auto* b = static_cast<uint8_t*>(p);
    while (n > 0) {  // SO_RCVTIMEO (set in open) bounds each read
      const int k = SSL_read(ssl_, b, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
      if (k <= 0) return false;
      b += k;
      n -= static_cast<size_t>(k);
    }
    return true;
  }

  // release hands the connection over (to an IdleSet): the fd, and the SSL
  // object (nullptr when plain) owned by |tls|.
  int release(std::shared_ptr<void>* tls) {
    if (ssl_) *tls = std::shared_ptr<void>(ssl_, [](void* s) { SSL_free(static_cast<SSL*>(s)); });
    ssl_ = nullptr;
    return std::exchange(fd_, -1);
  }

  void close() noexcept {
    if (ssl_) SSL_free(ssl_);  // no close_notify: the socket simply closes
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::string tls_cipher(std::string* error) {
  std::string scratch;
  if (!error) error = &scratch;
  auto echo = TestServer::start(TestServer::Mode::echo, error, true);
  if (!echo) return "";
  Stream s;
  if (!s.open(Path::direct_tls(), echo->target(), error)) return "";
  const SSL_CIPHER* c = SSL_get_current_cipher(s.ssl());
  return c ? SSL_CIPHER_standard_name(c) : "";
}

// ---------------------------------------------------------------- TestServer

namespace {

struct Conn {
  int fd = -1;
  std::vector<char> pending;  // echo: bytes read but not yet written back
  size_t pending_off = 0;
  bool decided = false;  // sink: first byte seen
  bool source = false;   // sink: the peer asked for a download
  SSL* ssl = nullptr;    // TLS servers only
  uint32_t watching = EPOLLIN;
};

constexpr size_t kIoSize = 256 * 1024;
// kTlsBurst bounds the records one TLS connection handles per event, so a
// fast peer cannot starve the others (level-triggered epoll comes back).
constexpr int kTlsBurst = 16;

}  // namespace

std::unique_ptr<TestServer> TestServer::start(Mode m, std::string* error, bool tls) {
  if (tls && !server_ctx(error)) return nullptr;
  std::unique_ptr<TestServer> s(new TestServer());
  s->mode_ = m;
  s->tls_ = tls;
  auto fail = [&](const char* what) -> std::unique_ptr<TestServer> {
    if (error) *error = errno_text(what);
    return nullptr;  // the destructor closes what was opened
  };
  s->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return fail("socket");
  int one = 1;
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  if (::listen(s->listen_fd_, 4096) != 0) return fail("listen");
  socklen_t len = sizeof a;
  if (::getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return fail("getsockname");
  s->port_ = ntohs(a.sin_port);
  s->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (s->epoll_fd_ < 0) return fail("epoll_create1");
  s->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd_ < 0) return fail("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s->listen_fd_;
  if (::epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->listen_fd_, &ev) != 0) return fail("epoll_ctl");
  ev.data.fd = s->wake_fd_;
  if (::epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->wake_fd_, &ev) != 0) return fail("epoll_ctl");
  TestServer* raw = s.get();
  s->thread_ = std::thread([raw] { raw->run(); });
  return s;
}

TestServer::~TestServer() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_})
    if (fd >= 0) ::close(fd);
}

void TestServer::run() noexcept {
  std::unordered_map<int, Conn> conns;
  std::vector<char> buf(kIoSize);
  const std::vector<char> zeros(kIoSize, 0);
  std::vector<epoll_event> events(256);

  auto watch = [&](Conn& c, uint32_t what) {
    epoll_event ev{};
    ev.events = what;
    ev.data.fd = c.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  };
  auto drop = [&](int fd) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    if (auto it = conns.find(fd); it != conns.end() && it->second.ssl) SSL_free(it->second.ssl);
    ::close(fd);
    conns.erase(fd);
    conns_.fetch_sub(1, std::memory_order_relaxed);
  };
  // flush: write back pending echo bytes; false when the connection failed.
  auto flush = [&](Conn& c) {
    while (c.pending_off < c.pending.size()) {
      ssize_t k = ::send(c.fd, c.pending.data() + c.pending_off, c.pending.size() - c.pending_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) {
        c.pending_off += static_cast<size_t>(k);
        sent_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      return false;
    }
    c.pending.clear();
    c.pending_off = 0;
    return true;
  };
  // TLS connections: |tls_watch| changes the epoll set only when needed;
  // |tls_pump| advances the handshake, the echo or the sink as far as the
  // socket allows, and returns false when the connection is finished.
  auto tls_watch = [&](Conn& c, uint32_t what) {
    if (c.watching == what) return;
    c.watching = what;
    watch(c, what);
  };
  // tls_blocked: after a failed SSL call, true (and the right events
  // watched) when it only has to wait for the socket.
  auto tls_blocked = [&](Conn& c, int rc) {
    const int e = SSL_get_error(c.ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
      tls_watch(c, c.source ? EPOLLIN | EPOLLOUT : EPOLLIN);
      return true;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      tls_watch(c, EPOLLIN | EPOLLOUT);
      return true;
    }
    ERR_clear_error();
    return false;
  };
  auto tls_pump = [&](Conn& c) {
    if (!SSL_is_init_finished(c.ssl)) {
      const int rc = SSL_do_handshake(c.ssl);
      if (rc != 1) return tls_blocked(c, rc);
    }
    for (int i = 0; i < kTlsBurst; ++i) {
      if (c.source) {  // download: zeros until the peer goes away
        const int k = SSL_write(c.ssl, zeros.data(), static_cast<int>(zeros.size()));
        if (k <= 0) return tls_blocked(c, k);
        sent_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
        continue;
      }
      while (c.pending_off < c.pending.size()) {  // echo: write back first
        const int k = SSL_write(c.ssl, c.pending.data() + c.pending_off,
                                static_cast<int>(c.pending.size() - c.pending_off));
        if (k <= 0) return tls_blocked(c, k);
        c.pending_off += static_cast<size_t>(k);
        sent_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
      }
      c.pending.clear();
      c.pending_off = 0;
      const int k = SSL_read(c.ssl, buf.data(), static_cast<int>(buf.size()));
      if (k <= 0) return tls_blocked(c, k);
      received_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
      if (mode_ == Mode::echo) {
        c.pending.assign(buf.data(), buf.data() + k);
      } else if (!c.decided) {
        c.decided = true;
        c.source = buf[0] == 'D';
      }
    }
    // The burst ended with work left: make sure epoll reports the socket
    // again (writable for the source or a pending echo, else readable).
    tls_watch(c, c.source || !c.pending.empty() ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return true;
  };

  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      const uint32_t ev = events[i].events;
      if (fd == wake_fd_) {
        stop = true;
        continue;
      }
      if (fd == listen_fd_) {
        for (;;) {
          int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;  // EAGAIN, or EMFILE: the client's connect reports it
          set_nodelay(cfd);
          Conn c;
          c.fd = cfd;
          if (tls_) {
            c.ssl = SSL_new(server_ctx(nullptr));
            if (!c.ssl || !SSL_set_fd(c.ssl, cfd)) {
              if (c.ssl) SSL_free(c.ssl);
              ERR_clear_error();
              ::close(cfd);
              continue;
            }
            SSL_set_accept_state(c.ssl);
          }
          conns.emplace(cfd, std::move(c));
          conns_.fetch_add(1, std::memory_order_relaxed);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = it->second;
      bool dead = false;
      if (c.ssl) {
        if (!tls_pump(c)) drop(fd);
        continue;
      }

      if (ev & EPOLLOUT) {
        if (c.source) {
          ssize_t k = ::send(fd, zeros.data(), zeros.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          if (k > 0)
            sent_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
          else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            dead = true;
        } else {
          if (!flush(c))
            dead = true;
          else if (c.pending.empty())
            watch(c, EPOLLIN);  // resume reading
        }
      }
      if (!dead && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        // Echo reads only while nothing is pending (backpressure).
        if (mode_ == Mode::echo && !c.pending.empty()) {
          if (ev & (EPOLLHUP | EPOLLERR)) dead = true;
        } else {
          ssize_t k = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
          if (k > 0) {
            received_.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
            if (mode_ == Mode::echo) {
              c.pending.assign(buf.data(), buf.data() + k);
              c.pending_off = 0;
              if (!flush(c))
                dead = true;
              else if (!c.pending.empty())
                watch(c, EPOLLOUT);
            } else if (!c.decided) {
              c.decided = true;
              if (buf[0] == 'D') {
                c.source = true;
                watch(c, EPOLLIN | EPOLLOUT);
              }
            }
          } else if (k == 0) {
            dead = true;  // EOF: this server never half-closes
          } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            dead = true;
          }
        }
      }
      if (dead) drop(fd);
    }
    if (stop) break;
  }
  for (auto& [fd, c] : conns) {
    if (c.ssl) SSL_free(c.ssl);
    ::close(fd);
  }
  conns_.store(0, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- bulk

BulkResult measure_bulk(const Path& p, TestServer& sink, Direction d, double seconds,
                        double warmup_s, const WindowHook& hook) {
  BulkResult r;
  if (sink.mode() != TestServer::Mode::sink) {
    r.error = "measure_bulk needs a sink server";
    return r;
  }
  Stream st;
  if (!st.open(p, sink.target(), &r.error)) return r;
  const int fd = st.fd();
  const char cmd = d == Direction::download ? 'D' : 'U';
  if (!st.write_all(&cmd, 1)) {
    r.error = errno_text("send");
    return r;
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> got{0};  // download: bytes the client received
  std::thread worker([&] {
    std::vector<char> buf(kIoSize, 'u');
    while (!stop.load(std::memory_order_relaxed)) {
      if (d == Direction::upload) {
        ssize_t k = st.write_some(buf.data(), buf.size());
        if (k <= 0) {
          if (!stop.load()) failed = true;
          return;
        }
      } else {
        ssize_t k = st.read_some(buf.data(), buf.size());
        if (k <= 0) {
          if (!stop.load()) failed = true;
          return;
        }
        got.fetch_add(static_cast<uint64_t>(k), std::memory_order_relaxed);
      }
    }
  });
  auto count = [&] {
    return d == Direction::upload ? sink.bytes_received() : got.load(std::memory_order_relaxed);
  };
  // Pace: warm up (slow start, pool growth), then the timed window.
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s));
  if (hook) hook(true);
  const uint64_t c0 = count();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t c1 = count();
  const auto t1 = Clock::now();
  if (hook) hook(false);
  stop = true;
  ::shutdown(fd, SHUT_RDWR);  // unblocks the worker's send/recv
  worker.join();
  st.close();
  r.bytes = c1 - c0;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.bytes_per_s = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds : 0;
  if (failed)
    r.error = "the stream failed during the run";
  else if (r.bytes == 0)
    r.error = "no bytes arrived in the window";
  r.ok = !failed && r.bytes > 0;
  return r;
}

// ---------------------------------------------------------------- latency

LatencyResult measure_rtt(const Path& p, const Target& echo, int round_trips, int warmup,
                          size_t payload) {
  LatencyResult r;
  Stream st;
  if (!st.open(p, echo, &r.error)) return r;
  std::vector<char> out(payload, 'p'), in(payload);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(round_trips));
  for (int i = 0; i < warmup + round_trips; ++i) {
    const auto t0 = Clock::now();
    if (!st.write_all(out.data(), out.size()) || !st.read_exact(in.data(), in.size(), 10000)) {
      r.error = "round trip " + std::to_string(i) + " failed";
      return r;
    }
    const auto t1 = Clock::now();
    if (i >= warmup) us.push_back(us_since(t0, t1));
  }
  st.close();
  r.samples = static_cast<int>(us.size());
  if (us.empty()) {
    r.error = "no samples";
    return r;
  }
  double sum = 0;
  for (double x : us) sum += x;
  r.mean_us = sum / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  r.p50_us = percentile(us, 0.50);
  r.p95_us = percentile(us, 0.95);
  r.p99_us = percentile(us, 0.99);
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- setup

namespace {
// one_round_trip: send one byte and wait for it to come back.
bool one_round_trip(Stream& st, std::string* error) {
  const char b = 'x';
  char back = 0;
  if (!st.write_all(&b, 1)) return (*error = errno_text("send"), false);
  if (!st.read_exact(&back, 1, 10000) || back != b) return (*error = "no echo within 10 s", false);
  return true;
}
}  // namespace

SetupResult measure_setup(const Path& p, const Target& echo, int connections, int warmup) {
  SetupResult r;
  std::vector<double> us;
  for (int i = 0; i < warmup + connections; ++i) {
    const bool timed = i >= warmup;
    if (timed) ++r.attempts;
    std::string err;
    const auto t0 = Clock::now();
    Stream st;
    bool ok = st.open(p, echo, &err) && one_round_trip(st, &err);
    const auto t1 = Clock::now();
    st.close();
    if (!ok) {
      if (r.first_error.empty()) r.first_error = err;
      continue;
    }
    if (timed) {
      ++r.succeeded;
      us.push_back(us_since(t0, t1));
    }
  }
  if (!us.empty()) {
    std::sort(us.begin(), us.end());
    r.median_us = percentile(us, 0.50);
    r.p95_us = percentile(us, 0.95);
  }
  return r;
}

// ---------------------------------------------------------------- idle

void IdleSet::close_all() noexcept {
  tls.clear();  // SSL objects first: they point at the fds
  for (int fd : fds) ::close(fd);
  fds.clear();
}

void open_idle(const Path& p, const Target& echo, int n, IdleSet& out) {
  out.fds.reserve(out.fds.size() + static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ++out.attempts;
    std::string err;
    Stream st;
    if (st.open(p, echo, &err) && one_round_trip(st, &err)) {
      std::shared_ptr<void> tls;
      out.fds.push_back(st.release(&tls));
      if (tls) out.tls.push_back(std::move(tls));
      continue;
    }
    if (out.first_error.empty()) out.first_error = err;
  }
}

// ---------------------------------------------------------------- /proc

ProcStats read_proc(pid_t pid) {
  ProcStats s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  std::string line;
  bool have_rss = false;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      s.rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
      have_rss = true;
      break;
    }
  }
  std::ifstream statf(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(statf)), std::istreambuf_iterator<char>());
  const size_t close_paren = stat.rfind(')');
  if (!have_rss || close_paren == std::string::npos) return s;
  // After "pid (comm)": field 3 (state) ... field 14 utime, field 15 stime.
  std::istringstream rest(stat.substr(close_paren + 1));
  std::string tok;
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && (rest >> tok); ++field) {
    if (field == 14) utime = std::strtoull(tok.c_str(), nullptr, 10);
    if (field == 15) stime = std::strtoull(tok.c_str(), nullptr, 10);
  }
  const long hz = ::sysconf(_SC_CLK_TCK);
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
  s.ok = true;
  return s;
}

uint64_t raise_fd_limit(uint64_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  rlim_t target = static_cast<rlim_t>(want);
  if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) target = rl.rlim_max;
  if (rl.rlim_cur < target) {
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<uint64_t>(rl.rlim_cur);
}

// ---------------------------------------------------------------- results

bool PathResult::ok() const noexcept { return problems().empty(); }

std::string PathResult::problems() const {
  std::string p;
  auto add = [&](const std::string& s) { p += (p.empty() ? "" : "; ") + s; };
  if (!up.ok) add("upload: " + up.error);
  if (!down.ok) add("download: " + down.error);
  if (!rtt.ok) add("rtt: " + rtt.error);
  if (setup.attempts == 0 || setup.succeeded != setup.attempts)
    add("setup: " + std::to_string(setup.succeeded) + "/" + std::to_string(setup.attempts) +
        " connections (" + setup.first_error + ")");
  if (idle_succeeded != idle_attempts)
    add("idle: " + std::to_string(idle_succeeded) + "/" + std::to_string(idle_attempts) +
        " connections");
  return p;
}

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// cell: |v| printed with |f|, or "-" when not applicable (negative).
std::string cell(const char* f, double v) { return v < 0 ? std::string("-") : fmt(f, v); }

std::string pad(const std::string& s, size_t w, bool left = false) {
  if (s.size() >= w) return s;
  return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}

double ratio(const BulkResult& r, const PathResult* base, bool up) {
  if (!base) return -1;
  const double b = up ? base->up.bytes_per_s : base->down.bytes_per_s;
  return b > 0 ? r.bytes_per_s / b : -1;
}

constexpr size_t kNameWidth = 28;

}  // namespace

std::string json_quote(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\')
      o += '\\', o += ch;
    else if (static_cast<unsigned char>(ch) < 0x20)
      o += fmt("\\u%04x", static_cast<unsigned char>(ch));
    else
      o += ch;
  }
  return o + "\"";
}

namespace {

std::string json_number(double v, const char* f = "%.3f") {
  return v < 0 || !std::isfinite(v) ? std::string("null") : fmt(f, v);
}

}  // namespace

std::string format_header() {
  std::string h1 = pad("", kNameWidth, true) + " |   upload MB/s   |  download MB/s   |" +
                   "    RTT 64 B (us)     |  setup (us)   | RSS KiB/idle conn | CPU s/GB";
  std::string h2 = pad("path", kNameWidth, true) + " |    MB/s  x dir. |    MB/s  x dir.  |" +
                   "    P50    P95    P99 | median    P95 |  client   server  | proxy  ends";
  return h1 + "\n" + h2 + "\n" + std::string(h2.size() + 2, '-');
}

std::string format_row(const PathResult& r, const PathResult* baseline) {
  std::string s = pad(r.name, kNameWidth, true) + " | ";
  s += pad(fmt("%.0f", r.up.bytes_per_s / 1e6), 7) + " " +
       pad(cell("%.2f", ratio(r.up, baseline, true)), 7) + " | ";
  s += pad(fmt("%.0f", r.down.bytes_per_s / 1e6), 7) + " " +
       pad(cell("%.2f", ratio(r.down, baseline, false)), 7) + "  | ";
  s += pad(fmt("%.1f", r.rtt.p50_us), 6) + " " + pad(fmt("%.1f", r.rtt.p95_us), 6) + " " +
       pad(fmt("%.1f", r.rtt.p99_us), 6) + " | ";
  s += pad(fmt("%.0f", r.setup.median_us), 6) + " " + pad(fmt("%.0f", r.setup.p95_us), 6) + " | ";
  s += pad(cell("%.2f", r.rss_kib_per_conn_client), 7) + " " +
       pad(cell("%.2f", r.rss_kib_per_conn_server), 7) + "   | ";
  s += pad(cell("%.2f", r.cpu_s_per_gb), 5) + " " + pad(cell("%.2f", r.ends_cpu_s_per_gb), 5);
  if (!r.ok()) s += "   FAILED: " + r.problems();
  return s;
}

std::string to_json(const PathResult& r, const PathResult* baseline) {
  std::string j = "{";
  j += "\"path\": " + json_quote(r.name);
  j += ", \"ok\": " + std::string(r.ok() ? "true" : "false");
  if (!r.ok()) j += ", \"problems\": " + json_quote(r.problems());
  j += ", \"upload_bytes_per_s\": " + json_number(r.up.bytes_per_s, "%.0f");
  j += ", \"upload_ratio\": " + json_number(ratio(r.up, baseline, true), "%.4f");
  j += ", \"download_bytes_per_s\": " + json_number(r.down.bytes_per_s, "%.0f");
  j += ", \"download_ratio\": " + json_number(ratio(r.down, baseline, false), "%.4f");
  j += ", \"rtt_us\": {\"p50\": " + json_number(r.rtt.p50_us, "%.2f") +
       ", \"p95\": " + json_number(r.rtt.p95_us, "%.2f") +
       ", \"p99\": " + json_number(r.rtt.p99_us, "%.2f") +
       ", \"mean\": " + json_number(r.rtt.mean_us, "%.2f") +
       ", \"samples\": " + std::to_string(r.rtt.samples) + "}";
  j += ", \"setup_us\": {\"median\": " + json_number(r.setup.median_us, "%.1f") +
       ", \"p95\": " + json_number(r.setup.p95_us, "%.1f") +
       ", \"attempts\": " + std::to_string(r.setup.attempts) +
       ", \"succeeded\": " + std::to_string(r.setup.succeeded) + "}";
  j += ", \"rss_kib_per_idle_conn\": {\"client\": " + json_number(r.rss_kib_per_conn_client) +
       ", \"server\": " + json_number(r.rss_kib_per_conn_server) +
       ", \"attempts\": " + std::to_string(r.idle_attempts) +
       ", \"succeeded\": " + std::to_string(r.idle_succeeded) + "}";
  j += ", \"cpu_s_per_gb\": " + json_number(r.cpu_s_per_gb);
  j += ", \"ends_cpu_s_per_gb\": " + json_number(r.ends_cpu_s_per_gb);
  j += "}";
  return j;
}

}  // namespace sluice::measure

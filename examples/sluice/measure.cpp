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
#include <sstream>
#include <unordered_map>

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
  const uint16_t port = via_socks ? p.socks_port : t.port;
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

// ---------------------------------------------------------------- TestServer

namespace {

struct Conn {
  int fd = -1;
  std::vector<char> pending;  // echo: bytes read but not yet written back
  size_t pending_off = 0;
  bool decided = false;  // sink: first byte seen
  bool source = false;   // sink: the peer asked for a download
};

constexpr size_t kIoSize = 256 * 1024;

}  // namespace

std::unique_ptr<TestServer> TestServer::start(Mode m, std::string* error) {
  std::unique_ptr<TestServer> s(new TestServer());
  s->mode_ = m;
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
  for (auto& [fd, c] : conns) ::close(fd);
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
  int fd = connect_path(p, sink.target(), &r.error);
  if (fd < 0) return r;
  const char cmd = d == Direction::download ? 'D' : 'U';
  if (!send_all(fd, &cmd, 1)) {
    r.error = errno_text("send");
    ::close(fd);
    return r;
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> got{0};  // download: bytes the client received
  std::thread worker([&] {
    std::vector<char> buf(kIoSize, 'u');
    while (!stop.load(std::memory_order_relaxed)) {
      if (d == Direction::upload) {
        ssize_t k = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
          if (!stop.load()) failed = true;
          return;
        }
      } else {
        ssize_t k = ::recv(fd, buf.data(), buf.size(), 0);
        if (k < 0 && errno == EINTR) continue;
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
  ::close(fd);
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
  int fd = connect_path(p, echo, &r.error);
  if (fd < 0) return r;
  std::vector<char> out(payload, 'p'), in(payload);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(round_trips));
  for (int i = 0; i < warmup + round_trips; ++i) {
    const auto t0 = Clock::now();
    if (!send_all(fd, out.data(), out.size()) || !recv_exact(fd, in.data(), in.size(), 10000)) {
      r.error = "round trip " + std::to_string(i) + " failed";
      ::close(fd);
      return r;
    }
    const auto t1 = Clock::now();
    if (i >= warmup) us.push_back(us_since(t0, t1));
  }
  ::close(fd);
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
bool one_round_trip(int fd, std::string* error) {
  const char b = 'x';
  char back = 0;
  if (!send_all(fd, &b, 1)) return (*error = errno_text("send"), false);
  if (!recv_exact(fd, &back, 1, 10000) || back != b) return (*error = "no echo within 10 s", false);
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
    int fd = connect_path(p, echo, &err);
    bool ok = fd >= 0 && one_round_trip(fd, &err);
    const auto t1 = Clock::now();
    if (fd >= 0) ::close(fd);
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
  for (int fd : fds) ::close(fd);
  fds.clear();
}

void open_idle(const Path& p, const Target& echo, int n, IdleSet& out) {
  out.fds.reserve(out.fds.size() + static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ++out.attempts;
    std::string err;
    int fd = connect_path(p, echo, &err);
    if (fd >= 0 && one_round_trip(fd, &err)) {
      out.fds.push_back(fd);
      continue;
    }
    if (fd >= 0) ::close(fd);
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

constexpr size_t kNameWidth = 26;

std::string json_string(const std::string& s) {
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
  j += "\"path\": " + json_string(r.name);
  j += ", \"ok\": " + std::string(r.ok() ? "true" : "false");
  if (!r.ok()) j += ", \"problems\": " + json_string(r.problems());
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

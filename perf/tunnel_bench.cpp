// tunnel_bench: end-to-end throughput, latency, setup time, memory and CPU of
// sluice paths, each row measured in the same run as a direct-TCP baseline.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The bench process holds the clients and the test servers
// (examples/sluice/measure.hpp: plain sockets and epoll threads). Every
// sluice instance runs in a child process (this binary re-executed with
// --serve), so the child's VmRSS and utime+stime are the proxy's alone.
//
// A row is a RowDef: an optional server side (terminates the protocol, goes
// direct) and a client side (a SOCKS5 inbound whose outbound is the protocol
// client, pointed at the server side's port). Each side is one small function
// that builds its objects on an Engine and returns the port it listens on;
// the bench points the measuring client at the client side's SOCKS5 port.
// Adding a protocol = a perf/<proto>_rows.cpp with its RowDefs (tunnel_rows.hpp)
// and one line in all_rows().
//
// Inner TLS: a row with inner_tls has the measuring client run TLS 1.3 to
// TLS test servers through the path (measure.hpp), and its throughput is
// also given as a ratio of the "direct TLS" baseline row (inner TLS, no
// proxy), which runs whenever an inner-TLS row does. A side may leave a
// report (Keep::report): the child prints it when told to stop and the
// bench shows it under the table, failing the row on a problem.
//
// Peer rows (perf/peer_rows.hpp): trojan-gfw, v2ray and a socat relay run
// as external processes by the same harness, their windows interleaved with
// sluice's; each sluice row that has a peer is also given as a ratio of it.
// They are off in --quick unless named in --rows.
//
// Allocations: every child (sluice sides and the C-heap peers) runs with
// perf/alloc_count.c preloaded, which counts malloc-family calls into a
// file per process; the bench reads the counters at the start and end of
// each bulk window, so the column is allocations per 10^9 bytes moved in
// the steady state of a transfer. Read/write system calls per 10^9 bytes
// come from /proc/<pid>/io (syscr + syscw) over the same windows.
//
//   tunnel_bench [--seconds N] [--rounds N] [--quick] [--json] [--idle N] [--rows id,id]
//   tunnel_bench --serve <row-id> <client|server> <upstream-port>   (internal)
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_material.hpp"
#include "hysteria1_rows.hpp"
#include "hysteria2_rows.hpp"
#include "inbound/proxy_inbound.hpp"
#include "inbound/router.hpp"
#include "measure.hpp"
#include "ngtcp2_reference.hpp"
#include "peer_rows.hpp"
#include "quic_rows.hpp"
#include "reality_rows.hpp"
#include "session/direct_session.hpp"
#include "sluice/engine.hpp"
#include "ssh_rows.hpp"
#include "transport/tls_transport.hpp"
#include "trojan_rows.hpp"
#include "tuic_rows.hpp"
#include "tunnel_rows.hpp"
#include "vless_rows.hpp"

extern char** environ;

namespace {

using namespace sluice;
namespace m = sluice::measure;
using perf::Keep;
using perf::RowDef;
using perf::SideFn;
using perf::socks_front;

// ------------------------------------------------------------------ rows

}  // namespace

// socks_front puts a no-auth SOCKS5 inbound on 127.0.0.1 in front of
// |outbound| (the protocol client, or direct) and returns its port.
Result<uint16_t> sluice::perf::socks_front(Engine& e, std::unique_ptr<Session> outbound, Keep& keep,
                                           std::string* reason) {
  Session* s = keep.add(std::move(outbound));
  FinalRouter* router = keep.add(std::make_unique<FinalRouter>(s));
  ProxyInboundOptions o;
  o.kind = ProxyKind::socks;
  o.tag = "socks-in";
  o.udp = false;
  auto in = ProxyInbound::create(e, o, router, reason);
  if (!in) return in.error();
  return keep.add(std::move(*in))->port();
}

namespace {

// Row "SOCKS5 inbound -> direct": one instance, no tunnel.
Result<uint16_t> socks_direct_client(Engine& e, uint16_t, Keep& keep, std::string* reason) {
  return socks_front(e, std::make_unique<DirectSession>(e, "direct", net::DialOptions{}), keep,
                     reason);
}

const RowDef kBaseRows[] = {
    {"direct-tls", "direct TLS", nullptr, nullptr, true},  // the inner-TLS baseline
    {"socks-direct", "SOCKS5 inbound -> direct", nullptr, socks_direct_client},
};

// all_rows: every row, in table order; each protocol's rows come from its
// own file (perf/<proto>_rows.cpp).
const std::vector<RowDef>& all_rows() {
  static const std::vector<RowDef> rows = [] {
    std::vector<RowDef> v(std::begin(kBaseRows), std::end(kBaseRows));
    for (const auto& r : perf::trojan_rows()) v.push_back(r);
    for (const auto& r : perf::vless_rows()) v.push_back(r);
    for (const auto& r : perf::reality_rows()) v.push_back(r);
    for (const auto& r : perf::quic_rows()) v.push_back(r);
    for (const auto& r : perf::ssh_rows()) v.push_back(r);
    for (const auto& r : perf::tuic_rows()) v.push_back(r);
    for (const auto& r : perf::hysteria2_rows()) v.push_back(r);
    for (const auto& r : perf::hysteria1_rows()) v.push_back(r);
    return v;
  }();
  return rows;
}

// on_quic: a row over lib/quic (raw QUIC, Hysteria v2), compared with the
// ngtcp2 reference pair.
bool on_quic(std::string_view id) { return id.starts_with("quic") || id.starts_with("hy2"); }

const RowDef* find_row(std::string_view id) {
  for (const auto& r : all_rows())
    if (id == r.id) return &r;
  return nullptr;
}

// ------------------------------------------------------------------ allocations

// Counting: perf/alloc_count.c (libsluice_alloc_count.so next to this
// binary), preloaded into every child when available. Not under ASan, whose
// runtime must come first in the preload order.
struct Counting {
  std::string shim;  // the shim's path; "" = not counting
  std::string dir;   // where the children's counter files appear
  std::string why_not;
};
Counting g_counting;

void init_counting() {
#if defined(__SANITIZE_ADDRESS__)
  g_counting.why_not = "an ASan build (the shim cannot precede the ASan runtime)";
  return;
#else
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    g_counting.why_not = "/proc/self/exe unreadable";
    return;
  }
  std::string shim(exe, static_cast<size_t>(n));
  shim = shim.substr(0, shim.rfind('/') + 1) + "libsluice_alloc_count.so";
  if (::access(shim.c_str(), R_OK) != 0) {
    g_counting.why_not = shim + " not found";
    return;
  }
  char dir[] = "/tmp/tunnel_bench_allocs_XXXXXX";
  if (!::mkdtemp(dir)) {
    g_counting.why_not = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  g_counting.shim = shim;
  g_counting.dir = dir;
#endif
}

void remove_dir(const std::string& dir) {
  if (dir.empty()) return;
  // Only the files this run's children made; no subfolders.
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* de = ::readdir(d))
      if (de->d_name[0] != '.') ::unlink((dir + "/" + de->d_name).c_str());
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

// child_env: this process's environment, plus the counting shim (after
// anything already in LD_PRELOAD) when |count| and counting is on.
std::vector<std::string> child_env(bool count) {
  const bool shim = count && !g_counting.shim.empty();
  std::vector<std::string> env;
  std::string preload;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (shim && v.starts_with("LD_PRELOAD=")) {
      preload = std::string(v.substr(11)) + ":";
      continue;
    }
    if (v.starts_with("SLUICE_ALLOC_COUNT_DIR=")) continue;
    env.emplace_back(v);
  }
  if (shim) {
    env.push_back("LD_PRELOAD=" + preload + g_counting.shim);
    env.push_back("SLUICE_ALLOC_COUNT_DIR=" + g_counting.dir);
  }
  return env;
}

// AllocCounter maps one process's counter file (read only) once it exists.
class AllocCounter {
 public:
  explicit AllocCounter(pid_t pid) : path_(g_counting.dir + "/" + std::to_string(pid)) {}
  AllocCounter(const AllocCounter&) = delete;
  AllocCounter& operator=(const AllocCounter&) = delete;
  ~AllocCounter() {
    if (map_) ::munmap(map_, kSize);
  }
  // allocs: the process's allocation count so far; false when it has no
  // counter file (not counting, or an allocator the shim does not see).
  bool allocs(uint64_t* out) {
    if (!map_ && !g_counting.dir.empty()) {
      const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return false;
      void* m = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0);
      ::close(fd);
      if (m == MAP_FAILED) return false;
      map_ = static_cast<uint64_t*>(m);
    }
    if (!map_) return false;
    *out = __atomic_load_n(&map_[0], __ATOMIC_RELAXED);
    return true;
  }
  // calls: the process's data-moving system calls (read/write/recv/send
  // families and splice) and event-loop wake-ups (epoll_wait and kin) so
  // far, made through the C library; false as for allocs().
  bool calls(uint64_t* io, uint64_t* wakeups) {
    uint64_t a = 0;
    if (!allocs(&a)) return false;
    *io = __atomic_load_n(&map_[2], __ATOMIC_RELAXED);
    *wakeups = __atomic_load_n(&map_[3], __ATOMIC_RELAXED);
    return true;
  }

 private:
  static constexpr size_t kSize = 4 * sizeof(uint64_t);  // allocs, frees, I/O calls, wake-ups
  std::string path_;
  uint64_t* map_ = nullptr;
};

// ------------------------------------------------------------------ child

// serve runs one side until stdin reaches EOF (the bench closed its pipe or
// died), printing "PORT <n>" once listening and, once stopped, the side's
// report as "REPORT <line>" and "PROBLEM <text>" lines.
int serve(const RowDef& row, bool server_side, uint16_t upstream) {
  m::raise_fd_limit(20000);
  SideFn fn = server_side ? row.server : row.client;
  if (!fn) {
    std::fprintf(stderr, "serve: row %s has no %s side\n", row.id,
                 server_side ? "server" : "client");
    return 2;
  }
  auto e = Engine::create();
  if (!e) {
    std::fprintf(stderr, "serve: Engine::create failed\n");
    return 2;
  }
  Keep keep;
  std::string reason;
  auto port = fn(**e, upstream, keep, &reason);
  if (!port) {
    std::fprintf(stderr, "serve %s: %s\n", row.id, reason.c_str());
    return 2;
  }
  if (!(*e)->start()) {
    std::fprintf(stderr, "serve: Engine::start failed\n");
    return 2;
  }
  std::printf("PORT %u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  char buf[64];
  while (true) {
    ssize_t k = ::read(STDIN_FILENO, buf, sizeof buf);
    if (k == 0 || (k < 0 && errno != EINTR)) break;
  }
  (void)(*e)->stop();
  if (keep.report) {
    std::string problem;
    const std::string line = keep.report(&problem);
    std::printf("REPORT %s\n", line.c_str());
    if (!problem.empty()) std::printf("PROBLEM %s\n", problem.c_str());
    std::fflush(stdout);
  }
  keep.clear();
  e->reset();
  // The TLS record path's work over the child's life (every transport is
  // destroyed by now), for the per-row TLS section.
  const TlsTransport::TlsTotals t = TlsTransport::process_totals();
  if (t.transports > 0) {
    const auto& r = t.records;
    const auto per = [](uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / b : 0.0; };
    std::printf(
        "TLSSTATS %llu conns (%llu in place); write: %.2f records/batch, %.0f%% sealed in place, "
        "%.1f KiB/socket write; read: %.1f KiB/socket read, %.2f records/read, %.2f "
        "records/delivery, %.1f%% gathered, %.1f%% opened out of a shared chunk\n",
        static_cast<unsigned long long>(t.transports), static_cast<unsigned long long>(t.in_place),
        per(r.records_sealed, r.seal_batches), 100 * per(r.sealed_in_place, r.records_sealed),
        per(t.io.raw_write_bytes, t.io.raw_writes) / 1024,
        per(t.io.raw_read_bytes, t.io.raw_reads) / 1024, per(r.records_opened, t.io.raw_reads),
        per(r.records_opened, t.io.read_batches), 100 * per(r.opened_gathered, r.records_opened),
        100 * per(r.opened_moved, r.records_opened));
    std::fflush(stdout);
  }
  return 0;
}

// Child is one spawned side.
struct Child {
  pid_t pid = -1;
  int stdin_w = -1;   // closing it tells the child to stop
  int stdout_r = -1;  // after "PORT", the report lines
  uint16_t port = 0;
  bool server_side = false;
  std::string report, problem;  // from the REPORT / PROBLEM lines
  std::string tls;              // from the TLSSTATS line

  ~Child() { stop(); }
  void stop() {
    if (stdin_w >= 0) ::close(stdin_w);
    stdin_w = -1;
    if (stdout_r >= 0) read_report();
    if (pid <= 0) return;
    for (int i = 0; i < 1000; ++i) {  // up to ~10 s for a clean stop
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  // read_report reads the child's stdout to EOF (10 s at most).
  void read_report() {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pf{stdout_r, POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      char b[512];
      ssize_t k = ::read(stdout_r, b, sizeof b);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      out.append(b, static_cast<size_t>(k));
    }
    ::close(stdout_r);
    stdout_r = -1;
    size_t at = 0;
    while (at < out.size()) {
      size_t nl = out.find('\n', at);
      if (nl == std::string::npos) nl = out.size();
      const std::string_view l(out.data() + at, nl - at);
      if (l.rfind("REPORT ", 0) == 0) report = l.substr(7);
      if (l.rfind("PROBLEM ", 0) == 0) problem = l.substr(8);
      if (l.rfind("TLSSTATS ", 0) == 0) tls = l.substr(9);
      at = nl + 1;
    }
  }
};

std::unique_ptr<Child> spawn_side(const RowDef& row, bool server_side, uint16_t upstream,
                                  std::string* error) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    *error = "pipe2 failed";
    return nullptr;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  const std::string up = std::to_string(upstream);
  std::string exe = "/proc/self/exe";
  std::vector<std::string> args = {"tunnel_bench", "--serve", row.id,
                                   server_side ? "server" : "client", up};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = child_env(true);
  std::vector<char*> envp;
  for (auto& v : env) envp.push_back(v.data());
  envp.push_back(nullptr);
  auto c = std::make_unique<Child>();
  c->server_side = server_side;
  int rc = posix_spawn(&c->pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  c->stdin_w = in[1];
  if (rc != 0) {
    c->pid = -1;
    ::close(out[0]);
    *error = std::string("posix_spawn: ") + std::strerror(rc);
    return nullptr;
  }
  // Read "PORT <n>\n" (10 s at most); the rest is read by Child::stop.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd pf{out[0], POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) continue;
    char b[64];
    ssize_t k = ::read(out[0], b, sizeof b);
    if (k <= 0) break;
    line.append(b, static_cast<size_t>(k));
  }
  c->stdout_r = out[0];
  unsigned port = 0;
  if (std::sscanf(line.c_str(), "PORT %u", &port) != 1 || port == 0 || port > 65535) {
    *error = std::string("the ") + row.id + (server_side ? " server" : " client") +
             " side did not start (see stderr)";
    return nullptr;
  }
  c->port = static_cast<uint16_t>(port);
  return c;
}

// ------------------------------------------------------------------ bench

struct Settings {
  double seconds = 3;
  double warmup_s = 0.5;
  int rounds = 3;  // bulk windows per row and direction, interleaved across rows
  int rtt_round_trips = 2000;
  int rtt_warmup = 200;
  int setup_connections = 200;
  int setup_warmup = 10;
  int idle_connections = 1000;
  bool json = false;
  bool quick = false;
  std::vector<std::string> rows;  // empty = all (peers: not in --quick)
};

// Proc is one process behind a row: a sluice side or a peer's.
struct Proc {
  pid_t pid = -1;
  bool server_side = false;
  bool tree = false;                      // forks per connection: count its children too
  std::unique_ptr<AllocCounter> counter;  // nullptr: allocations not counted
  bool rw_calls = true;  // its socket I/O is read/readv/write/writev (see rw_calls_of)
};

// tree_stats: for a process that forks per connection, VmRSS of the
// process plus the Pss of each live child (their shared pages counted
// once), and utime+stime of the process, of its reaped children
// (cutime+cstime) and of its live children.
m::ProcStats tree_stats(pid_t pid) {
  m::ProcStats s;
  const std::string dir = "/proc/" + std::to_string(pid);
  const m::ProcStats self = m::read_proc(pid);
  if (!self.ok) return s;
  s.rss_kib = self.rss_kib;
  std::ifstream statf(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(statf)), std::istreambuf_iterator<char>());
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return s;
  std::istringstream rest(stat.substr(close_paren + 1));
  std::string tok;
  unsigned long long ticks = 0;  // fields 14-17: utime stime cutime cstime
  for (int field = 3; field <= 17 && (rest >> tok); ++field)
    if (field >= 14) ticks += std::strtoull(tok.c_str(), nullptr, 10);
  const long hz = ::sysconf(_SC_CLK_TCK);
  s.cpu_s = static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
  std::ifstream kids(dir + "/task/" + std::to_string(pid) + "/children");
  long kid = 0;
  while (kids >> kid) {
    const m::ProcStats k = m::read_proc(static_cast<pid_t>(kid));
    if (!k.ok) continue;  // exited meanwhile: in cutime once reaped
    s.cpu_s += k.cpu_s;
    std::ifstream smaps("/proc/" + std::to_string(kid) + "/smaps_rollup");
    std::string line;
    while (std::getline(smaps, line))
      if (line.rfind("Pss:", 0) == 0) {
        s.rss_kib += std::strtoull(line.c_str() + 4, nullptr, 10);
        break;
      }
  }
  s.ok = true;
  return s;
}

m::ProcStats stats_of(const Proc& p) { return p.tree ? tree_stats(p.pid) : m::read_proc(p.pid); }

// io_calls: syscr + syscw from /proc/<pid>/io, the kernel's exact count of
// read-family (read, readv, pread, preadv) and write-family (write, writev,
// pwrite, pwritev) system calls the process made; false if unreadable.
// recv/send/recvmsg/sendmsg and epoll_wait are not in it.
bool io_calls(pid_t pid, uint64_t* out) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  std::string line;
  int seen = 0;
  *out = 0;
  while (std::getline(f, line))
    if (line.rfind("syscr:", 0) == 0 || line.rfind("syscw:", 0) == 0) {
      *out += std::strtoull(line.c_str() + 6, nullptr, 10);
      ++seen;
    }
  return seen == 2;
}

// rw_calls_of: io_calls summed over the processes (and the live children
// of forking ones); false when one is not countable.
bool rw_calls_of(const std::vector<Proc>& procs, uint64_t* sum) {
  *sum = 0;
  for (const Proc& p : procs) {
    uint64_t n = 0;
    if (!p.rw_calls || !io_calls(p.pid, &n)) return false;
    *sum += n;
    if (!p.tree) continue;
    std::ifstream kids("/proc/" + std::to_string(p.pid) + "/task/" + std::to_string(p.pid) +
                       "/children");
    long kid = 0;
    while (kids >> kid)
      if (io_calls(static_cast<pid_t>(kid), &n)) *sum += n;
  }
  return !procs.empty();
}

// Entry is one row being measured: its path and the processes behind it
// (none for direct TCP): sluice children, or a peer's programs.
struct Entry {
  m::Path path;
  const RowDef* row = nullptr;              // nullptr: a baseline or a peer
  const perf::PeerDef* peer_def = nullptr;  // a peer row
  std::unique_ptr<Child> server, client;
  std::unique_ptr<perf::PeerRun> peer;
  std::vector<Proc> procs;
  m::PathResult r;
  double proxy_cpu = 0, ends_cpu = 0;  // over the bulk windows
  uint64_t allocs = 0;                 // over the bulk windows
  bool allocs_counted = false;         // every process had a counter
  uint64_t rw_calls = 0;               // read/write system calls over the bulk windows
  bool rw_counted = false;
  uint64_t io_calls = 0, wakeups = 0;  // through the C library (alloc_count.c), bulk windows
  bool calls_counted = false;
  std::string report, problem;         // the server side's (Keep::report)
  std::string tls_client, tls_server;  // the sides' TLSSTATS lines

  void add_proc(pid_t pid, bool server_side, bool tree, bool count, bool rw_calls = true) {
    Proc p;
    p.pid = pid;
    p.rw_calls = rw_calls;
    p.server_side = server_side;
    p.tree = tree;
    if (count && !g_counting.dir.empty()) p.counter = std::make_unique<AllocCounter>(pid);
    procs.push_back(std::move(p));
  }
};

double cpu_of(const std::vector<Proc>& procs) {
  double s = 0;
  for (const Proc& p : procs) s += stats_of(p).cpu_s;
  return s;
}

// allocs_of: the processes' allocation counts summed; false when one of
// them is not counted.
bool allocs_of(std::vector<Proc>& procs, uint64_t* sum) {
  *sum = 0;
  for (Proc& p : procs) {
    uint64_t a = 0;
    if (!p.counter || !p.counter->allocs(&a)) return false;
    *sum += a;
  }
  return !procs.empty();
}

// calls_of: the processes' I/O calls and wake-ups summed (alloc_count.c's
// counters); false when one of them is not counted.
bool calls_of(std::vector<Proc>& procs, uint64_t* io, uint64_t* wakeups) {
  *io = *wakeups = 0;
  for (Proc& p : procs) {
    uint64_t i = 0, w = 0;
    if (!p.counter || !p.counter->calls(&i, &w)) return false;
    *io += i;
    *wakeups += w;
  }
  return !procs.empty();
}

// Servers: the test servers every row's path ends at (TLS ones for inner
// TLS rows, started only when such a row runs).
struct Servers {
  std::unique_ptr<m::TestServer> echo, sink, echo_tls, sink_tls;
  m::TestServer& echo_for(const Entry& e) const { return e.path.inner_tls ? *echo_tls : *echo; }
  m::TestServer& sink_for(const Entry& e) const { return e.path.inner_tls ? *sink_tls : *sink; }
};

// measure_connections: setup time, RTT and (for sluice rows) RSS per idle
// tunnelled connection.
void measure_connections(Entry& e, const Servers& servers, const Settings& s) {
  m::TestServer& echo = servers.echo_for(e);
  m::PathResult& r = e.r;
  r.name = e.path.name;
  r.setup = m::measure_setup(e.path, echo.target(), s.setup_connections, s.setup_warmup);
  r.rtt = m::measure_rtt(e.path, echo.target(), s.rtt_round_trips, s.rtt_warmup);
  if (e.procs.empty()) return;
  std::vector<uint64_t> before;
  for (const Proc& p : e.procs) before.push_back(stats_of(p).rss_kib);
  {
    m::IdleSet idle;
    m::open_idle(e.path, echo.target(), s.idle_connections, idle);
    r.idle_attempts = idle.attempts;
    r.idle_succeeded = static_cast<int>(idle.succeeded());
    // Per side: the sum over that side's processes (socat has two per side).
    if (!e.path.forwards.empty())  // a socat child per connection: let them all start
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (size_t i = 0; i < e.procs.size() && idle.succeeded() > 0; ++i) {
      const double after = static_cast<double>(stats_of(e.procs[i]).rss_kib);
      const double per =
          (after - static_cast<double>(before[i])) / static_cast<double>(idle.succeeded());
      double& side = e.procs[i].server_side ? r.rss_kib_per_conn_server : r.rss_kib_per_conn_client;
      side = side < 0 ? per : side + per;
    }
  }  // closes them; give the proxy a moment to tear down before the bulk phase
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

// add_window: one bulk window of |e| in direction |d|, accumulated into its
// row, with the CPU time of the sluice processes and of this process (the
// clients and test servers: the two ends of every path).
void add_window(Entry& e, const Servers& servers, m::Direction d, double seconds,
                const Settings& s) {
  m::TestServer& sink = servers.sink_for(e);
  double c0 = 0, e0 = 0;
  uint64_t a0 = 0, w0 = 0, io0 = 0, k0 = 0;
  bool a0_ok = false, w0_ok = false, c0_ok = false;
  const pid_t self = ::getpid();
  m::WindowHook hook = [&](bool begin) {
    const double now_ends = m::read_proc(self).cpu_s;
    const double now = e.procs.empty() ? 0 : cpu_of(e.procs);
    uint64_t a = 0, w = 0;
    const bool a_ok = allocs_of(e.procs, &a);
    const bool w_ok = rw_calls_of(e.procs, &w);
    uint64_t io = 0, k = 0;
    const bool c_ok = calls_of(e.procs, &io, &k);
    if (begin) {
      io0 = io;
      k0 = k;
      c0_ok = c_ok;
      c0 = now;
      e0 = now_ends;
      a0 = a;
      a0_ok = a_ok;
      w0 = w;
      w0_ok = w_ok;
    } else {
      e.proxy_cpu += now - c0;
      e.ends_cpu += now_ends - e0;
      const bool first = e.r.up.seconds == 0 && e.r.down.seconds == 0;
      e.allocs_counted = (first || e.allocs_counted) && a0_ok && a_ok;
      if (a0_ok && a_ok) e.allocs += a - a0;
      e.rw_counted = (first || e.rw_counted) && w0_ok && w_ok;
      if (w0_ok && w_ok) e.rw_calls += w - w0;
      e.calls_counted = (first || e.calls_counted) && c0_ok && c_ok;
      if (c0_ok && c_ok) {
        e.io_calls += io - io0;
        e.wakeups += k - k0;
      }
    }
  };
  m::BulkResult w = m::measure_bulk(e.path, sink, d, seconds, s.warmup_s, hook);
  m::BulkResult& acc = d == m::Direction::upload ? e.r.up : e.r.down;
  const bool first = acc.seconds == 0 && acc.error.empty();
  acc.bytes += w.bytes;
  acc.seconds += w.seconds;
  acc.bytes_per_s = acc.seconds > 0 ? static_cast<double>(acc.bytes) / acc.seconds : 0;
  acc.ok = (first || acc.ok) && w.ok;
  if (!w.ok && acc.error.empty()) acc.error = w.error;
}

// finish_cpu: CPU seconds per GB over every bulk window.
void finish_cpu(Entry& e) {
  const double gb = static_cast<double>(e.r.up.bytes + e.r.down.bytes) / 1e9;
  if (gb <= 0) return;
  if (!e.procs.empty()) e.r.cpu_s_per_gb = e.proxy_cpu / gb;
  e.r.ends_cpu_s_per_gb = e.ends_cpu / gb;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  return "unknown";
}

// with_counts_header / with_counts: the table with the allocations and
// read/write system calls columns.
std::string with_counts_header(const std::string& h) {
  std::istringstream in(h);
  std::string l1, l2, l3;
  std::getline(in, l1);
  std::getline(in, l2);
  std::getline(in, l3);
  return l1 + " |   allocs  r/w calls  I/O calls   wake-ups\n" + l2 +
         " |      /GB        /GB        /GB        /GB\n" + l3 + std::string(44, '-');
}

std::string with_counts(std::string row, double allocs_per_gb, double rw_per_gb, double io_per_gb,
                        double wakeups_per_gb) {
  auto cell = [](double v, int width) {
    char b[32];
    if (v < 0)
      std::snprintf(b, sizeof b, "%*s", width, "-");
    else
      std::snprintf(b, sizeof b, "%*.0f", width, v);
    return std::string(b);
  };
  const std::string cells = " | " + cell(allocs_per_gb, 8) + " " + cell(rw_per_gb, 10) + " " +
                            cell(io_per_gb, 10) + " " + cell(wakeups_per_gb, 10);
  const size_t failed = row.find("   FAILED: ");
  row.insert(failed == std::string::npos ? row.size() : failed, cells);
  return row;
}

// PeerRatios: a sluice row over its peer row (-1: not measured).
struct PeerRatios {
  double up = -1, down = -1, rtt_p50 = -1, setup = -1, rss = -1, cpu = -1;
};

PeerRatios peer_ratios(const m::PathResult& a, const m::PathResult& b) {
  auto q = [](double x, double y) { return x >= 0 && y > 0 ? x / y : -1.0; };
  // RSS per idle connection: client and server sides together.
  auto rss = [](const m::PathResult& r) {
    double t = -1;
    for (double v : {r.rss_kib_per_conn_client, r.rss_kib_per_conn_server})
      if (v >= 0) t = t < 0 ? v : t + v;
    return t;
  };
  PeerRatios p;
  p.up = q(a.up.bytes_per_s, b.up.bytes_per_s);
  p.down = q(a.down.bytes_per_s, b.down.bytes_per_s);
  p.rtt_p50 = q(a.rtt.p50_us, b.rtt.p50_us);
  p.setup = q(a.setup.median_us, b.setup.median_us);
  p.rss = q(rss(a), rss(b));
  p.cpu = q(a.cpu_s_per_gb, b.cpu_s_per_gb);
  return p;
}

std::string ratio_cell(double v) {
  if (v < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

int usage() {
  std::fprintf(stderr,
               "usage: tunnel_bench [--seconds N] [--rounds N] [--quick] [--json] [--idle N] "
               "[--rows id,...]\n"
               "rows:");
  for (const auto& r : all_rows()) std::fprintf(stderr, " %s", r.id);
  std::fprintf(stderr, "\npeer rows (other programs; not in --quick unless listed):");
  for (const auto& p : perf::peer_rows()) std::fprintf(stderr, " %s", p.id);
  std::fprintf(stderr, "\n");
  return 2;
}

std::string json_ratio(double v) {
  if (v < 0) return "null";
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

int bench(const Settings& s) {
  m::raise_fd_limit(20000);
  std::string err;
  if (!perf::prepare_tls_material(&err)) {
    std::fprintf(stderr, "tunnel_bench: %s\n", err.c_str());
    return 1;
  }
  init_counting();
  struct Cleanup {
    ~Cleanup() {
      perf::remove_tls_material();
      remove_dir(g_counting.dir);
    }
  } cleanup;
  // The rows to run: the selected ones, and the direct TLS baseline with
  // any inner-TLS row.
  std::vector<const RowDef*> rows;
  bool inner_tls = false;
  for (const auto& row : all_rows())
    if (s.rows.empty() || std::find(s.rows.begin(), s.rows.end(), row.id) != s.rows.end()) {
      rows.push_back(&row);
      inner_tls = inner_tls || row.inner_tls;
    }
  if (inner_tls && std::none_of(rows.begin(), rows.end(), [](const RowDef* r) {
        return r->client == nullptr && r->inner_tls;
      }))
    rows.insert(rows.begin(), find_row("direct-tls"));

  Servers servers;
  servers.echo = m::TestServer::start(m::TestServer::Mode::echo, &err);
  servers.sink = servers.echo ? m::TestServer::start(m::TestServer::Mode::sink, &err) : nullptr;
  if (servers.sink && inner_tls) {
    servers.echo_tls = m::TestServer::start(m::TestServer::Mode::echo, &err, true);
    servers.sink_tls =
        servers.echo_tls ? m::TestServer::start(m::TestServer::Mode::sink, &err, true) : nullptr;
  }
  if (!servers.echo || !servers.sink || (inner_tls && !servers.sink_tls)) {
    std::fprintf(stderr, "tunnel_bench: test servers: %s\n", err.c_str());
    return 1;
  }
  std::string cipher;
  if (inner_tls) {
    cipher = m::tls_cipher(&err);
    if (cipher.empty()) {
      std::fprintf(stderr, "tunnel_bench: inner TLS: %s\n", err.c_str());
      return 1;
    }
  }
  const unsigned nproc = std::thread::hardware_concurrency();
  const std::string cpu = cpu_model();
  if (!s.json)
    std::printf(
        "tunnel_bench: %u CPUs (%s), bulk %.1f s per direction in %d interleaved windows, "
        "%d idle connections%s%s\n\n%s\n",
        nproc, cpu.c_str(), s.seconds, s.rounds, s.idle_connections,
        inner_tls ? ", inner TLS 1.3 " : "", cipher.c_str(),
        with_counts_header(m::format_header()).c_str());

  // Start every row's sluice processes first, so the bulk windows of all
  // rows can be interleaved round by round: background load then weighs on
  // the baseline and the rows alike.
  std::vector<std::unique_ptr<Entry>> entries;
  bool ok = true;
  entries.push_back(std::make_unique<Entry>());
  entries.back()->path = m::Path::direct();
  for (const RowDef* rp : rows) {
    const RowDef& row = *rp;
    auto e = std::make_unique<Entry>();
    e->row = rp;
    if (!row.client) {  // a direct baseline: no sluice process
      e->path = m::Path::direct(row.name);
      e->path.inner_tls = row.inner_tls;
      entries.push_back(std::move(e));
      continue;
    }
    uint16_t upstream = 0;
    if (row.server) {
      e->server = spawn_side(row, true, 0, &err);
      if (!e->server) {
        std::fprintf(stderr, "tunnel_bench: %s: %s\n", row.name, err.c_str());
        ok = false;
        continue;
      }
      upstream = e->server->port;
      e->add_proc(e->server->pid, true, false, true);
    }
    e->client = spawn_side(row, false, upstream, &err);
    if (!e->client) {
      std::fprintf(stderr, "tunnel_bench: %s: %s\n", row.name, err.c_str());
      ok = false;
      continue;
    }
    e->add_proc(e->client->pid, false, false, true);
    e->path = m::Path::socks5(row.name, e->client->port);
    e->path.inner_tls = row.inner_tls;
    entries.push_back(std::move(e));
  }

  // Peer rows: other programs, started the same way and measured alike.
  std::vector<std::string> peer_notes;
  std::string peer_dir;
  for (const auto& def : perf::peer_rows()) {
    const bool listed = std::find(s.rows.begin(), s.rows.end(), def.id) != s.rows.end();
    if (!listed && (!s.rows.empty() || s.quick)) continue;
    const std::string bin = perf::find_binary(def.binary);
    if (bin.empty()) {
      peer_notes.push_back(std::string(def.name) + ": skipped, `" + def.binary +
                           "` is not installed (not in PATH)");
      continue;
    }
    if (peer_dir.empty()) {
      char d[] = "/tmp/tunnel_bench_peers_XXXXXX";
      if (!::mkdtemp(d)) {
        std::fprintf(stderr, "tunnel_bench: mkdtemp: %s\n", std::strerror(errno));
        return 1;
      }
      peer_dir = d;
    }
    perf::PeerEnv env;
    env.dir = peer_dir;
    env.echo_port = servers.echo->target().port;
    env.sink_port = servers.sink->target().port;
    env.env = child_env(def.libc_heap);
    auto run = std::make_unique<perf::PeerRun>();
    if (!def.start(def, bin, env, run.get(), &err)) {
      std::fprintf(stderr, "tunnel_bench: %s: %s\n", def.name, err.c_str());
      ok = false;
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->peer_def = &def;
    e->path = run->path;
    for (const auto& pp : run->procs)
      e->add_proc(pp->pid, pp->server_side, pp->forks, def.libc_heap, def.rw_syscalls);
    e->peer = std::move(run);
    entries.push_back(std::move(e));
  }
  struct PeerDirCleanup {
    std::string* dir;
    ~PeerDirCleanup() { remove_dir(*dir); }
  } peer_dir_cleanup{&peer_dir};

  for (auto& e : entries) measure_connections(*e, servers, s);
  const double window = s.seconds / s.rounds;
  for (int round = 0; round < s.rounds; ++round)
    for (m::Direction d : {m::Direction::upload, m::Direction::download})
      for (auto& e : entries) add_window(*e, servers, d, window, s);

  // The QUIC rows' reference: Debian's ngtcp2 example pair, same run.
  bool want_reference = false;
  for (auto& e : entries)
    if (e->row && on_quic(e->row->id)) want_reference = true;
  perf::ReferenceResult ref;
  std::string ref_error;
  const size_t ref_bytes = (s.quick ? 32u : 256u) << 20;
  const bool have_ref =
      want_reference && perf::measure_ngtcp2_reference(ref_bytes, &ref, &ref_error);

  // Stop the sluice processes (clients first) and collect their reports.
  for (auto& e : entries) {
    if (e->peer)  // clients first here too
      for (auto it = e->peer->procs.rbegin(); it != e->peer->procs.rend(); ++it) (*it)->stop();
    if (e->client) {
      e->client->stop();
      e->tls_client = e->client->tls;
    }
    if (e->server) {
      e->server->stop();
      e->report = e->server->report;
      e->problem = e->server->problem;
      e->tls_server = e->server->tls;
    }
  }
  std::vector<m::PathResult> results;
  const m::PathResult* tls_base = nullptr;  // the direct TLS row, if run
  for (auto& e : entries) {
    finish_cpu(*e);
    results.push_back(e->r);
    ok = ok && e->problem.empty();
  }
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i]->row && !entries[i]->row->client && entries[i]->path.inner_tls)
      tls_base = &results[i];
  auto tls_ratio = [&](size_t i, bool up) {
    const double b = tls_base ? (up ? tls_base->up : tls_base->down).bytes_per_s : 0;
    return b > 0 ? (up ? results[i].up : results[i].down).bytes_per_s / b : -1.0;
  };
  // Allocations per 10^9 bytes over the bulk windows (-1: not counted).
  // Read/write system calls per 10^9 bytes likewise.
  std::vector<double> allocs_per_gb, rw_per_gb, io_per_gb, wakeups_per_gb;
  for (auto& e : entries) {
    const double gb = static_cast<double>(e->r.up.bytes + e->r.down.bytes) / 1e9;
    const bool calls = e->calls_counted && gb > 0;
    io_per_gb.push_back(calls ? static_cast<double>(e->io_calls) / gb : -1.0);
    wakeups_per_gb.push_back(calls ? static_cast<double>(e->wakeups) / gb : -1.0);
    allocs_per_gb.push_back(e->allocs_counted && gb > 0 ? static_cast<double>(e->allocs) / gb
                                                        : -1.0);
    rw_per_gb.push_back(e->rw_counted && gb > 0 ? static_cast<double>(e->rw_calls) / gb : -1.0);
  }
  // Peer pairs: (sluice row, its peer row) indexes, both run.
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t j = 0; j < entries.size(); ++j) {
    if (!entries[j]->peer_def) continue;
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i]->row && std::string_view(entries[i]->row->id) == entries[j]->peer_def->versus)
        pairs.emplace_back(i, j);
  }
  std::vector<bool> inner_paths, inner_rows;  // rows: not the baseline
  std::vector<std::string> reports;
  for (size_t i = 0; i < entries.size(); ++i) {
    inner_paths.push_back(entries[i]->path.inner_tls);
    inner_rows.push_back(entries[i]->path.inner_tls && &results[i] != tls_base);
    reports.push_back(entries[i]->report);
  }
  const m::PathResult* base = &results.front();
  if (!s.json) {
    for (size_t i = 0; i < results.size(); ++i)
      std::printf("%s\n",
                  with_counts(m::format_row(results[i], i == 0 ? nullptr : base), allocs_per_gb[i],
                              rw_per_gb[i], io_per_gb[i], wakeups_per_gb[i])
                      .c_str());
    bool heading = false;
    for (size_t i = 0; i < results.size(); ++i) {
      if (!inner_rows[i] || !tls_base) continue;
      if (!heading) std::printf("\ninner-TLS rows as ratios of direct TLS (upload, download):\n");
      heading = true;
      std::printf("  %-34s %5.2f  %5.2f\n", results[i].name.c_str(), tls_ratio(i, true),
                  tls_ratio(i, false));
    }
    if (have_ref) {
      const double d = base->down.bytes_per_s;
      std::printf(
          "\nQUIC reference, not a tunnel: gtlsclient <- gtlsserver (ngtcp2 examples), HTTP/3 "
          "download of %zu MiB: %.0f MB/s = %.2f x direct TCP download, %.2f CPU s/GB\n",
          ref_bytes >> 20, ref.bytes_per_s / 1e6, d > 0 ? ref.bytes_per_s / d : -1.0,
          ref.cpu_s_per_gb);
      for (size_t i = 0; i < results.size(); ++i)
        if (entries[i]->row && on_quic(entries[i]->row->id))
          std::printf("  %-34s download %.2f x the reference\n", results[i].name.c_str(),
                      results[i].down.bytes_per_s / ref.bytes_per_s);
    } else if (want_reference) {
      std::printf("\nQUIC reference not measured: %s\n", ref_error.c_str());
    }
    if (!pairs.empty())
      std::printf(
          "\nsluice rows as ratios of their peer rows, same run (throughput: higher is better; "
          "RTT, setup, RSS, CPU: lower is better):\n  %-28s %-26s %6s %6s %7s %7s %7s %7s\n",
          "row", "peer", "up", "down", "RTT P50", "setup", "RSS", "CPU/GB");
    for (const auto& [i, j] : pairs) {
      const PeerRatios q = peer_ratios(results[i], results[j]);
      std::printf("  %-28s %-26s %6s %6s %7s %7s %7s %7s\n", results[i].name.c_str(),
                  results[j].name.c_str(), ratio_cell(q.up).c_str(), ratio_cell(q.down).c_str(),
                  ratio_cell(q.rtt_p50).c_str(), ratio_cell(q.setup).c_str(),
                  ratio_cell(q.rss).c_str(), ratio_cell(q.cpu).c_str());
    }
    std::printf("\nallocs/GB: malloc-family calls of the row's processes per 10^9 bytes moved, ");
    if (g_counting.shim.empty())
      std::printf("not counted: %s\n", g_counting.why_not.c_str());
    else
      std::printf(
          "counted by perf/alloc_count.c preloaded into each child, over the bulk windows only "
          "(\"-\": no C-heap counter, e.g. Go's runtime in v2ray)\n");
    std::printf(
        "r/w calls/GB: read-family + write-family system calls of the row's processes per 10^9 "
        "bytes (syscr + syscw of /proc/<pid>/io over the bulk windows; "
        "recv/send/recvmsg/sendmsg/epoll are "
        "not in it, so \"-\" for trojan-gfw, whose Boost.Asio sockets use recvfrom/sendto)\n");
    std::printf(
        "I/O calls/GB, wake-ups/GB: the row's processes' data-moving system calls (read/write, "
        "readv/writev, recv*/send* and splice) and event-loop waits (epoll_wait, epoll_pwait, "
        "poll, ppoll, select, pselect) made through the C library per 10^9 bytes, counted by the "
        "same shim over "
        "the bulk windows (\"-\": not counted, e.g. Go's runtime in v2ray, which calls the "
        "kernel itself)\n");
    for (const auto& n : peer_notes) std::printf("%s\n", n.c_str());
    heading = false;
    for (size_t i = 0; i < results.size(); ++i) {
      for (int side = 0; side < 2; ++side) {
        const std::string& l = side == 0 ? entries[i]->tls_client : entries[i]->tls_server;
        if (l.empty()) continue;
        if (!heading)
          std::printf(
              "\nTLS record path per process, whole run (handshakes and idle connections "
              "included):\n");
        heading = true;
        std::printf("  %-34s %s %s\n", side == 0 ? results[i].name.c_str() : "",
                    side == 0 ? "client" : "server", l.c_str());
      }
    }
    heading = false;
    for (size_t i = 0; i < results.size(); ++i) {
      if (reports[i].empty() && entries[i]->problem.empty()) continue;
      if (!heading) std::printf("\nserver sides:\n");
      heading = true;
      std::printf("  %-34s %s%s%s\n", results[i].name.c_str(), reports[i].c_str(),
                  entries[i]->problem.empty() ? "" : "   FAILED: ", entries[i]->problem.c_str());
    }
  }
  std::vector<std::string> problems;
  for (auto& e : entries)
    if (!e->problem.empty()) problems.push_back(e->path.name + ": " + e->problem);
  entries.clear();

  for (const auto& r : results) ok = ok && r.ok();
  if (s.json) {
    std::string j = "{\"bench\": \"tunnel_bench\", \"nproc\": " + std::to_string(nproc) +
                    ", \"cpu\": \"" + cpu + "\", \"seconds\": " + std::to_string(s.seconds) +
                    ", \"rounds\": " + std::to_string(s.rounds) +
                    ", \"idle_connections\": " + std::to_string(s.idle_connections) +
                    ", \"inner_tls_cipher\": " + (cipher.empty() ? "null" : m::json_quote(cipher)) +
                    ", \"ok\": " + (ok ? "true" : "false");
    j += ", \"allocations_counted\": " +
         (g_counting.shim.empty() ? m::json_quote("no: " + g_counting.why_not) : "true");
    j += ", \"peer_notes\": [";
    for (size_t i = 0; i < peer_notes.size(); ++i)
      j += (i ? ", " : "") + m::json_quote(peer_notes[i]);
    j += "]";
    if (have_ref)
      j += ", \"quic_reference\": {\"name\": \"gtlsclient <- gtlsserver\", \"bytes\": " +
           std::to_string(ref_bytes) + ", \"bytes_per_s\": " + json_ratio(ref.bytes_per_s) +
           ", \"cpu_s_per_gb\": " + json_ratio(ref.cpu_s_per_gb) + "}";
    j += ", \"rows\": [\n";
    for (size_t i = 0; i < results.size(); ++i) {
      std::string row = m::to_json(results[i], i == 0 ? nullptr : &results.front());
      std::string extra;
      if (inner_paths[i]) extra += ", \"inner_tls\": true";
      extra += ", \"allocations_per_gb\": " + json_ratio(allocs_per_gb[i]) +
               ", \"rw_syscalls_per_gb\": " + json_ratio(rw_per_gb[i]) +
               ", \"io_calls_per_gb\": " + json_ratio(io_per_gb[i]) +
               ", \"wakeups_per_gb\": " + json_ratio(wakeups_per_gb[i]);
      for (const auto& [a, b] : pairs) {
        if (a != i && b != i) continue;
        const PeerRatios q = peer_ratios(results[a], results[b]);
        if (b == i)
          extra += ", \"peer_of\": " + m::json_quote(entries[a]->row->id);
        else
          extra += ", \"peer\": " + m::json_quote(entries[b]->peer_def->id) +
                   ", \"ratio_to_peer\": {\"upload\": " + json_ratio(q.up) +
                   ", \"download\": " + json_ratio(q.down) +
                   ", \"rtt_p50\": " + json_ratio(q.rtt_p50) +
                   ", \"setup_median\": " + json_ratio(q.setup) +
                   ", \"rss_per_conn\": " + json_ratio(q.rss) +
                   ", \"cpu_per_gb\": " + json_ratio(q.cpu) + "}";
      }
      if (inner_rows[i])
        extra += ", \"upload_ratio_direct_tls\": " + json_ratio(tls_ratio(i, true)) +
                 ", \"download_ratio_direct_tls\": " + json_ratio(tls_ratio(i, false));
      if (!reports[i].empty()) extra += ", \"server_report\": " + m::json_quote(reports[i]);
      row.insert(row.size() - 1, extra);  // before the closing brace
      j += "  " + row + (i + 1 < results.size() ? ",\n" : "\n");
    }
    j += "]}\n";
    std::fputs(j.c_str(), stdout);
  }
  if (!ok) {
    for (const auto& r : results)
      if (!r.ok())
        std::fprintf(stderr, "tunnel_bench: %s: %s\n", r.name.c_str(), r.problems().c_str());
    for (const auto& p : problems) std::fprintf(stderr, "tunnel_bench: %s\n", p.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc >= 2 && std::string_view(argv[1]) == "--serve") {
    if (argc != 5) return usage();
    const RowDef* row = find_row(argv[2]);
    if (!row) return usage();
    return serve(*row, std::string_view(argv[3]) == "server",
                 static_cast<uint16_t>(std::atoi(argv[4])));
  }
  Settings s;
  bool seconds_given = false, idle_given = false, rounds_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      s.json = true;
    } else if (a == "--quick") {
      s.quick = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      s.seconds = std::atof(argv[++i]);
      seconds_given = true;
      if (s.seconds <= 0) return usage();
    } else if (a == "--rounds" && i + 1 < argc) {
      s.rounds = std::atoi(argv[++i]);
      rounds_given = true;
      if (s.rounds <= 0) return usage();
    } else if (a == "--idle" && i + 1 < argc) {
      s.idle_connections = std::atoi(argv[++i]);
      idle_given = true;
      if (s.idle_connections <= 0) return usage();
    } else if (a == "--rows" && i + 1 < argc) {
      std::string_view list = argv[++i];
      while (!list.empty()) {
        size_t c = list.find(',');
        std::string id(list.substr(0, c));
        const auto peers = perf::peer_rows();
        if (!find_row(id) && std::none_of(peers.begin(), peers.end(),
                                          [&](const perf::PeerDef& p) { return id == p.id; }))
          return usage();
        s.rows.push_back(id);
        list = c == std::string_view::npos ? std::string_view() : list.substr(c + 1);
      }
    } else {
      return usage();
    }
  }
  if (s.quick) {
    if (!seconds_given) s.seconds = 0.5;
    if (!idle_given) s.idle_connections = 200;
    s.warmup_s = 0.2;
    if (!rounds_given) s.rounds = 1;
    s.rtt_round_trips = 200;
    s.rtt_warmup = 20;
    s.setup_connections = 20;
    s.setup_warmup = 2;
  }
  return bench(s);
}

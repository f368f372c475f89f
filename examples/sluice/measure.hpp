// measure.hpp: end-to-end measurements of a "path", the way a client reaches
// a target: direct TCP, or through a local SOCKS5 proxy (a sluice inbound).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Used by perf/tunnel_bench and by `sluice demo`. Plain C++ with POSIX
// sockets and threads, plus BoringSSL's libssl for inner TLS: nothing here
// links libuv or sluice, so what it measures is the proxy alone, never the
// measuring side.
//
//  * TestServer: an in-process echo or sink server on 127.0.0.1, one epoll
//    thread each. The sink discards what arrives, or, when a connection's
//    first byte is 'D', sends zeros until the peer goes away (download).
//  * Inner TLS (Path::inner_tls, TestServer started with tls): the client
//    runs a TLS 1.3 handshake over the connection once it reaches the
//    target (after the SOCKS5 CONNECT) and every measured byte goes through
//    SSL_write/SSL_read; the server terminates TLS with a self-signed P-256
//    certificate made in-process (the client does not verify it). BoringSSL
//    picks the TLS 1.3 suite: TLS_AES_128_GCM_SHA256 on CPUs with AES
//    instructions, the same for every path (tls_cipher() names it). The
//    bytes counted are plaintext. Without inner_tls nothing TLS is touched.
//  * measure_bulk: one stream for N seconds; bytes/s counted at the
//    receiving end over a timed window after a warm-up.
//  * measure_rtt: 64-byte ping-pongs over one established connection,
//    P50/P95/P99 in microseconds.
//  * measure_setup: connect() start to the first echoed byte (TCP connect,
//    SOCKS5 handshake, the proxy's upstream dial, the inner TLS handshake if
//    any, one byte round trip).
//  * open_idle: many connections, each with one completed round trip, left
//    open (to measure the proxy's memory per idle connection).
//  * read_proc: a process's VmRSS and CPU time from /proc.
//
// Every duration is std::chrono::steady_clock; sleeps only pace the phases.
// Threads: TestServer runs its own thread; the measure_* functions block the
// caller (measure_bulk starts and joins one helper thread).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::measure {

// Path: how the client reaches a target.
struct Path {
  std::string name;         // for tables: "direct TCP", "SOCKS5 inbound -> direct"
  uint16_t socks_port = 0;  // 0 = direct TCP; else a no-auth SOCKS5 proxy
  std::string socks_host = "127.0.0.1";
  // inner_tls: TLS 1.3 end to end, client to target, inside the path; the
  // targets must be TestServers started with tls = true.
  bool inner_tls = false;
  // forwards (socks_port 0 only): a relay with fixed targets, such as a
  // socat chain: a connection to target port |first| goes to 127.0.0.1:
  // |second| instead, with no SOCKS5 (a target not listed is an error).
  std::vector<std::pair<uint16_t, uint16_t>> forwards;

  static Path direct(std::string name = "direct TCP") { return {std::move(name), 0, "127.0.0.1"}; }
  static Path direct_tls(std::string name = "direct TLS") {
    return {std::move(name), 0, "127.0.0.1", true};
  }
  static Path socks5(std::string name, uint16_t port) {
    return {std::move(name), port, "127.0.0.1"};
  }
  static Path socks5_tls(std::string name, uint16_t port) {
    return {std::move(name), port, "127.0.0.1", true};
  }
  static Path forward(std::string name, std::vector<std::pair<uint16_t, uint16_t>> forwards) {
    Path p{std::move(name), 0, "127.0.0.1"};
    p.forwards = std::move(forwards);
    return p;
  }
};

// Target: host (an IPv4 literal or a name the proxy resolves) and port.
struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool tls = false;  // the target terminates TLS (TestServer::start with tls)
};

// connect_path opens a blocking TCP_NODELAY socket to |t| through |p| (TCP
// connect, then a no-auth SOCKS5 CONNECT when p.socks_port != 0). Returns
// the fd, or -1 with |error| set. |timeout_ms| bounds each wait. It never
// runs the inner TLS handshake: the measure_* functions below do.
int connect_path(const Path& p, const Target& t, std::string* error, int timeout_ms = 10000);

// tls_cipher: the TLS 1.3 suite an inner-TLS handshake with a TestServer
// negotiates here (e.g. "TLS_AES_128_GCM_SHA256"), or "" with |error|.
std::string tls_cipher(std::string* error);

// TestServer: echo or sink on 127.0.0.1, ephemeral port, own epoll thread.
class TestServer {
 public:
  enum class Mode { echo, sink };
  // start binds and starts the thread; nullptr with |error| on failure.
  // With |tls|, every connection is TLS 1.3 (server side) and the echo, the
  // sink's first byte and the counters are about the plaintext.
  static std::unique_ptr<TestServer> start(Mode m, std::string* error, bool tls = false);
  ~TestServer();  // stops the thread and closes every connection
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  Target target() const { return {"127.0.0.1", port_, tls_}; }
  Mode mode() const noexcept { return mode_; }
  bool tls() const noexcept { return tls_; }
  // bytes_received: payload bytes read so far (all connections).
  uint64_t bytes_received() const noexcept { return received_.load(std::memory_order_relaxed); }
  uint64_t bytes_sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
  size_t connections() const noexcept { return conns_.load(std::memory_order_relaxed); }

 private:
  TestServer() = default;
  void run() noexcept;
  Mode mode_ = Mode::echo;
  bool tls_ = false;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<size_t> conns_{0};
  std::thread thread_;
};

enum class Direction { upload, download };

// WindowHook is called with true just before and false just after the timed
// window of a bulk run (e.g. to sample a proxy process's CPU time).
using WindowHook = std::function<void(bool begin)>;

struct BulkResult {
  bool ok = false;
  std::string error;
  uint64_t bytes = 0;  // counted at the receiver during the window
  double seconds = 0;  // the window's length
  double bytes_per_s = 0;
};

// measure_bulk streams through |p| to |sink| (a Mode::sink server) for
// |warmup_s| + |seconds|, counting the bytes the receiver got in the last
// |seconds| (upload: the sink's count; download: the client's).
BulkResult measure_bulk(const Path& p, TestServer& sink, Direction d, double seconds,
                        double warmup_s = 0.5, const WindowHook& hook = nullptr);

struct LatencyResult {
  bool ok = false;
  std::string error;
  int samples = 0;
  double p50_us = 0, p95_us = 0, p99_us = 0;
  double mean_us = 0;
};

// measure_rtt: |round_trips| ping-pongs of |payload| bytes over one
// connection through |p| to an echo server, after |warmup| untimed ones.
LatencyResult measure_rtt(const Path& p, const Target& echo, int round_trips = 2000,
                          int warmup = 200, size_t payload = 64);

struct SetupResult {
  int attempts = 0;
  int succeeded = 0;
  std::string first_error;
  double median_us = 0, p95_us = 0;
};

// measure_setup: |connections| sequential connections through |p| to an
// echo server, each timed from connect() start to its first echoed byte,
// then closed. |warmup| untimed connections first.
SetupResult measure_setup(const Path& p, const Target& echo, int connections = 200,
                          int warmup = 10);

// IdleSet holds open connections (closed on destruction).
struct IdleSet {
  std::vector<int> fds;
  std::vector<std::shared_ptr<void>> tls;  // inner TLS: their SSL objects
  int attempts = 0;
  std::string first_error;
  size_t succeeded() const noexcept { return fds.size(); }
  void close_all() noexcept;
  ~IdleSet() { close_all(); }
};

// open_idle opens |n| connections through |p| to an echo server; each does
// one 1-byte round trip and then stays open and idle in |out|.
void open_idle(const Path& p, const Target& echo, int n, IdleSet& out);

// ProcStats: one process's resident memory and CPU time.
struct ProcStats {
  bool ok = false;
  uint64_t rss_kib = 0;  // VmRSS
  double cpu_s = 0;      // utime + stime
};
ProcStats read_proc(pid_t pid);

// raise_fd_limit sets RLIMIT_NOFILE's soft limit to min(want, hard);
// returns the new soft limit.
uint64_t raise_fd_limit(uint64_t want);

// PathResult: one table row.
struct PathResult {
  std::string name;
  BulkResult up;
  BulkResult down;
  LatencyResult rtt;
  SetupResult setup;
  // Proxy-process figures; negative = not applicable (direct TCP) or absent.
  double rss_kib_per_conn_client = -1;  // the client-side sluice process
  double rss_kib_per_conn_server = -1;  // the server-side one (protocol rows)
  int idle_attempts = 0;
  int idle_succeeded = 0;
  double cpu_s_per_gb = -1;       // proxy processes' CPU over both bulk windows
  double ends_cpu_s_per_gb = -1;  // the measuring process's (clients + test servers)
  bool ok() const noexcept;       // everything ran and every connection succeeded
  std::string problems() const;   // what was not ok, "" if ok()
};

// format_header / format_row: a fixed-width text table; |baseline| (may be
// nullptr) gives the "x direct" throughput ratios.
std::string format_header();
std::string format_row(const PathResult& r, const PathResult* baseline);
// to_json: one JSON object for the row (ratios against |baseline| if given).
std::string to_json(const PathResult& r, const PathResult* baseline);
// json_quote: |s| as a JSON string literal.
std::string json_quote(const std::string& s);

}  // namespace sluice::measure

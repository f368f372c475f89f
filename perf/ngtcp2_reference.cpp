// ngtcp2_reference.cpp: see ngtcp2_reference.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "ngtcp2_reference.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "bench_material.hpp"

extern char** environ;

namespace sluice::perf {
namespace {

using namespace std::chrono_literals;

// find_program: Debian puts gtlsserver in /usr/sbin and gtlsclient in /usr/bin.
std::string find_program(const char* name) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/"}) {
    std::string p = std::string(dir) + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

double cpu_of(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// Proc is one spawned program, output to |log|; killed at scope end.
struct Proc {
  pid_t pid = -1;
  Proc(std::vector<std::string> argv, const std::string& log) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Proc() { (void)stop(); }
  // wait ends with the program's exit: its CPU seconds, or -1 on timeout.
  double wait(std::chrono::milliseconds limit, int* status) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (pid > 0 && std::chrono::steady_clock::now() < end) {
      rusage ru{};
      if (::wait4(pid, status, WNOHANG, &ru) == pid) {
        pid = -1;
        return cpu_of(ru);
      }
      std::this_thread::sleep_for(1ms);
    }
    return -1;
  }
  // stop sends SIGTERM and reaps: the program's CPU seconds.
  double stop() {
    if (pid <= 0) return 0;
    ::kill(pid, SIGTERM);
    rusage ru{};
    int st = 0;
    ::wait4(pid, &st, 0, &ru);
    pid = -1;
    return cpu_of(ru);
  }
};

uint16_t free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

}  // namespace

bool measure_ngtcp2_reference(size_t bytes, ReferenceResult* out, std::string* error) {
  const std::string server_bin = find_program("gtlsserver");
  const std::string client_bin = find_program("gtlsclient");
  if (server_bin.empty() || client_bin.empty()) {
    *error = "gtlsserver/gtlsclient not installed (Debian packages ngtcp2-server, ngtcp2-client)";
    return false;
  }
  auto dir = material_dir(error);
  if (!dir) return false;
  const std::string htdocs = *dir + "/htdocs";
  ::mkdir(htdocs.c_str(), 0755);
  const std::string file = htdocs + "/bulk.bin";
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    std::vector<char> zero(1 << 20, 0);
    for (size_t left = bytes; left > 0;) {
      const size_t n = std::min(left, zero.size());
      f.write(zero.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    if (!f.flush()) {
      *error = "cannot write " + file;
      return false;
    }
  }
  struct Cleanup {
    std::string file, dir;
    ~Cleanup() {
      ::unlink(file.c_str());
      ::rmdir(dir.c_str());
    }
  } cleanup{file, htdocs};
  const uint16_t port = free_udp_port();
  if (port == 0) {
    *error = "no free UDP port";
    return false;
  }
  const std::string p = std::to_string(port);
  Proc server({server_bin, "-q", "--htdocs=" + htdocs, "127.0.0.1", p, *dir + "/key.pem",
               *dir + "/cert.pem"},
              *dir + "/gtlsserver.log");
  if (server.pid <= 0) {
    *error = "cannot start gtlsserver";
    return false;
  }
  std::this_thread::sleep_for(300ms);  // UDP: nothing to connect to first
  const auto t0 = std::chrono::steady_clock::now();
  Proc client({client_bin, "-q", "--exit-on-all-streams-close", "--timeout=10s", "127.0.0.1", p,
               "https://localhost/bulk.bin"},
              *dir + "/gtlsclient.log");
  int status = 0;
  const double client_cpu = client.wait(120s, &status);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double server_cpu = server.stop();
  ::unlink((*dir + "/gtlsserver.log").c_str());
  ::unlink((*dir + "/gtlsclient.log").c_str());
  if (client_cpu < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "gtlsclient did not complete the download";
    return false;
  }
  out->bytes_per_s = static_cast<double>(bytes) / secs;
  out->cpu_s_per_gb = (client_cpu + server_cpu) / (static_cast<double>(bytes) / 1e9);
  return true;
}

}  // namespace sluice::perf

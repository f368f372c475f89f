// peer_process.hpp: independent peer programs (v2ray, trojan-gfw, ngtcp2's
// examples...) run as child processes by the interop tests.
//
// A Peer's stdout and stderr go to a log file in a TempDir; it is killed
// (SIGTERM, then SIGKILL) and reaped at scope end on every path, and
// describe() puts its state and the tail of its output into failure
// messages. A missing peer binary FAILS the test (require_binary): the
// peers are installed by scripts/bootstrap, they are never optional.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice::test {

// find_binary: |name| in /usr/bin, /usr/sbin or /usr/local/bin, or "".
std::string find_binary(const char* name);
// require_binary: find_binary, or FAIL naming the Debian |package|.
std::string require_binary(const char* name, const char* package);

// slurp: the whole file at |path| ("" if unreadable).
std::string slurp(const std::string& path);
// tail: the last |n| bytes of |s|, marked with "..." when cut.
std::string tail(const std::string& s, size_t n = 3000);

// TempDir is a private directory /tmp/<prefix>XXXXXX for configs,
// certificates and logs; the files it named are removed at scope end.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  explicit TempDir(const std::string& prefix);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  // file: the path of |name| in the directory (removed at scope end).
  std::string file(const std::string& name);
  // write: writes |text| to file(|name|) and returns its path.
  std::string write(const std::string& name, const std::string& text);
};

// free_tcp_port asks the kernel for an unused port on 127.0.0.1. A peer
// started on it may still lose a race for it; start_peer retries then.
uint16_t free_tcp_port();
// port_accepts: whether 127.0.0.1:|port| accepts a TCP connection.
bool port_accepts(uint16_t port);

// Peer is a spawned program, stdout and stderr into |log|, stdin from
// /dev/null; killed (SIGTERM, then SIGKILL) and reaped at scope end.
struct Peer {
  std::string name, log;
  pid_t pid = -1;
  int status = 0;
  bool exited = false;

  Peer(std::string n, std::vector<std::string> argv, std::string log_path);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  ~Peer();

  bool alive();
  // wait_listening polls |ports| until each accepts a connection; false if
  // the peer exits first or |limit| passes.
  bool wait_listening(const std::vector<uint16_t>& ports,
                      std::chrono::milliseconds limit = std::chrono::seconds(10));
  // describe: name, running or exit status, and the tail of the output.
  std::string describe();
};

// start_peer starts a peer listening on |nports| fresh ports: |make| writes
// the config for the given ports and returns the argv. A peer that dies
// before listening (a port taken between free_tcp_port and its bind) is
// retried on new ports; the third failure fails the test with the peer's
// output.
template <typename Make>
std::unique_ptr<Peer> start_peer(const std::string& name, TempDir& dir, size_t nports, Make make,
                                 std::vector<uint16_t>* ports_out) {
  std::string last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < nports; ++i) ports.push_back(free_tcp_port());
    std::vector<std::string> argv = make(ports);
    auto p = std::make_unique<Peer>(name, argv, dir.file(name + std::to_string(attempt) + ".log"));
    if (p->pid <= 0) FAIL("cannot spawn " + argv[0]);
    if (p->wait_listening(ports)) {
      *ports_out = ports;
      return p;
    }
    last = p->describe();
  }
  FAIL(name + " did not start listening: " + last);
  return nullptr;
}

}  // namespace sluice::test

// peer_rows.hpp: tunnel_bench reference rows run by other programs in the
// same run as sluice's rows: Debian's trojan-gfw (Trojan over TLS 1.3,
// AES-128-GCM), v2ray 4.34 (VLESS over TLS) and a plain socat two-hop relay.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A peer row starts external processes (client and server side, like a
// sluice row's two children) and gives the bench a measure::Path through
// them: the peer client's SOCKS5 port, or for socat (no SOCKS5) fixed
// forwards to the echo and sink test servers. Each process runs in its own
// process group, with stdout and stderr in a log file in the row's folder
// (quoted when it fails to start); the bench measures it from /proc like a
// sluice child. A row whose binary is not in PATH is skipped with a note.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "measure.hpp"

namespace sluice::perf {

// PeerProc is one external process; the destructor stops it (SIGTERM to
// its process group, SIGKILL after 5 s).
struct PeerProc {
  pid_t pid = -1;
  bool server_side = false;
  // forks: the process serves each connection in a forked child (socat);
  // its CPU and memory are summed over the process and its children.
  bool forks = false;
  std::string log;  // stdout + stderr

  ~PeerProc() { stop(); }
  void stop();
};

// PeerEnv is what every peer row needs from the bench.
struct PeerEnv {
  std::string dir;               // a private folder for configs and logs
  uint16_t echo_port = 0;        // the plain echo test server
  uint16_t sink_port = 0;        // the plain sink test server
  std::vector<std::string> env;  // the processes' environment, NAME=value
};

struct PeerRun {
  std::vector<std::unique_ptr<PeerProc>> procs;
  measure::Path path;
};

struct PeerDef {
  const char* id;      // for --rows
  const char* name;    // table label
  const char* versus;  // the sluice row it is the reference of
  const char* binary;  // looked up in PATH
  // libc_heap: the program allocates through the C library's malloc, so
  // the allocation counting shim sees its allocations (not Go's v2ray).
  bool libc_heap;
  // rw_syscalls: its socket I/O is read/readv/write/writev, which
  // /proc/<pid>/io counts (not trojan-gfw: Boost.Asio calls recvfrom/sendto).
  bool rw_syscalls;
  bool (*start)(const PeerDef& def, const std::string& binary, const PeerEnv& env, PeerRun* out,
                std::string* error);
};

std::span<const PeerDef> peer_rows();

// find_binary: |name|'s full path from PATH, or "" when it is missing.
std::string find_binary(const char* name);

}  // namespace sluice::perf

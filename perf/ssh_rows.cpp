// ssh_rows.cpp: see ssh_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "ssh_rows.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "bench_material.hpp"
#include "private_sshd.hpp"
#include "session/ssh_session.hpp"

namespace sluice::perf {
namespace {

constexpr const char* kAes = "aes128-gcm@openssh.com";
constexpr const char* kChacha = "chacha20-poly1305@openssh.com";

Result<std::string> key_dir(std::string* reason) {
  auto dir = material_dir(reason);
  if (!dir) return dir.error();
  const std::string d = *dir + "/ssh";
  ::mkdir(d.c_str(), 0700);
  if (!cli::PrivateSshd::prepare_keys(d, reason)) return Errc::not_supported;
  return d;
}

Result<uint16_t> server_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason) {
  (void)e;
  (void)upstream;
  auto dir = key_dir(reason);
  if (!dir) return dir.error();
  auto sshd = std::make_unique<cli::PrivateSshd>();
  if (!sshd->start(reason, *dir)) return Errc::not_supported;
  const uint16_t port = sshd->port();
  keep.add(std::move(sshd));
  return port;
}

Result<uint16_t> client_side(Engine& e, uint16_t upstream, Keep& keep, std::string* reason,
                             const char* cipher) {
  auto dir = key_dir(reason);
  if (!dir) return dir.error();
  SshSessionOptions o;
  o.server = "127.0.0.1";
  o.server_port = upstream;
  o.user = getuid() == 0 ? "root" : (std::getenv("USER") ? std::getenv("USER") : "root");
  o.keys.host_key = {cli::PrivateSshd::public_key_line(*dir + "/host_ed25519.pub")};
  o.keys.private_key_path = *dir + "/user_ed25519";
  o.ciphers = cipher;
  o.dial.connect_timeout_ms = 5000;
  auto s = SshSession::create(e, "ssh", std::move(o), reason);
  if (!s) return s.error();
  return socks_front(e, std::unique_ptr<Session>(s->release()), keep, reason);
}

Result<uint16_t> client_aes(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, kAes);
}
Result<uint16_t> client_chacha(Engine& e, uint16_t up, Keep& k, std::string* r) {
  return client_side(e, up, k, r, kChacha);
}

const RowDef kRows[] = {
    {"ssh-aes128gcm", "ssh aes128-gcm -> sshd", server_side, client_aes},
    {"ssh-chacha20", "ssh chacha20 -> sshd", server_side, client_chacha},
};

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

bool accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// spawn starts |argv| in its own process group, output to |log|, and waits
// until 127.0.0.1:|port| accepts (10 s at most).
std::unique_ptr<PeerProc> spawn(std::vector<std::string> argv, const PeerEnv& env,
                                const std::string& log, uint16_t port, bool server_side,
                                std::string* error) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&at, 0);
  std::vector<std::string> e = env.env;
  std::vector<char*> av, ev;
  for (auto& s : argv) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : e) ev.push_back(s.data());
  ev.push_back(nullptr);
  auto p = std::make_unique<PeerProc>();
  p->server_side = server_side;
  p->forks = server_side;  // sshd serves each connection in a child
  p->log = log;
  const int rc = posix_spawn(&p->pid, av[0], &fa, &at, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) {
    p->pid = -1;
    *error = argv[0] + ": cannot start";
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(p->pid, &st, WNOHANG) == p->pid) {
      p->pid = -1;
      std::ifstream f(log);
      std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      *error = argv[0] + " exited at start: " + s.substr(0, 600);
      return nullptr;
    }
    if (accepts(port)) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = argv[0] + " did not listen on port " + std::to_string(port);
  return nullptr;
}

bool start_ssh_peer(const PeerDef& def, const std::string& ssh, const PeerEnv& env, PeerRun* out,
                    std::string* error, const char* cipher) {
  const std::string sshd = cli::PrivateSshd::sshd_path();
  if (sshd.empty()) {
    *error = "sshd is not installed (apt-get install openssh-server)";
    return false;
  }
  auto dir = key_dir(error);
  if (!dir) return false;
  if (getuid() == 0) ::mkdir("/run/sshd", 0755);
  const uint16_t sp = free_port(), cp = free_port();
  const std::string cfg = env.dir + "/sshd_config";
  std::ofstream(cfg) << cli::PrivateSshd::config_text(sp, *dir, env.dir);
  auto s = spawn({sshd, "-D", "-e", "-f", cfg}, env, env.dir + "/sshd.log", sp, true, error);
  if (!s) return false;
  out->procs.push_back(std::move(s));
  const std::string user =
      getuid() == 0 ? "root" : (std::getenv("USER") ? std::getenv("USER") : "root");
  auto c = spawn({ssh,
                  "-N",
                  "-D",
                  "127.0.0.1:" + std::to_string(cp),
                  "-p",
                  std::to_string(sp),
                  "-i",
                  *dir + "/user_ed25519",
                  "-c",
                  cipher,
                  "-F",
                  "/dev/null",
                  "-o",
                  "BatchMode=yes",
                  "-o",
                  "StrictHostKeyChecking=no",
                  "-o",
                  "UserKnownHostsFile=/dev/null",
                  "-o",
                  "Compression=no",
                  "-o",
                  "ExitOnForwardFailure=yes",
                  "-o",
                  "LogLevel=ERROR",
                  user + "@127.0.0.1"},
                 env, env.dir + "/ssh.log", cp, false, error);
  if (!c) return false;
  out->procs.push_back(std::move(c));
  out->path = measure::Path::socks5(def.name, cp);
  return true;
}

}  // namespace

std::span<const RowDef> ssh_rows() { return kRows; }

bool start_ssh_peer_aes(const PeerDef& def, const std::string& binary, const PeerEnv& env,
                        PeerRun* out, std::string* error) {
  return start_ssh_peer(def, binary, env, out, error, kAes);
}
bool start_ssh_peer_chacha(const PeerDef& def, const std::string& binary, const PeerEnv& env,
                           PeerRun* out, std::string* error) {
  return start_ssh_peer(def, binary, env, out, error, kChacha);
}

}  // namespace sluice::perf

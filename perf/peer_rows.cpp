// peer_rows.cpp: see peer_rows.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "peer_rows.hpp"

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
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench_material.hpp"

namespace sluice::perf {
namespace {

// The same credentials as the sluice rows they are compared with.
constexpr const char* kTrojanPassword = "tunnel bench password";
constexpr const char* kVlessUuid = "6f1d8c52-3a47-4b9e-9f20-5c81d0e4a7b3";

// free_port: a port the kernel just gave out on 127.0.0.1 (a peer binds it
// next; wait_listening notices when someone else took it first).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

bool accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string read_log(const std::string& path) {
  std::ifstream f(path);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (s.size() > 600) s = "..." + s.substr(s.size() - 600);
  return s;
}

bool write_file(const std::string& path, const std::string& text, std::string* error) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

// launch starts |argv| in its own process group with |env|, stdin from
// /dev/null and stdout + stderr to |log|, then waits (10 s at most) until
// |port| accepts connections. Config paths in |argv| are absolute.
std::unique_ptr<PeerProc> launch(const std::vector<std::string>& argv_s, const PeerEnv& env,
                                 const std::string& log, uint16_t port, bool server_side,
                                 bool forks, std::string* error) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&at, 0);
  std::vector<std::string> a = argv_s, e = env.env;
  std::vector<char*> argv, envp;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  auto p = std::make_unique<PeerProc>();
  p->server_side = server_side;
  p->forks = forks;
  p->log = log;
  const int rc = posix_spawn(&p->pid, argv[0], &fa, &at, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) {
    p->pid = -1;
    *error = argv_s[0] + ": posix_spawn: " + std::strerror(rc);
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(p->pid, &st, WNOHANG) == p->pid) {
      p->pid = -1;
      *error = argv_s[0] + " exited at start: " + read_log(log);
      return nullptr;
    }
    if (accepts(port)) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = argv_s[0] + " did not listen on port " + std::to_string(port) +
           " within 10 s: " + read_log(log);
  return nullptr;
}

// Trojan-gfw: run_type server (remote_addr is where a wrong password's
// bytes would go; unused here) and run_type client (a SOCKS5 server),
// TLS 1.3 only with TLS_AES_128_GCM_SHA256, logging errors only. The client
// does not verify the bench's self-signed certificate (the sluice rows pin
// it by hash: neither side walks a chain).
bool start_trojan(const PeerDef& def, const std::string& bin, const PeerEnv& env, PeerRun* out,
                  std::string* error) {
  auto dir = material_dir(error);
  if (!dir) return false;
  const uint16_t sp = free_port(), cp = free_port();
  const std::string ssl_common = R"("cipher_tls13":"TLS_AES_128_GCM_SHA256","alpn":["http/1.1"])";
  const std::string scfg = env.dir + "/trojan-server.json", ccfg = env.dir + "/trojan-client.json";
  if (!write_file(scfg,
                  R"({"run_type":"server","local_addr":"127.0.0.1","local_port":)" +
                      std::to_string(sp) + R"(,"remote_addr":"127.0.0.1","remote_port":)" +
                      std::to_string(env.echo_port) + R"(,"password":[")" + kTrojanPassword +
                      R"("],"log_level":3,"ssl":{"cert":")" + *dir + R"(/cert.pem","key":")" +
                      *dir + R"(/key.pem",)" + ssl_common + R"(},"tcp":{"no_delay":true}})",
                  error) ||
      !write_file(ccfg,
                  R"({"run_type":"client","local_addr":"127.0.0.1","local_port":)" +
                      std::to_string(cp) + R"(,"remote_addr":"127.0.0.1","remote_port":)" +
                      std::to_string(sp) + R"(,"password":[")" + kTrojanPassword +
                      R"("],"log_level":3,"ssl":{"verify":false,"verify_hostname":false,"sni":")" +
                      kBenchServerName + R"(",)" + ssl_common + R"(},"tcp":{"no_delay":true}})",
                  error))
    return false;
  auto s = launch({bin, "-c", scfg}, env, env.dir + "/trojan-server.log", sp, true, false, error);
  if (!s) return false;
  out->procs.push_back(std::move(s));
  auto c = launch({bin, "-c", ccfg}, env, env.dir + "/trojan-client.log", cp, false, false, error);
  if (!c) return false;
  out->procs.push_back(std::move(c));
  out->path = measure::Path::socks5(def.name, cp);
  return true;
}

// v2ray: a VLESS inbound over TLS (decryption none) -> freedom, and a
// SOCKS5 inbound -> VLESS outbound over TLS (allowInsecure: the same
// reason as trojan-gfw's client). Logs off.
bool start_v2ray(const PeerDef& def, const std::string& bin, const PeerEnv& env, PeerRun* out,
                 std::string* error) {
  auto dir = material_dir(error);
  if (!dir) return false;
  const uint16_t sp = free_port(), cp = free_port();
  const std::string log = R"("log":{"loglevel":"none","access":"none","error":"none"})";
  const std::string scfg = env.dir + "/v2ray-server.json", ccfg = env.dir + "/v2ray-client.json";
  if (!write_file(
          scfg,
          "{" + log + R"(,"inbounds":[{"listen":"127.0.0.1","port":)" + std::to_string(sp) +
              R"(,"protocol":"vless","settings":{"clients":[{"id":")" + kVlessUuid +
              R"("}],"decryption":"none"},"streamSettings":{"network":"tcp","security":"tls","tlsSettings":{"certificates":[{"certificateFile":")" +
              *dir + R"(/cert.pem","keyFile":")" + *dir +
              R"(/key.pem"}]}}}],"outbounds":[{"protocol":"freedom"}]})",
          error) ||
      !write_file(
          ccfg,
          "{" + log + R"(,"inbounds":[{"listen":"127.0.0.1","port":)" + std::to_string(cp) +
              R"(,"protocol":"socks","settings":{"auth":"noauth","udp":false}}],"outbounds":[{"protocol":"vless","settings":{"vnext":[{"address":"127.0.0.1","port":)" +
              std::to_string(sp) + R"(,"users":[{"id":")" + kVlessUuid +
              R"(","encryption":"none"}]}]},"streamSettings":{"network":"tcp","security":"tls","tlsSettings":{"serverName":")" +
              kBenchServerName + R"(","allowInsecure":true}}}]})",
          error))
    return false;
  auto s =
      launch({bin, "-config", scfg}, env, env.dir + "/v2ray-server.log", sp, true, false, error);
  if (!s) return false;
  out->procs.push_back(std::move(s));
  auto c =
      launch({bin, "-config", ccfg}, env, env.dir + "/v2ray-client.log", cp, false, false, error);
  if (!c) return false;
  out->procs.push_back(std::move(c));
  out->path = measure::Path::socks5(def.name, cp);
  return true;
}

// socat: per target (echo, sink) a two-hop chain, front -> back -> target,
// each hop `socat TCP-LISTEN:<p>,fork,... TCP:127.0.0.1:<next>,nodelay`
// with 64 KiB transfer blocks. The front hops count as the client side,
// the back hops as the server side.
bool start_socat(const PeerDef& def, const std::string& bin, const PeerEnv& env, PeerRun* out,
                 std::string* error) {
  std::vector<std::pair<uint16_t, uint16_t>> forwards;
  for (uint16_t target : {env.echo_port, env.sink_port}) {
    const uint16_t back = free_port(), front = free_port();
    const std::string t = std::to_string(target);
    auto hop = [&](uint16_t listen, uint16_t next, bool server_side) {
      const std::string l = "TCP-LISTEN:" + std::to_string(listen) +
                            ",bind=127.0.0.1,reuseaddr,fork,backlog=4096,nodelay";
      const std::string c = "TCP:127.0.0.1:" + std::to_string(next) + ",nodelay";
      auto p = launch({bin, "-b", "65536", l, c}, env,
                      env.dir + "/socat-" + t + (server_side ? "-back.log" : "-front.log"), listen,
                      server_side, true, error);
      if (!p) return false;
      out->procs.push_back(std::move(p));
      return true;
    };
    if (!hop(back, target, true) || !hop(front, back, false)) return false;
    forwards.emplace_back(target, front);
  }
  out->path = measure::Path::forward(def.name, std::move(forwards));
  return true;
}

const PeerDef kPeers[] = {
    {"peer-trojan-gfw", "trojan-gfw (Trojan+TLS)", "trojan-tls", "trojan", true, false,
     start_trojan},
    {"peer-v2ray-vless", "v2ray 4.34 (VLESS+TLS)", "vless-tls", "v2ray", false, true, start_v2ray},
    {"peer-socat", "socat two-hop relay", "socks-direct", "socat", true, true, start_socat},
    {"peer-ssh-aes128gcm", "OpenSSH ssh -D (aes128-gcm)", "ssh-aes128gcm", "ssh", true, true,
     start_ssh_peer_aes},
    {"peer-ssh-chacha20", "OpenSSH ssh -D (chacha20)", "ssh-chacha20", "ssh", true, true,
     start_ssh_peer_chacha},
};

}  // namespace

void PeerProc::stop() {
  if (pid <= 0) return;
  ::kill(-pid, SIGTERM);  // the group: socat's forked children too
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

std::span<const PeerDef> peer_rows() { return kPeers; }

std::string find_binary(const char* name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    if (d.empty()) continue;
    const std::string f = d + "/" + name;
    if (::access(f.c_str(), X_OK) == 0) return f;
  }
  return "";
}

}  // namespace sluice::perf

#include "peer_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace sluice::test {

using namespace std::chrono_literals;

std::string find_binary(const char* name) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/usr/local/bin/"}) {
    std::string p = std::string(dir) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

std::string require_binary(const char* name, const char* package) {
  std::string p = find_binary(name);
  if (p.empty())
    FAIL(std::string("interop peer `") + name + "` not found in /usr/bin, /usr/sbin or " +
         "/usr/local/bin: install the Debian package `" + package + "` (scripts/bootstrap)");
  return p;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  path = tmpl;
}

TempDir::~TempDir() {
  for (const std::string& f : files) std::remove(f.c_str());
  ::rmdir(path.c_str());
}

std::string TempDir::file(const std::string& name) {
  files.push_back(path + "/" + name);
  return files.back();
}

std::string TempDir::write(const std::string& name, const std::string& text) {
  const std::string p = file(name);
  std::ofstream(p) << text;
  return p;
}

uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_accepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

Peer::Peer(std::string n, std::vector<std::string> argv, std::string log_path)
    : name(std::move(n)), log(std::move(log_path)) {
  std::vector<char*> args;
  for (auto& s : argv) args.push_back(s.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
}

Peer::~Peer() {
  if (pid <= 0 || exited) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
}

bool Peer::alive() {
  if (pid <= 0 || exited) return false;
  if (waitpid(pid, &status, WNOHANG) == pid) exited = true;
  return !exited;
}

bool Peer::wait_listening(const std::vector<uint16_t>& ports, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  size_t ready = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (!alive()) return false;
    while (ready < ports.size() && port_accepts(ports[ready])) ++ready;
    if (ready == ports.size()) return alive();
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string Peer::describe() {
  std::string s =
      name + (alive() ? " (running)" : " (exited, status " + std::to_string(status) + ")");
  return s + ", output:\n" + tail(slurp(log));
}

}  // namespace sluice::test

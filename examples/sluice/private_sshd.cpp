// private_sshd.cpp: a throwaway sshd for the demo and the benchmark.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "private_sshd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace sluice::cli {
namespace {

bool executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

std::string find_in(const char* name, std::initializer_list<const char*> dirs) {
  for (const char* d : dirs) {
    std::string p = std::string(d) + "/" + name;
    if (executable(p)) return p;
  }
  return {};
}

// run waits for |argv| with stdin, stdout and stderr on /dev/null.
bool run(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_RDWR, 0);
  pid_t pid;
  const int rc = posix_spawn(&pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

// greets: 127.0.0.1:|port| accepts and sends an SSH banner.
bool greets(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[8] = {};
    ok = ::recv(fd, buf, 4, MSG_WAITALL) == 4 && std::string(buf, 4) == "SSH-";
  }
  ::close(fd);
  return ok;
}

std::string slurp_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

}  // namespace

std::string PrivateSshd::sshd_path() { return find_in("sshd", {"/usr/sbin", "/usr/local/sbin"}); }

bool PrivateSshd::prepare_keys(const std::string& dir, std::string* why) {
  const std::string keygen = find_in("ssh-keygen", {"/usr/bin", "/usr/local/bin"});
  if (keygen.empty()) {
    *why = "ssh-keygen is not installed (apt-get install openssh-client)";
    return false;
  }
  for (const char* name : {"host_ed25519", "user_ed25519"}) {
    const std::string k = dir + "/" + name;
    if (::access((k + ".pub").c_str(), R_OK) == 0) continue;
    if (!run({keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sluice", "-f", k})) {
      *why = "ssh-keygen failed for " + k;
      return false;
    }
  }
  return true;
}

std::string PrivateSshd::config_text(uint16_t port, const std::string& key_dir,
                                     const std::string& run_dir) {
  return "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " + key_dir +
         "/host_ed25519\nPidFile " + run_dir + "/sshd.pid\nAuthorizedKeysFile " + key_dir +
         "/user_ed25519.pub\nUsePAM no\nStrictModes no\nPermitRootLogin yes\n"
         "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
         "AllowTcpForwarding yes\nMaxStartups 100\nLogLevel ERROR\n";
}

std::string PrivateSshd::public_key_line(const std::string& path) {
  std::string line = slurp_line(path);
  const size_t sp = line.find(' ');
  const size_t sp2 = sp == std::string::npos ? sp : line.find(' ', sp + 1);
  return sp2 == std::string::npos ? line : line.substr(0, sp2);
}

bool PrivateSshd::start(std::string* why, const std::string& key_dir) {
  const std::string sshd = sshd_path();
  if (sshd.empty()) {
    *why = "OpenSSH's sshd is not installed (apt-get install openssh-server)";
    return false;
  }
  char tmpl[] = "/tmp/sluice_sshd_XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    *why = "cannot make a temporary folder";
    return false;
  }
  dir_ = tmpl;
  key_dir_ = key_dir.empty() ? dir_ : key_dir;
  if (::getuid() == 0) ::mkdir("/run/sshd", 0755);  // sshd's privilege separation folder
  const passwd* pw = ::getpwuid(::getuid());
  user_ = pw ? pw->pw_name : "root";
  if (!prepare_keys(key_dir_, why)) return false;
  user_key_ = key_dir_ + "/user_ed25519";
  host_key_line_ = public_key_line(key_dir_ + "/host_ed25519.pub");
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    const std::string cfg = dir_ + "/sshd_config";
    std::ofstream(cfg) << config_text(port_, key_dir_, dir_);
    std::vector<std::string> argv = {sshd, "-D", "-e", "-f", cfg};
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = dir_ + "/sshd.log";
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&at, 0);
    const int rc = posix_spawn(&pid_, a[0], &fa, &at, a.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
      pid_ = -1;
      *why = "cannot start " + sshd;
      return false;
    }
    for (int i = 0; i < 100; ++i) {
      if (greets(port_)) return true;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    std::ifstream f(log);
    std::stringstream ss;
    ss << f.rdbuf();
    *why = "sshd did not start: " + ss.str();
  }
  return false;
}

PrivateSshd::~PrivateSshd() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);  // its process group: the listener and its children
    ::waitpid(pid_, nullptr, 0);
    ::kill(-pid_, SIGKILL);
  }
  if (!dir_.empty()) {
    if (key_dir_ == dir_) {
      for (const char* f :
           {"/host_ed25519", "/host_ed25519.pub", "/user_ed25519", "/user_ed25519.pub"})
        ::unlink((dir_ + f).c_str());
    }
    for (const char* f : {"/sshd_config", "/sshd.pid", "/sshd.log"}) ::unlink((dir_ + f).c_str());
    ::rmdir(dir_.c_str());
  }
}

}  // namespace sluice::cli

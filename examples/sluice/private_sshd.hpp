// private_sshd.hpp: PrivateSshd, OpenSSH's sshd started on 127.0.0.1 with a
// throwaway config, host key and user key, for `sluice demo` and
// tunnel_bench's ssh rows.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// start() makes a private folder in /tmp, generates an Ed25519 host key and
// user key with ssh-keygen, writes an sshd_config (127.0.0.1 only, public
// key auth for the current user, forwarding allowed, UsePAM no, StrictModes
// no, PermitRootLogin yes for root) and runs `sshd -D -e` in its own process
// group on a free port. The destructor stops that process group and removes
// the folder. Without sshd or ssh-keygen (Debian: openssh-server,
// openssh-client) start() says so and returns false.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sluice::cli {

class PrivateSshd {
 public:
  PrivateSshd() = default;
  PrivateSshd(const PrivateSshd&) = delete;
  PrivateSshd& operator=(const PrivateSshd&) = delete;
  ~PrivateSshd();

  // start runs sshd; false with the reason in |why|. The keys are made in
  // |key_dir| unless they are there already ("": the private folder).
  bool start(std::string* why, const std::string& key_dir = "");
  // sshd_path: the sshd binary, or "" if it is not installed.
  static std::string sshd_path();
  // prepare_keys makes host_ed25519 and user_ed25519 (and .pub) in |dir|
  // with ssh-keygen unless they exist.
  static bool prepare_keys(const std::string& dir, std::string* why);
  // config_text: an sshd_config for 127.0.0.1:|port| with the keys in
  // |key_dir|, its pid file in |run_dir|.
  static std::string config_text(uint16_t port, const std::string& key_dir,
                                 const std::string& run_dir);
  // public_key_line: "<type> <base64>" of the .pub file |path|.
  static std::string public_key_line(const std::string& path);

  uint16_t port() const { return port_; }
  const std::string& host_key_line() const { return host_key_line_; }  // "ssh-ed25519 AAAA..."
  const std::string& user_key_path() const { return user_key_; }
  const std::string& user() const { return user_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;      // config, pid file, log
  std::string key_dir_;  // host and user keys
  std::string host_key_line_;
  std::string user_key_;
  std::string user_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sluice::cli

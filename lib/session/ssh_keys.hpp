// ssh_keys.hpp: SshKeys, the credentials and host-key policy of an `ssh`
// outbound, parsed once when the Session is made (libssh objects).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Host keys (spec: sing-box `host_key`): each pin is an authorized_keys line
// "<type> <base64> [comment]"; the server's key must equal one of them
// (public-key comparison; the comment is ignored). When no
// host_key_algorithms are configured, the algorithms offered to the server
// are derived from the pinned types, so that a server holding several host
// keys signs with a pinned one (libssh prefers Ed25519, Go clients ECDSA).
// Alternatively an OpenSSH known_hosts file is consulted, or — only when
// asked with `insecure` — any key is accepted (and logged for pinning).
//
// User keys: the key text of `private_key`, then the file
// `private_key_path` ($VAR and ${VAR} expanded, read here once); each text
// may hold several PEM / OpenSSH blocks, and every key is tried in order.
// libssh's gcrypt build reads OpenSSH keys and legacy PEM (RSA, EC, DSA),
// not PKCS#8: such a key is refused here with the command that converts it.
//
// Threads: immutable after create(); used on the Session's loop thread.
#pragma once

#include <libssh/libssh.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/error.hpp"

namespace sluice {

struct SshKeyOptions {
  std::string host;  // for known_hosts and messages
  uint16_t port = 22;
  std::string private_key;  // key text (PEM / OpenSSH, possibly several)
  std::string private_key_path;
  std::string private_key_passphrase;
  std::vector<std::string> host_key;
  std::vector<std::string> host_key_algorithms;
  std::string known_hosts;
  bool insecure = false;
};

class SshKeys {
 public:
  // create parses the pins and loads the user keys; config_invalid (or
  // config_io for an unreadable key file) with the field named in |why|.
  static Result<std::unique_ptr<SshKeys>> create(const SshKeyOptions& o, std::string* why);
  ~SshKeys();
  SshKeys(const SshKeys&) = delete;
  SshKeys& operator=(const SshKeys&) = delete;

  // hostkeys_option: SSH_OPTIONS_HOSTKEYS to set ("" = libssh's default).
  const std::string& hostkeys_option() const noexcept { return hostkeys_; }
  // known_hosts: the file to check against ("" = none).
  const std::string& known_hosts() const noexcept { return known_hosts_; }
  // check_host_key verifies the server key of the connected |s|:
  // pin_mismatch / cert_verify_failed with the received key and its
  // SHA256 fingerprint in |why|.
  Status check_host_key(ssh_session s, std::string* why) const;

  size_t user_key_count() const noexcept { return user_keys_.size(); }
  ssh_key user_key(size_t i) const noexcept { return user_keys_[i]; }
  // user_key_name: "key 2 (ssh-ed25519 SHA256:...)" for messages.
  const std::string& user_key_name(size_t i) const noexcept { return user_key_names_[i]; }

 private:
  SshKeys() = default;
  std::vector<ssh_key> pins_;
  std::vector<ssh_key> user_keys_;
  std::vector<std::string> user_key_names_;
  std::string hostkeys_;
  std::string known_hosts_;
  bool insecure_ = false;
};

// ssh_key_line: "<type> <base64>" of |k| ("" on failure).
std::string ssh_key_line(ssh_key k);
// ssh_key_fingerprint: "SHA256:..." of |k| ("" on failure).
std::string ssh_key_fingerprint(ssh_key k);
// expand_env_path expands $VAR and ${VAR} as sing-box does for
// private_key_path (an unset variable expands to "").
std::string expand_env_path(const std::string& path);

}  // namespace sluice

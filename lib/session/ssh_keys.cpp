// ssh_keys.cpp: host-key pins, known_hosts and user keys of the ssh outbound.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "session/ssh_keys.hpp"

#include <cctype>
#include <cstdlib>

#include <unistd.h>

#include "core/file.hpp"
#include "proto/base64.hpp"
#include "sluice/log.hpp"

namespace sluice {
namespace {

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// split_pem cuts |text| into its "-----BEGIN ...-----" ... "-----END ...-----"
// blocks; false (|why| set) for text outside a block or an unterminated one.
bool split_pem(const std::string& text, std::vector<std::string>* out, std::string* why) {
  size_t pos = 0;
  while (true) {
    const size_t b = text.find("-----BEGIN ", pos);
    if (trim(std::string_view(text).substr(pos,
                                           b == std::string::npos ? std::string::npos : b - pos))
            .size() != 0) {
      *why = "not a PEM or OpenSSH private key (text outside \"-----BEGIN ...-----\" armour)";
      return false;
    }
    if (b == std::string::npos) break;
    const size_t label_end = text.find("-----", b + 11);
    if (label_end == std::string::npos) {
      *why = "unterminated \"-----BEGIN\" line";
      return false;
    }
    const std::string label = text.substr(b + 11, label_end - (b + 11));
    const std::string end_line = "-----END " + label + "-----";
    const size_t e = text.find(end_line, label_end);
    if (e == std::string::npos) {
      *why = "no \"" + end_line + "\" line";
      return false;
    }
    out->push_back(text.substr(b, e + end_line.size() - b));
    pos = e + end_line.size();
  }
  if (out->empty()) *why = "no key (expected \"-----BEGIN OPENSSH PRIVATE KEY-----\" or PEM)";
  return !out->empty();
}

// kMaxKdfRounds bounds the bcrypt rounds of an encrypted OpenSSH key:
// ssh-keygen's default is 16 and `-a 100` a common hardening; each round
// costs about 10 ms, so a key claiming 131,088 rounds (the OpenSSH format
// allows 2^32) would hold the loop thread for twenty minutes.
constexpr uint32_t kMaxKdfRounds = 1000;

// openssh_kdf_rounds reads the bcrypt rounds of an OpenSSH-format key block
// ("openssh-key-v1", cipher, kdfname "bcrypt", kdfoptions = salt, rounds);
// 0 when the block is not encrypted with bcrypt or cannot be read this far
// (libssh then judges it).
uint32_t openssh_kdf_rounds(const std::string& block) {
  static constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
  static constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
  if (block.rfind(kBegin, 0) != 0) return 0;
  const size_t end = block.find(kEnd);
  if (end == std::string::npos) return 0;
  std::string body;
  for (size_t i = kBegin.size(); i < end; ++i)
    if (!std::isspace(static_cast<unsigned char>(block[i]))) body.push_back(block[i]);
  auto raw = base64_decode(body);
  if (!raw) return 0;
  std::string_view d(*raw);
  static constexpr std::string_view kMagic("openssh-key-v1\0", 15);
  if (d.substr(0, kMagic.size()) != kMagic) return 0;
  d.remove_prefix(kMagic.size());
  auto u32 = [&](uint32_t* v) {
    if (d.size() < 4) return false;
    *v = (uint32_t{static_cast<uint8_t>(d[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(d[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(d[2])} << 8) | uint32_t{static_cast<uint8_t>(d[3])};
    d.remove_prefix(4);
    return true;
  };
  auto str = [&](std::string_view* s) {
    uint32_t n = 0;
    if (!u32(&n) || n > d.size()) return false;
    *s = d.substr(0, n);
    d.remove_prefix(n);
    return true;
  };
  std::string_view cipher, kdf, options, salt;
  if (!str(&cipher) || !str(&kdf) || !str(&options) || kdf != "bcrypt") return 0;
  d = options;
  uint32_t rounds = 0;
  if (!str(&salt) || !u32(&rounds)) return 0;
  return rounds;
}

// hostkey_algorithms_for maps a pinned key type to the signature
// algorithms that make the server sign with that key (docs/protocols/ssh.md).
std::string hostkey_algorithms_for(const std::string& type) {
  if (type == "ssh-rsa") return "rsa-sha2-512,rsa-sha2-256";
  return type;
}

}  // namespace

std::string ssh_key_line(ssh_key k) {
  char* b64 = nullptr;
  if (ssh_pki_export_pubkey_base64(k, &b64) != SSH_OK || b64 == nullptr) return {};
  std::string line = ssh_key_type_to_char(ssh_key_type(k));
  line.push_back(' ');
  line += b64;
  ssh_string_free_char(b64);
  return line;
}

std::string ssh_key_fingerprint(ssh_key k) {
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(k, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0) return {};
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (fp == nullptr) return {};
  std::string s = fp;
  ssh_string_free_char(fp);
  return s;
}

std::string expand_env_path(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size();) {
    if (path[i] != '$' || i + 1 == path.size()) {
      out.push_back(path[i++]);
      continue;
    }
    size_t start = i + 1, end;
    std::string name;
    if (path[start] == '{') {
      end = path.find('}', start + 1);
      if (end == std::string::npos) {
        out.append(path, i, std::string::npos);
        break;
      }
      name = path.substr(start + 1, end - start - 1);
      i = end + 1;
    } else {
      end = start;
      while (end < path.size() &&
             (std::isalnum(static_cast<unsigned char>(path[end])) || path[end] == '_'))
        ++end;
      if (end == start) {
        out.push_back(path[i++]);
        continue;
      }
      name = path.substr(start, end - start);
      i = end;
    }
    if (const char* v = std::getenv(name.c_str())) out += v;
  }
  return out;
}

Result<std::unique_ptr<SshKeys>> SshKeys::create(const SshKeyOptions& o, std::string* why) {
  std::unique_ptr<SshKeys> k(new (std::nothrow) SshKeys());
  if (!k) return Errc::no_memory;
  auto fail = [&](Errc e, std::string w) -> Errc {
    if (why) *why = std::move(w);
    return e;
  };

  // Pins.
  std::vector<std::string> pinned_types;
  for (size_t i = 0; i < o.host_key.size(); ++i) {
    const std::string line = trim(o.host_key[i]);
    const size_t sp = line.find_first_of(" \t");
    const std::string where = "host_key[" + std::to_string(i) + "]: ";
    if (sp == std::string::npos) {
      return fail(Errc::config_invalid, where + "expected \"<type> <base64 key> [comment]\"");
    }
    const std::string type = line.substr(0, sp);
    std::string rest = trim(std::string_view(line).substr(sp));
    const std::string blob = rest.substr(0, rest.find_first_of(" \t"));
    const enum ssh_keytypes_e t = ssh_key_type_from_name(type.c_str());
    if (t == SSH_KEYTYPE_UNKNOWN) {
      return fail(Errc::config_invalid, where + "unknown key type \"" + type +
                                            "\" (expected ssh-ed25519, ecdsa-sha2-nistp256/"
                                            "384/521 or ssh-rsa)");
    }
    ssh_key pin = nullptr;
    if (ssh_pki_import_pubkey_base64(blob.c_str(), t, &pin) != SSH_OK || pin == nullptr) {
      return fail(Errc::config_invalid,
                  where + "the base64 key does not decode to a " + type + " public key");
    }
    k->pins_.push_back(pin);
    const std::string algs = hostkey_algorithms_for(type);
    bool seen = false;
    for (const auto& p : pinned_types) seen = seen || p == algs;
    if (!seen) pinned_types.push_back(algs);
  }
  for (const auto& a : o.host_key_algorithms) {
    if (!k->hostkeys_.empty()) k->hostkeys_.push_back(',');
    k->hostkeys_ += a;
  }
  if (k->hostkeys_.empty()) {
    for (const auto& a : pinned_types) {
      if (!k->hostkeys_.empty()) k->hostkeys_.push_back(',');
      k->hostkeys_ += a;
    }
  }
  k->known_hosts_ = o.known_hosts;
  if (!k->known_hosts_.empty() && ::access(k->known_hosts_.c_str(), R_OK) != 0) {
    return fail(Errc::config_io, "known_hosts: cannot read \"" + k->known_hosts_ + "\"");
  }
  k->insecure_ = o.insecure;
  if (k->pins_.empty() && k->known_hosts_.empty() && !k->insecure_) {
    return fail(Errc::config_invalid,
                "host_key: no pins, no known_hosts and not insecure: the server cannot be "
                "verified");
  }

  // User keys.
  struct Source {
    std::string field, text;
  };
  std::vector<Source> sources;
  if (!o.private_key.empty()) sources.push_back({"private_key", o.private_key});
  if (!o.private_key_path.empty()) {
    const std::string path = expand_env_path(o.private_key_path);
    std::string text;
    if (!read_file(path, &text)) {
      return fail(Errc::config_io, "private_key_path: cannot read \"" + path + "\"");
    }
    sources.push_back({"private_key_path " + path, std::move(text)});
  }
  for (const auto& src : sources) {
    std::vector<std::string> blocks;
    std::string w;
    if (!split_pem(src.text, &blocks, &w)) return fail(Errc::config_invalid, src.field + ": " + w);
    for (size_t i = 0; i < blocks.size(); ++i) {
      const std::string where =
          src.field + (blocks.size() > 1 ? " (key " + std::to_string(i + 1) + ")" : "") + ": ";
      const std::string& b = blocks[i];
      if (b.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0 ||
          b.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0) {
        return fail(Errc::config_invalid,
                    where +
                        "PKCS#8 keys are not supported by libssh's gcrypt build; convert it "
                        "to the OpenSSH format with `ssh-keygen -p -f <file>`");
      }
      if (const uint32_t rounds = openssh_kdf_rounds(b); rounds > kMaxKdfRounds) {
        return fail(Errc::bad_key,
                    where + "the key is encrypted with " + std::to_string(rounds) +
                        " bcrypt rounds, over sluice's limit of " + std::to_string(kMaxKdfRounds) +
                        " (decrypting it would stall the engine); re-encrypt it with fewer: "
                        "`ssh-keygen -p -a 100 -f <file>`");
      }
      ssh_key key = nullptr;
      const char* pass =
          o.private_key_passphrase.empty() ? nullptr : o.private_key_passphrase.c_str();
      if (ssh_pki_import_privkey_base64(b.c_str(), pass, nullptr, nullptr, &key) != SSH_OK ||
          key == nullptr) {
        const bool encrypted = b.find("ENCRYPTED") != std::string::npos ||
                               b.find("aes256-ctr") != std::string::npos ||
                               b.rfind("-----BEGIN OPENSSH PRIVATE KEY-----", 0) == 0;
        return fail(
            Errc::bad_key,
            where + "cannot load the private key" +
                (o.private_key_passphrase.empty()
                     ? std::string(encrypted ? " (encrypted? set private_key_passphrase)" : "")
                     : std::string(" (wrong private_key_passphrase?)")) +
                "; supported: OpenSSH format and PEM RSA/EC keys");
      }
      k->user_keys_.push_back(key);
      k->user_key_names_.push_back("key " + std::to_string(k->user_keys_.size()) + " (" +
                                   ssh_key_type_to_char(ssh_key_type(key)) + " " +
                                   ssh_key_fingerprint(key) + ")");
    }
  }
  return k;
}

SshKeys::~SshKeys() {
  for (ssh_key p : pins_) ssh_key_free(p);
  for (ssh_key u : user_keys_) ssh_key_free(u);
}

Status SshKeys::check_host_key(ssh_session s, std::string* why) const {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(s, &key) != SSH_OK || key == nullptr) {
    *why = std::string("no server host key: ") + ssh_get_error(s);
    return Errc::protocol_violation;
  }
  const std::string line = ssh_key_line(key);
  const std::string fp = ssh_key_fingerprint(key);
  Status st;
  if (!pins_.empty()) {
    bool ok = false;
    for (ssh_key p : pins_) ok = ok || ssh_key_cmp(p, key, SSH_KEY_CMP_PUBLIC) == 0;
    if (!ok) {
      *why = "host key mismatch: server sent " + line + " (" + fp +
             "), which is none of the host_key pins";
      st = Errc::pin_mismatch;
    }
  } else if (!known_hosts_.empty()) {
    switch (ssh_session_is_known_server(s)) {
      case SSH_KNOWN_HOSTS_OK:
        break;
      case SSH_KNOWN_HOSTS_CHANGED:
        *why = "host key mismatch: server sent " + line + " (" + fp + "), known_hosts " +
               known_hosts_ + " holds another key for this server";
        st = Errc::pin_mismatch;
        break;
      case SSH_KNOWN_HOSTS_OTHER:
        *why = "host key mismatch: server sent " + line + " (" + fp + "), known_hosts " +
               known_hosts_ + " holds a key of another type for this server";
        st = Errc::pin_mismatch;
        break;
      case SSH_KNOWN_HOSTS_UNKNOWN:
        *why = "host key not trusted: server sent " + line + " (" + fp + "), which known_hosts " +
               known_hosts_ + " does not list";
        st = Errc::cert_verify_failed;
        break;
      case SSH_KNOWN_HOSTS_NOT_FOUND:
        *why = "known_hosts file " + known_hosts_ + " not found";
        st = Errc::config_io;
        break;
      case SSH_KNOWN_HOSTS_ERROR:
      default:
        *why = "known_hosts " + known_hosts_ + ": " + ssh_get_error(s);
        st = Errc::cert_verify_failed;
        break;
    }
  } else {
    SLUICE_LOG_WARN("ssh: insecure: accepting host key %s (%s) unchecked; pin it with host_key",
                    line.c_str(), fp.c_str());
  }
  ssh_key_free(key);
  return st;
}

}  // namespace sluice

// config/ssh.cpp: the ssh outbound (docs/config.md, "ssh"). Only the shape
// of each field is checked here; the keys and host-key pins are parsed with
// libssh when the Session is made (lib/session/ssh_keys.cpp), which names
// the field of a key it cannot read.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/parse.hpp"

namespace sluice::config {

Status parse_ssh_outbound(ObjectReader& r, SshOutboundOptions* o) {
  SLUICE_TRY(r.string("server", &o->endpoint.server, true));
  // sing-box: a missing or zero port means 22.
  SLUICE_TRY(r.port("server_port", &o->endpoint.server_port, false, 0));
  if (o->endpoint.server_port == 0) o->endpoint.server_port = 22;
  SLUICE_TRY(r.string("user", &o->user));
  if (o->user.empty()) o->user = "root";  // sing-box's default
  SLUICE_TRY(r.string("password", &o->password));
  // private_key is listable: an array holds the lines of one key text.
  std::vector<std::string> lines;
  SLUICE_TRY(r.listable("private_key", &lines));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) o->private_key.push_back('\n');
    o->private_key += lines[i];
  }
  SLUICE_TRY(r.string("private_key_path", &o->private_key_path));
  SLUICE_TRY(r.string("private_key_passphrase", &o->private_key_passphrase));
  SLUICE_TRY(r.listable("host_key", &o->host_key));
  for (size_t i = 0; i < o->host_key.size(); ++i) {
    const std::string& k = o->host_key[i];
    const size_t sp = k.find_first_of(" \t");
    if (sp == std::string::npos || k.find_first_not_of(" \t", sp) == std::string::npos) {
      return r.ctx().fail(Errc::config_invalid, index_path(r.path("host_key"), i),
                          "expected \"<type> <base64 key> [comment]\" (an authorized_keys "
                          "line, e.g. \"ssh-ed25519 AAAAC3Nz...\"), got \"" +
                              k + "\"");
    }
  }
  SLUICE_TRY(r.listable("host_key_algorithms", &o->host_key_algorithms));
  for (size_t i = 0; i < o->host_key_algorithms.size(); ++i) {
    const std::string& a = o->host_key_algorithms[i];
    if (a.empty() || a.find_first_of(", \t") != std::string::npos) {
      return r.ctx().fail(Errc::config_invalid, index_path(r.path("host_key_algorithms"), i),
                          "expected one algorithm name such as \"ssh-ed25519\", got \"" + a + "\"");
    }
  }
  SLUICE_TRY(r.string("client_version", &o->client_version));
  SLUICE_TRY(r.string("known_hosts", &o->known_hosts));
  SLUICE_TRY(r.boolean("insecure", &o->insecure));
  if (o->password.empty() && o->private_key.empty() && o->private_key_path.empty()) {
    return r.ctx().fail(Errc::config_missing_field, r.path(),
                        "ssh needs \"password\", \"private_key\" or \"private_key_path\"");
  }
  if (o->host_key.empty() && o->known_hosts.empty() && !o->insecure) {
    return r.ctx().fail(Errc::config_missing_field, r.path("host_key"),
                        "ssh needs \"host_key\" pins or a \"known_hosts\" file to check the "
                        "server, or \"insecure\": true to accept any host key (sing-box accepts "
                        "any key when host_key is empty; sluice asks for it explicitly)");
  }
  return {};
}

}  // namespace sluice::config

// ssh_rows.hpp: tunnel_bench rows for the ssh outbound, and their OpenSSH
// reference rows.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Sluice rows "ssh-aes128gcm" and "ssh-chacha20": a SOCKS5 inbound in front
// of an SshSession offering only that cipher, against a private OpenSSH
// sshd (examples/sluice/private_sshd.hpp) that the server-side child runs
// (so sshd's CPU and memory are not in the server column). The keys live in
// the bench material folder (ssh/), shared by both sides.
//
// Peer rows "peer-ssh-aes128gcm" and "peer-ssh-chacha20": OpenSSH's own
// client, `ssh -N -D` (dynamic forwarding: a SOCKS5 server whose streams
// are direct-tcpip channels, the same channels as `ssh -L`) with the same
// cipher, to its own sshd (server side), measured in the same run.
#pragma once

#include <span>

#include "peer_rows.hpp"
#include "tunnel_rows.hpp"

namespace sluice::perf {

std::span<const RowDef> ssh_rows();

// start_ssh_peer_aes / _chacha: PeerDef::start for the `ssh -D` rows.
bool start_ssh_peer_aes(const PeerDef& def, const std::string& binary, const PeerEnv& env,
                        PeerRun* out, std::string* error);
bool start_ssh_peer_chacha(const PeerDef& def, const std::string& binary, const PeerEnv& env,
                           PeerRun* out, std::string* error);

}  // namespace sluice::perf

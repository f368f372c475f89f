// proto/reality/client_auth.hpp: the REALITY client half on the TLS 1.3
// engine: it seals the session id in the engine's pre-send hook and judges
// the server's certificate in its verifier.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// One ClientAuth per connection, shared (std::shared_ptr) by the two
// std::functions install() puts into a tls13::ClientConfig; the glue keeps
// a reference and asks it, once the handshake is over, whether the peer was
// a REALITY server (verified()) or a real site with a valid chain
// (real_site()), in which case it must act like a browser and then fail
// with "not a REALITY server", sending no application byte of its own.
// Sans-I/O: the clock reading comes from the caller.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "proto/reality/auth.hpp"
#include "proto/tls13/client.hpp"

namespace sluice::reality {

struct ClientOptions {
  Key server_public_key{};
  ShortId short_id{};
  Version version = kDefaultClientVersion;
  // For the dial glue: no X25519MLKEM768 share, and the path of the
  // browser-like request to a server that is not REALITY's (spider.hpp).
  bool x25519_only = false;
  std::string spider_x = "/";
};

class ClientAuth {
 public:
  // ClientAuth takes the options and the Unix time (seconds) to put in the
  // token.
  ClientAuth(const ClientOptions& options, uint32_t unix_seconds) noexcept;

  // seal is the pre-send hook: derives the auth key from the plain X25519
  // share and writes the sealed token into the session id.
  void seal(const tls13::ClientHelloHookView& hello);

  // check is the certificate verifier: a REALITY leaf (certificate_hmac under
  // our auth key) passes; any other chain goes to |browser| (the ordinary
  // WebPKI check for the SNI), and when that passes the peer is recorded as
  // a real site. Fails with internal_error if seal() never ran.
  tls13::Outcome check(std::span<const tls13::CertificateEntry> chain, std::string_view sni,
                       const tls13::CertificateVerifier& browser);

  bool sealed() const noexcept { return sealed_; }
  bool verified() const noexcept { return verified_; }
  bool real_site() const noexcept { return real_site_; }
  const AuthKey& auth_key() const noexcept { return auth_key_; }

 private:
  ClientOptions options_;
  uint32_t unix_seconds_;
  AuthKey auth_key_{};
  bool sealed_ = false;     // seal() wrote a token
  bool verified_ = false;   // the leaf carried our HMAC
  bool real_site_ = false;  // not REALITY, but a chain the browser check accepts
};

// install points |config|'s pre_send hook and verifier at |auth|; |browser|
// judges a chain that is not REALITY's (required: without it such a chain
// fails with bad_certificate).
void install(const std::shared_ptr<ClientAuth>& auth, tls13::ClientConfig& config,
             tls13::CertificateVerifier browser);

}  // namespace sluice::reality

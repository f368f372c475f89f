// proto/reality/client_auth.cpp: see client_auth.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/client_auth.hpp"

#include <algorithm>

#include "proto/reality/certificate.hpp"

namespace sluice::reality {

ClientAuth::ClientAuth(const ClientOptions& options, uint32_t unix_seconds) noexcept
    : options_(options), unix_seconds_(unix_seconds) {}

void ClientAuth::seal(const tls13::ClientHelloHookView& hello) {
  sealed_ = false;
  if (hello.session_id.size() != kSessionIdLen || hello.random.size() != 32) return;
  if (!client_auth_key(hello.x25519_private, options_.server_public_key, hello.random, auth_key_))
    return;
  SessionPlaintext p;
  p.version = options_.version;
  p.unix_seconds = unix_seconds_;
  p.short_id = options_.short_id;
  std::array<uint8_t, kPlaintextLen> pt{};
  encode_plaintext(p, pt);
  // The engine drew a random session id; the AAD has it zeroed (the view's
  // session id aliases those bytes of the message).
  std::fill(hello.session_id.begin(), hello.session_id.end(), uint8_t{0});
  std::array<uint8_t, kSessionIdLen> sid{};
  if (!seal_session_id(auth_key_, hello.message, pt, sid)) return;
  std::copy(sid.begin(), sid.end(), hello.session_id.begin());
  sealed_ = true;
}

tls13::Outcome ClientAuth::check(std::span<const tls13::CertificateEntry> chain,
                                 std::string_view sni, const tls13::CertificateVerifier& browser) {
  using tls13::Alert;
  using tls13::Outcome;
  if (!sealed_) return Outcome::fail(Alert::internal_error, "REALITY token was not sealed");
  if (!chain.empty() && is_reality_certificate(chain[0].cert_data, auth_key_)) {
    verified_ = true;
    return Outcome::success();
  }
  if (!browser)
    return Outcome::fail(Alert::bad_certificate, "not a REALITY server and no chain check");
  Outcome o = browser(chain, sni);
  if (o) real_site_ = true;
  return o;
}

void install(const std::shared_ptr<ClientAuth>& auth, tls13::ClientConfig& config,
             tls13::CertificateVerifier browser) {
  config.pre_send = [auth](const tls13::ClientHelloHookView& v) { auth->seal(v); };
  config.verifier = [auth, browser = std::move(browser)](
                        std::span<const tls13::CertificateEntry> chain, std::string_view sni) {
    return auth->check(chain, sni, browser);
  };
  // REALITY servers sign CertificateVerify with ed25519 whether or not it
  // was offered.
  if (std::find(config.extra_signature_schemes.begin(), config.extra_signature_schemes.end(),
                tls13::kSigEd25519) == config.extra_signature_schemes.end())
    config.extra_signature_schemes.push_back(tls13::kSigEd25519);
}

}  // namespace sluice::reality

// x25519_mlkem768.cpp: the X25519MLKEM768 TLS hybrid over sluice's ML-KEM-768
// and BoringSSL's X25519.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/pq/x25519_mlkem768.hpp"

#include <cstring>

#include <openssl/curve25519.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "crypto/pq/ct.hpp"

namespace sluice::pq {
namespace {

constexpr size_t kX25519Size = 32;

// x25519_checked runs X25519 and reports whether the result is usable. An
// all-zero result (a low-order peer point) aborts the handshake, which the
// peer sees anyway, so the flag is declassified for the constant-time check
// (the secret itself never is).
bool x25519_checked(uint8_t out[kX25519Size], const uint8_t priv[kX25519Size],
                    const uint8_t peer[kX25519Size]) {
  int ok = X25519(out, priv, peer);
  SLUICE_PQ_DECLASSIFY(&ok, sizeof(ok));
  return ok == 1;
}

// server_respond does the server's work once m and the X25519 private key are
// chosen: ek checks (FIPS 203 §7.2), encapsulation, X25519.
Status server_respond(std::span<const uint8_t> client_share,
                      std::span<const uint8_t, kMlkemMessageSize> m,
                      const uint8_t x25519_private[kX25519Size],
                      std::span<uint8_t, kX25519Mlkem768ServerShareSize> out_share,
                      std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) {
  OPENSSL_cleanse(out_share.data(), out_share.size());
  OPENSSL_cleanse(out_secret.data(), out_secret.size());
  if (client_share.size() != kX25519Mlkem768ClientShareSize) return Errc::malformed;
  auto ek = Mlkem768EncapsKey::parse(client_share.first(kMlkem768EncapsKeySize));
  if (!ek) return Errc::bad_key;  // the only failure left is the modulus check
  ek->encapsulate_deterministic(m, out_share.first<kMlkem768CiphertextSize>(),
                                out_secret.first<kMlkemSharedSecretSize>());
  X25519_public_from_private(out_share.data() + kMlkem768CiphertextSize, x25519_private);
  if (!x25519_checked(out_secret.data() + kMlkemSharedSecretSize, x25519_private,
                      client_share.data() + kMlkem768EncapsKeySize)) {
    OPENSSL_cleanse(out_share.data(), out_share.size());
    OPENSSL_cleanse(out_secret.data(), out_secret.size());
    return Errc::bad_key;  // all-zero output: the client sent a low-order point
  }
  return {};
}

}  // namespace

X25519Mlkem768Client::X25519Mlkem768Client(const Mlkem768DecapsKey& mlkem,
                                           std::span<const uint8_t, 32> x25519_private) noexcept
    : mlkem_(mlkem) {
  std::memcpy(x25519_private_, x25519_private.data(), kX25519Size);
  const auto ek = mlkem_.encaps_key().bytes();
  std::memcpy(share_, ek.data(), ek.size());
  X25519_public_from_private(share_ + kMlkem768EncapsKeySize, x25519_private_);
}

X25519Mlkem768Client::~X25519Mlkem768Client() {
  OPENSSL_cleanse(x25519_private_, sizeof(x25519_private_));
}

Result<X25519Mlkem768Client> X25519Mlkem768Client::generate() noexcept {
  auto mlkem = Mlkem768DecapsKey::generate();
  if (!mlkem) return mlkem.error();
  uint8_t priv[kX25519Size];
  if (RAND_bytes(priv, sizeof(priv)) != 1) return Errc::crypto_failure;
  X25519Mlkem768Client client(*mlkem, std::span<const uint8_t, 32>(priv));
  OPENSSL_cleanse(priv, sizeof(priv));
  return client;
}

X25519Mlkem768Client X25519Mlkem768Client::from_seed_for_test(
    std::span<const uint8_t, kMlkemSeedSize> mlkem_seed,
    std::span<const uint8_t, 32> x25519_private) noexcept {
  return X25519Mlkem768Client(Mlkem768DecapsKey::from_seed(mlkem_seed), x25519_private);
}

Status X25519Mlkem768Client::finish(
    std::span<const uint8_t> server_share,
    std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) const noexcept {
  OPENSSL_cleanse(out_secret.data(), out_secret.size());
  if (server_share.size() != kX25519Mlkem768ServerShareSize) return Errc::malformed;
  // The length was checked, so decapsulation cannot fail.
  (void)mlkem_.decapsulate(server_share.first(kMlkem768CiphertextSize),
                           out_secret.first<kMlkemSharedSecretSize>());
  if (!x25519_checked(out_secret.data() + kMlkemSharedSecretSize, x25519_private_,
                      server_share.data() + kMlkem768CiphertextSize)) {
    OPENSSL_cleanse(out_secret.data(), out_secret.size());
    return Errc::bad_key;
  }
  return {};
}

Status x25519_mlkem768_server(std::span<const uint8_t> client_share,
                              std::span<uint8_t, kX25519Mlkem768ServerShareSize> out_share,
                              std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) noexcept {
  uint8_t m[kMlkemMessageSize], priv[kX25519Size];
  if (RAND_bytes(m, sizeof(m)) != 1 || RAND_bytes(priv, sizeof(priv)) != 1) {
    OPENSSL_cleanse(out_share.data(), out_share.size());
    OPENSSL_cleanse(out_secret.data(), out_secret.size());
    return Errc::crypto_failure;
  }
  Status s = server_respond(client_share, std::span<const uint8_t, kMlkemMessageSize>(m), priv,
                            out_share, out_secret);
  OPENSSL_cleanse(m, sizeof(m));
  OPENSSL_cleanse(priv, sizeof(priv));
  return s;
}

Status x25519_mlkem768_server_for_test(
    std::span<const uint8_t> client_share, std::span<const uint8_t, kMlkemMessageSize> mlkem_m,
    std::span<const uint8_t, 32> x25519_private,
    std::span<uint8_t, kX25519Mlkem768ServerShareSize> out_share,
    std::span<uint8_t, kX25519Mlkem768SecretSize> out_secret) noexcept {
  return server_respond(client_share, mlkem_m, x25519_private.data(), out_share, out_secret);
}

}  // namespace sluice::pq

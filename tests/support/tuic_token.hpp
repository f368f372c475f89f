// tests/support/tuic_token.hpp: the TUIC v5 token computed from a TLS 1.3
// exporter master secret with sluice's HKDF (RFC 8446 §7.5), independent of
// BoringSSL's SSL_export_keying_material, so tests can check the two agree.
//
//   d     = HKDF-Expand-Label(exporter_secret, label = UUID (16 raw bytes), Hash(""), Hash.len)
//   token = HKDF-Expand-Label(d, "exporter", Hash(password), 32)
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "sluice/cipher.hpp"

namespace sluice::test {

inline std::array<uint8_t, 32> tuic_token_from_exporter_secret(std::span<const uint8_t> secret,
                                                               std::span<const uint8_t, 16> uuid,
                                                               std::string_view password) {
  std::array<uint8_t, 32> empty_hash{};
  std::array<uint8_t, 32> ctx_hash{};
  if (!Digest::hash(DigestAlgorithm::sha256, {}, empty_hash)) return {};
  if (!Digest::hash(DigestAlgorithm::sha256,
                    {reinterpret_cast<const uint8_t*>(password.data()), password.size()}, ctx_hash))
    return {};
  std::array<uint8_t, 32> derived{};
  std::array<uint8_t, 32> token{};
  std::string_view label(reinterpret_cast<const char*>(uuid.data()), uuid.size());
  if (!hkdf_expand_label(DigestAlgorithm::sha256, secret, label, empty_hash, derived)) return {};
  if (!hkdf_expand_label(DigestAlgorithm::sha256, derived, "exporter", ctx_hash, token)) return {};
  return token;
}

}  // namespace sluice::test

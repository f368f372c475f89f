// hkdf.cpp: HKDF (RFC 5869) and TLS 1.3's HKDF-Expand-Label / Derive-Secret
// (RFC 8446 §7.1), built on Hmac so that no call allocates.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include <openssl/mem.h>

#include <algorithm>
#include <cstring>

#include "sluice/cipher.hpp"

namespace sluice {

namespace {
// RFC 8446 §7.1: every HkdfLabel.label starts with this.
constexpr std::string_view kTls13LabelPrefix = "tls13 ";
// RFC 8446 §7.1: opaque label<7..255>, opaque context<0..255>.
constexpr size_t kMaxLabel = 255;
constexpr size_t kMaxContext = 255;
}  // namespace

Status hkdf_extract(DigestAlgorithm alg, std::span<const uint8_t> salt,
                    std::span<const uint8_t> ikm, std::span<uint8_t> out_prk) noexcept {
  // An empty salt needs no special case: HMAC zero-pads its key to a block,
  // so "no salt" and "HashLen zero bytes" (RFC 5869 §2.2) are the same key.
  return Hmac::mac(alg, salt, ikm, out_prk);
}

Status hkdf_expand(DigestAlgorithm alg, std::span<const uint8_t> prk, std::span<const uint8_t> info,
                   std::span<uint8_t> out) noexcept {
  const size_t hash_len = digest_len(alg);
  if (out.size() > 255 * hash_len || prk.size() < hash_len) return Errc::invalid_argument;
  Hmac mac(alg, prk);
  uint8_t t[kMaxDigestLen];  // T(i); T(0) is empty
  size_t t_len = 0;
  uint8_t counter = 1;
  for (size_t done = 0; done < out.size(); ++counter) {
    mac.update(t, t_len);
    mac.update(info);
    mac.update(&counter, 1);
    (void)mac.finish(t);  // also rekeys |mac| for the next block
    t_len = hash_len;
    const size_t n = std::min(hash_len, out.size() - done);
    std::memcpy(out.data() + done, t, n);
    done += n;
  }
  OPENSSL_cleanse(t, sizeof(t));
  return {};
}

Status hkdf_expand_label(DigestAlgorithm alg, std::span<const uint8_t> secret,
                         std::string_view label, std::span<const uint8_t> context,
                         std::span<uint8_t> out) noexcept {
  const size_t full_label = kTls13LabelPrefix.size() + label.size();
  if (label.empty() || full_label > kMaxLabel || context.size() > kMaxContext ||
      out.size() > 0xffff) {
    return Errc::invalid_argument;
  }
  // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel;
  uint8_t info[2 + 1 + kMaxLabel + 1 + kMaxContext];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(full_label);
  std::memcpy(info + n, kTls13LabelPrefix.data(), kTls13LabelPrefix.size());
  n += kTls13LabelPrefix.size();
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) std::memcpy(info + n, context.data(), context.size());
  n += context.size();
  return hkdf_expand(alg, secret, std::span<const uint8_t>(info, n), out);
}

Status derive_secret(DigestAlgorithm alg, std::span<const uint8_t> secret, std::string_view label,
                     std::span<const uint8_t> transcript_hash, std::span<uint8_t> out) noexcept {
  const size_t hash_len = digest_len(alg);
  if (out.size() < hash_len) return Errc::buffer_too_small;
  return hkdf_expand_label(alg, secret, label, transcript_hash, out.first(hash_len));
}

}  // namespace sluice

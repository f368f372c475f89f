// proto/reality/auth.cpp: the REALITY session-id token (see auth.hpp).
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "proto/reality/auth.hpp"

#include <algorithm>
#include <vector>

#include "proto/base64.hpp"
#include "sluice/cipher.hpp"

namespace sluice::reality {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr uint8_t kInfo[] = {'R', 'E', 'A', 'L', 'I', 'T', 'Y'};
constexpr size_t kSaltLen = 20;  // random[0..20)
constexpr size_t kNonceAt = 20;  // random[20..32)

// session_id_of returns CH[39..71) if the hello carries a 32-byte session id
// there (its length byte at offset 38 is 32).
std::span<const uint8_t> session_id_of(std::span<const uint8_t> ch) noexcept {
  if (ch.size() < kSessionIdOffset + kSessionIdLen || ch[kSessionIdOffset - 1] != kSessionIdLen)
    return {};
  return ch.subspan(kSessionIdOffset, kSessionIdLen);
}

}  // namespace

Result<ShortId> parse_short_id(std::string_view hex) {
  if (hex.size() % 2 != 0 || hex.size() > 2 * kShortIdLen) return Errc::config_invalid;
  ShortId id{};
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Errc::config_invalid;
    id[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

Result<Version> parse_version(std::string_view text) {
  std::array<uint8_t, 3> parts{};
  size_t part = 0;
  unsigned value = 0;
  size_t digits = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (digits == 0 || part >= 3) return Errc::config_invalid;
      parts[part++] = static_cast<uint8_t>(value);
      value = 0;
      digits = 0;
      continue;
    }
    if (text[i] < '0' || text[i] > '9' || ++digits > 3) return Errc::config_invalid;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
    if (value > 255) return Errc::config_invalid;
  }
  if (part != 3) return Errc::config_invalid;
  return Version{parts[0], parts[1], parts[2]};
}

Result<Key> parse_key(std::string_view text) {
  Result<std::string> raw = base64_decode(text, Base64Alphabet::url);
  if (!raw) raw = base64_decode(text, Base64Alphabet::standard);
  if (!raw || raw->size() != kKeyLen) return Errc::config_invalid;
  Key k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

std::string encode_key(std::span<const uint8_t, kKeyLen> key) {
  return base64_encode(key, Base64Alphabet::url, false);
}

Key public_key_of(std::span<const uint8_t, kKeyLen> private_key) {
  Key pub{};
  (void)x25519_public_from_private(private_key, pub);  // lengths are fixed: cannot fail
  return pub;
}

void encode_plaintext(const SessionPlaintext& p, std::span<uint8_t, kPlaintextLen> out) noexcept {
  out[0] = p.version.x;
  out[1] = p.version.y;
  out[2] = p.version.z;
  out[3] = 0;
  out[4] = static_cast<uint8_t>(p.unix_seconds >> 24);
  out[5] = static_cast<uint8_t>(p.unix_seconds >> 16);
  out[6] = static_cast<uint8_t>(p.unix_seconds >> 8);
  out[7] = static_cast<uint8_t>(p.unix_seconds);
  std::copy(p.short_id.begin(), p.short_id.end(), out.begin() + 8);
}

SessionPlaintext decode_plaintext(std::span<const uint8_t, kPlaintextLen> in) noexcept {
  SessionPlaintext p;
  p.version = {in[0], in[1], in[2]};
  p.unix_seconds = static_cast<uint32_t>(in[4]) << 24 | static_cast<uint32_t>(in[5]) << 16 |
                   static_cast<uint32_t>(in[6]) << 8 | in[7];
  std::copy(in.begin() + 8, in.end(), p.short_id.begin());
  return p;
}

Status derive_auth_key(std::span<const uint8_t, kKeyLen> shared, std::span<const uint8_t> random,
                       AuthKey& out) noexcept {
  if (random.size() != 32) return Errc::invalid_argument;
  std::array<uint8_t, 32> prk{};
  Status st = hkdf_extract(DigestAlgorithm::sha256, random.first(kSaltLen), shared, prk);
  if (st) st = hkdf_expand(DigestAlgorithm::sha256, prk, kInfo, out);
  secure_wipe(prk);
  return st;
}

Status seal_session_id(const AuthKey& key, std::span<const uint8_t> client_hello,
                       std::span<const uint8_t, kPlaintextLen> plaintext,
                       std::span<uint8_t, kSessionIdLen> out) {
  const auto sid = session_id_of(client_hello);
  if (sid.empty() || std::any_of(sid.begin(), sid.end(), [](uint8_t b) { return b != 0; }))
    return Errc::invalid_argument;
  auto aead = Aead::create(AeadAlgorithm::aes_256_gcm, key);
  if (!aead) return aead.error();
  const auto nonce = client_hello.subspan(6 + kNonceAt, kAeadNonceLen);
  std::copy(plaintext.begin(), plaintext.end(), out.begin());
  return aead->seal(nonce, client_hello, out.data(), kPlaintextLen, out.data() + kPlaintextLen);
}

Status open_session_id(const AuthKey& key, std::span<const uint8_t> client_hello,
                       std::span<uint8_t, kPlaintextLen> out) {
  const auto sid = session_id_of(client_hello);
  if (sid.empty()) return Errc::malformed;
  auto aead = Aead::create(AeadAlgorithm::aes_256_gcm, key);
  if (!aead) return aead.error();
  // The AAD is the hello with its session id zeroed: one copy per handshake.
  std::vector<uint8_t> aad(client_hello.begin(), client_hello.end());
  std::fill_n(aad.begin() + kSessionIdOffset, kSessionIdLen, uint8_t{0});
  const auto nonce = client_hello.subspan(6 + kNonceAt, kAeadNonceLen);
  std::array<uint8_t, kPlaintextLen> pt{};
  std::copy_n(sid.begin(), kPlaintextLen, pt.begin());
  Status st = aead->open(nonce, aad, pt.data(), kPlaintextLen, sid.data() + kPlaintextLen);
  if (!st) return Errc::decrypt_failed;
  std::copy(pt.begin(), pt.end(), out.begin());
  return {};
}

Result<std::span<const uint8_t, kKeyLen>> find_client_x25519(const tls13::ClientHello& ch) {
  const tls13::Extension* ks = ch.extensions.find(tls13::ext::key_share);
  if (ks == nullptr) return Errc::not_supported;
  std::array<tls13::KeyShareEntry, tls13::kMaxKeyShares> shares;
  size_t n = 0;
  if (!tls13::parse_client_key_shares(ks->data, shares, n)) return Errc::malformed;
  for (size_t i = 0; i < n; ++i)
    if (shares[i].group == tls13::kGroupX25519 && shares[i].key_exchange.size() == kKeyLen)
      return shares[i].key_exchange.first<kKeyLen>();
  for (size_t i = 0; i < n; ++i)
    if (shares[i].group == tls13::kGroupX25519Mlkem768 &&
        shares[i].key_exchange.size() == 1184 + kKeyLen)
      return shares[i].key_exchange.last<kKeyLen>();
  return Errc::not_supported;
}

Status server_auth_key(std::span<const uint8_t, kKeyLen> private_key,
                       std::span<const uint8_t, kKeyLen> client_share,
                       std::span<const uint8_t> random, AuthKey& out) noexcept {
  std::array<uint8_t, kKeyLen> shared{};
  Status st = x25519(private_key, client_share, shared);
  if (st) st = derive_auth_key(shared, random, out);
  secure_wipe(shared);
  return st;
}

Status client_auth_key(std::span<const uint8_t, kKeyLen> share_private,
                       std::span<const uint8_t, kKeyLen> server_public,
                       std::span<const uint8_t> random, AuthKey& out) noexcept {
  return server_auth_key(share_private, server_public, random, out);
}

}  // namespace sluice::reality

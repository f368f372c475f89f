// tls_ech.cpp: ECHConfigList parsing and filtering, ECH KEYS, generation.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/tls_ech.hpp"

#include <openssl/bytestring.h>
#include <openssl/curve25519.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "crypto/tls_pem.hpp"

namespace sluice::tls {
namespace {

Errc fail(std::string* why, const char* w) {
  if (why) *why = w;
  return Errc::malformed;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool valid_public_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 255 || name.back() == '.') return false;
  bool all_numeric_last = true;
  size_t label = 0;
  size_t last_label_start = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      last_label_start = i + 1;
      continue;
    }
    const bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  if (label == 0) return false;
  // IPv4-like: the last label numeric (the draft's rule, which catches
  // "1.2.3.4" and "0x7f.1" alike).
  std::string_view last = name.substr(last_label_start);
  for (char c : last) all_numeric_last = all_numeric_last && is_digit(c);
  if (all_numeric_last) return false;
  if (last.size() > 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) return false;
  return true;
}

Result<EchConfig> parse_ech_config(std::span<const uint8_t> bytes, std::string* why) {
  CBS cbs, contents;
  CBS_init(&cbs, bytes.data(), bytes.size());
  EchConfig c;
  if (!CBS_get_u16(&cbs, &c.version) || !CBS_get_u16_length_prefixed(&cbs, &contents) ||
      CBS_len(&cbs) != 0)
    return fail(why, "ECHConfig length does not match");
  c.raw.assign(bytes.begin(), bytes.end());
  if (c.version != kEchVersion) return c;
  CBS pub, suites, name, exts;
  if (!CBS_get_u8(&contents, &c.config_id) || !CBS_get_u16(&contents, &c.kem_id) ||
      !CBS_get_u16_length_prefixed(&contents, &pub) || CBS_len(&pub) == 0 ||
      !CBS_get_u16_length_prefixed(&contents, &suites) || CBS_len(&suites) == 0 ||
      CBS_len(&suites) % 4 != 0 || !CBS_get_u8(&contents, &c.max_name_len) ||
      !CBS_get_u8_length_prefixed(&contents, &name) || CBS_len(&name) == 0 ||
      !CBS_get_u16_length_prefixed(&contents, &exts) || CBS_len(&contents) != 0)
    return fail(why, "ECHConfig contents are malformed");
  c.public_key.assign(CBS_data(&pub), CBS_data(&pub) + CBS_len(&pub));
  while (CBS_len(&suites) > 0) {
    uint16_t kdf, aead;
    CBS_get_u16(&suites, &kdf);
    CBS_get_u16(&suites, &aead);
    c.suites.emplace_back(kdf, aead);
  }
  c.public_name.assign(reinterpret_cast<const char*>(CBS_data(&name)), CBS_len(&name));
  while (CBS_len(&exts) > 0) {
    uint16_t type;
    CBS body;
    if (!CBS_get_u16(&exts, &type) || !CBS_get_u16_length_prefixed(&exts, &body))
      return fail(why, "ECHConfig extensions are malformed");
    if (type & 0x8000) c.has_mandatory_extension = true;
  }
  return c;
}

Result<std::vector<EchConfig>> parse_ech_config_list(std::span<const uint8_t> list,
                                                     std::string* why) {
  CBS cbs, body;
  CBS_init(&cbs, list.data(), list.size());
  if (!CBS_get_u16_length_prefixed(&cbs, &body) || CBS_len(&cbs) != 0)
    return fail(why, "ECHConfigList length does not match its contents");
  if (CBS_len(&body) < 4) return fail(why, "empty ECHConfigList");
  std::vector<EchConfig> out;
  while (CBS_len(&body) > 0) {
    const uint8_t* start = CBS_data(&body);
    uint16_t version;
    CBS contents;
    if (!CBS_get_u16(&body, &version) || !CBS_get_u16_length_prefixed(&body, &contents))
      return fail(why, "ECHConfig runs past the end of the list");
    auto c = parse_ech_config({start, static_cast<size_t>(CBS_data(&body) - start)}, why);
    if (!c) return c.error();
    out.push_back(std::move(*c));
  }
  return out;
}

bool usable_by_client(const EchConfig& c) noexcept {
  if (c.version != kEchVersion || c.kem_id != kHpkeKemX25519 || c.public_key.size() != 32 ||
      c.has_mandatory_extension || !valid_public_name(c.public_name))
    return false;
  for (const auto& [kdf, aead] : c.suites)
    if (kdf == kHpkeKdfSha256 && aead >= 1 && aead <= 3) return true;
  return false;
}

Result<std::vector<uint8_t>> filter_ech_config_list(std::span<const uint8_t> list,
                                                    std::string* why) {
  auto configs = parse_ech_config_list(list, why);
  if (!configs) return configs.error();
  std::vector<uint8_t> out(2);
  for (const EchConfig& c : *configs)
    if (usable_by_client(c)) out.insert(out.end(), c.raw.begin(), c.raw.end());
  if (out.size() == 2) {
    if (why) *why = "no usable ECH config (need version fe0d, KEM X25519, HKDF-SHA256)";
    return Errc::not_supported;
  }
  const size_t n = out.size() - 2;
  out[0] = static_cast<uint8_t>(n >> 8);
  out[1] = static_cast<uint8_t>(n);
  return out;
}

Result<std::vector<uint8_t>> ech_config_list_from_text(std::string_view text, std::string* why) {
  if (text.find("-----BEGIN") != std::string_view::npos)
    return parse_single_pem(text, "ECH CONFIGS", why);
  auto b = decode_base64(text);
  if (!b || b->empty())
    return fail(why, "ECH config is neither an ECH CONFIGS PEM block nor base64");
  return std::move(*b);
}

Result<std::vector<EchKey>> parse_ech_keys(std::string_view pem, std::string* why) {
  auto blob = parse_single_pem(pem, "ECH KEYS", why);
  if (!blob) return blob.error();
  CBS cbs;
  CBS_init(&cbs, blob->data(), blob->size());
  std::vector<EchKey> out;
  while (CBS_len(&cbs) > 0) {
    CBS key, config;
    if (!CBS_get_u16_length_prefixed(&cbs, &key) || !CBS_get_u16_length_prefixed(&cbs, &config))
      return fail(why, "ECH KEYS blob is truncated");
    if (CBS_len(&key) != 32) return fail(why, "ECH KEYS: private key is not 32 bytes (X25519)");
    auto c = parse_ech_config({CBS_data(&config), CBS_len(&config)}, why);
    if (!c) return c.error();
    if (c->version != kEchVersion || c->kem_id != kHpkeKemX25519)
      return fail(why, "ECH KEYS: only version fe0d with KEM X25519 is supported");
    EchKey k;
    k.private_key.assign(CBS_data(&key), CBS_data(&key) + 32);
    k.config = std::move(c->raw);
    out.push_back(std::move(k));
  }
  if (out.empty()) return fail(why, "ECH KEYS blob is empty");
  return out;
}

Result<EchKeyPairPem> generate_ech_keypair(std::string_view public_name, uint8_t config_id,
                                           std::span<const uint8_t> private_key) {
  if (!valid_public_name(public_name)) return Errc::invalid_argument;
  uint8_t priv[32], pub[32];
  if (private_key.size() == 32) {
    std::copy(private_key.begin(), private_key.end(), priv);
    X25519_public_from_private(pub, priv);
  } else {
    X25519_keypair(pub, priv);
  }
  bssl::ScopedCBB cbb;
  CBB contents, pk, suites, name, exts;
  if (!CBB_init(cbb.get(), 128) || !CBB_add_u16(cbb.get(), kEchVersion) ||
      !CBB_add_u16_length_prefixed(cbb.get(), &contents) || !CBB_add_u8(&contents, config_id) ||
      !CBB_add_u16(&contents, kHpkeKemX25519) || !CBB_add_u16_length_prefixed(&contents, &pk) ||
      !CBB_add_bytes(&pk, pub, 32) || !CBB_add_u16_length_prefixed(&contents, &suites))
    return Errc::crypto_failure;
  for (uint16_t aead : {1, 2, 3}) {
    if (!CBB_add_u16(&suites, kHpkeKdfSha256) || !CBB_add_u16(&suites, aead))
      return Errc::crypto_failure;
  }
  if (!CBB_add_u8(&contents, 0) || !CBB_add_u8_length_prefixed(&contents, &name) ||
      !CBB_add_bytes(&name, reinterpret_cast<const uint8_t*>(public_name.data()),
                     public_name.size()) ||
      !CBB_add_u16_length_prefixed(&contents, &exts) || !CBB_flush(cbb.get()))
    return Errc::crypto_failure;
  const std::vector<uint8_t> config(CBB_data(cbb.get()), CBB_data(cbb.get()) + CBB_len(cbb.get()));

  std::vector<uint8_t> list;
  list.push_back(static_cast<uint8_t>(config.size() >> 8));
  list.push_back(static_cast<uint8_t>(config.size()));
  list.insert(list.end(), config.begin(), config.end());
  std::vector<uint8_t> keys = {0, 32};
  keys.insert(keys.end(), priv, priv + 32);
  keys.push_back(static_cast<uint8_t>(config.size() >> 8));
  keys.push_back(static_cast<uint8_t>(config.size()));
  keys.insert(keys.end(), config.begin(), config.end());
  EchKeyPairPem out;
  out.configs = encode_pem("ECH CONFIGS", list.data(), list.size());
  out.keys = encode_pem("ECH KEYS", keys.data(), keys.size());
  OPENSSL_cleanse(priv, sizeof priv);
  return out;
}

}  // namespace sluice::tls

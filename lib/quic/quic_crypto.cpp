// quic_crypto.cpp: QUIC packet protection for ngtcp2 over BoringSSL (RFC 9001 §5, §6).
#include "quic/quic_crypto.hpp"

#include <openssl/aes.h>
#include <openssl/chacha.h>

#include <cstring>
#include <new>

#include "core/check.hpp"

namespace sluice::quic {

// RFC 9001 §6.6: AES-GCM may protect 2^23 packets per key and tolerate 2^52
// forgeries; ChaCha20-Poly1305's confidentiality limit exceeds 2^62 packets
// and its integrity limit is 2^36.
const Suite kSuiteAes128Gcm{0x1301,
                            AeadAlgorithm::aes_128_gcm,
                            DigestAlgorithm::sha256,
                            HpAlgorithm::aes_128,
                            16,
                            1ull << 23,
                            1ull << 52};
const Suite kSuiteAes256Gcm{0x1302,
                            AeadAlgorithm::aes_256_gcm,
                            DigestAlgorithm::sha384,
                            HpAlgorithm::aes_256,
                            32,
                            1ull << 23,
                            1ull << 52};
const Suite kSuiteChaCha20{0x1303,
                           AeadAlgorithm::chacha20_poly1305,
                           DigestAlgorithm::sha256,
                           HpAlgorithm::chacha20,
                           32,
                           1ull << 62,
                           1ull << 36};

// RFC 9001 §5.2.
const uint8_t kInitialSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
// RFC 9001 §5.8.
const uint8_t kRetryKeyV1[16] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
const uint8_t kRetryNonceV1[12] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63,
                                   0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};

static_assert(sizeof(AES_KEY) <= sizeof(HpKey::state), "HpKey must hold an AES_KEY");
static_assert(kStatelessResetTokenLen == NGTCP2_STATELESS_RESET_TOKENLEN);

namespace {

const Suite* suite_of(const ngtcp2_crypto_aead* a) noexcept {
  return static_cast<const Suite*>(a->native_handle);
}

Aead* aead_of(const ngtcp2_crypto_aead_ctx* c) noexcept {
  return static_cast<Aead*>(c->native_handle);
}

}  // namespace

const Suite* suite_from_tls_id(uint16_t id) noexcept {
  switch (id) {
    case 0x1301:
      return &kSuiteAes128Gcm;
    case 0x1302:
      return &kSuiteAes256Gcm;
    case 0x1303:
      return &kSuiteChaCha20;
    default:
      return nullptr;
  }
}

PacketKeys::~PacketKeys() {
  secure_wipe(key);
  secure_wipe(iv);
  secure_wipe(hp);
}

Status derive_initial_secrets(std::span<const uint8_t> dcid,
                              std::span<uint8_t, kInitialSecretLen> client,
                              std::span<uint8_t, kInitialSecretLen> server) noexcept {
  if (dcid.size() > NGTCP2_MAX_CIDLEN) return Errc::invalid_argument;
  uint8_t initial[kInitialSecretLen];
  SLUICE_TRY(hkdf_extract(DigestAlgorithm::sha256, kInitialSaltV1, dcid, initial));
  Status st = hkdf_expand_label(DigestAlgorithm::sha256, initial, "client in", {}, client);
  if (st) st = hkdf_expand_label(DigestAlgorithm::sha256, initial, "server in", {}, server);
  secure_wipe(initial);
  return st;
}

Status derive_packet_keys(const Suite& s, std::span<const uint8_t> secret, PacketKeys& out,
                          bool with_hp) noexcept {
  out.key_len = s.key_len;
  SLUICE_TRY(hkdf_expand_label(s.md, secret, "quic key", {}, {out.key, s.key_len}));
  SLUICE_TRY(hkdf_expand_label(s.md, secret, "quic iv", {}, out.iv));
  if (with_hp) SLUICE_TRY(hkdf_expand_label(s.md, secret, "quic hp", {}, {out.hp, s.key_len}));
  return {};
}

Status update_traffic_secret(const Suite& s, std::span<const uint8_t> secret,
                             std::span<uint8_t> out) noexcept {
  if (out.size() != secret.size()) return Errc::invalid_argument;
  return hkdf_expand_label(s.md, secret, "quic ku", {}, out);
}

HpKey::~HpKey() { secure_wipe(state); }

HpKey* make_hp_key(const Suite& s, std::span<const uint8_t> key) noexcept {
  if (key.size() != s.key_len) return nullptr;
  auto* k = new (std::nothrow) HpKey;
  if (!k) return nullptr;
  k->alg = s.hp;
  switch (s.hp) {
    case HpAlgorithm::aes_128:
    case HpAlgorithm::aes_256:
      // Cannot fail for a 128- or 256-bit key.
      SLUICE_CHECK(AES_set_encrypt_key(key.data(), static_cast<unsigned>(key.size() * 8),
                                       reinterpret_cast<AES_KEY*>(k->state)) == 0);
      break;
    case HpAlgorithm::chacha20:
      std::memcpy(k->state, key.data(), 32);
      break;
  }
  return k;
}

void hp_mask(const HpKey& k, const uint8_t* sample, uint8_t* out) noexcept {
  switch (k.alg) {
    case HpAlgorithm::aes_128:
    case HpAlgorithm::aes_256:
      // §5.4.3: mask = AES-ECB(hp_key, sample).
      AES_encrypt(sample, out, reinterpret_cast<const AES_KEY*>(k.state));
      break;
    case HpAlgorithm::chacha20: {
      // §5.4.4: counter = sample[0..3] little-endian, nonce = sample[4..15],
      // mask = ChaCha20(hp_key, counter, nonce, {0,0,0,0,0}).
      const uint32_t counter =
          static_cast<uint32_t>(sample[0]) | static_cast<uint32_t>(sample[1]) << 8 |
          static_cast<uint32_t>(sample[2]) << 16 | static_cast<uint32_t>(sample[3]) << 24;
      static const uint8_t kZeros[5] = {0, 0, 0, 0, 0};
      CRYPTO_chacha_20(out, kZeros, sizeof kZeros, k.state, sample + 4, counter);
      break;
    }
  }
}

Status retry_integrity_tag(std::span<const uint8_t> odcid, std::span<const uint8_t> retry,
                           std::span<uint8_t, kAeadTagLen> out) noexcept {
  if (odcid.size() > NGTCP2_MAX_CIDLEN) return Errc::invalid_argument;
  // Retry Pseudo-Packet (§5.8): ODCID Length (8), ODCID, then the Retry
  // packet up to (not including) its tag. A Retry carries at most a short
  // token in practice; 1500 bytes bound any UDP payload we accept.
  uint8_t pseudo[1 + NGTCP2_MAX_CIDLEN + 1500];
  if (retry.size() > 1500) return Errc::invalid_argument;
  pseudo[0] = static_cast<uint8_t>(odcid.size());
  if (!odcid.empty()) std::memcpy(pseudo + 1, odcid.data(), odcid.size());
  if (!retry.empty()) std::memcpy(pseudo + 1 + odcid.size(), retry.data(), retry.size());
  auto aead = Aead::create(AeadAlgorithm::aes_128_gcm, kRetryKeyV1);
  if (!aead) return aead.error();
  return aead->seal_scatter(kRetryNonceV1, {pseudo, 1 + odcid.size() + retry.size()}, nullptr, 0,
                            nullptr, out.data());
}

StatelessResetKey::StatelessResetKey() noexcept { random_bytes(key_); }
StatelessResetKey::StatelessResetKey(std::span<const uint8_t, 32> key) noexcept {
  std::memcpy(key_, key.data(), sizeof key_);
}
StatelessResetKey::~StatelessResetKey() { secure_wipe(key_); }

void StatelessResetKey::token(std::span<const uint8_t> cid, uint8_t* out16) const noexcept {
  uint8_t mac[32];
  // Cannot fail: the output is exactly one SHA-256 digest.
  (void)Hmac::mac(DigestAlgorithm::sha256, key_, cid, mac);
  std::memcpy(out16, mac, kStatelessResetTokenLen);
  secure_wipe(mac);
}

// --- ngtcp2 glue -------------------------------------------------------------

void fill_crypto_ctx(const Suite& s, ngtcp2_crypto_ctx& ctx, bool initial) noexcept {
  ctx.aead.native_handle = const_cast<Suite*>(&s);
  ctx.aead.max_overhead = kAeadTagLen;
  ctx.md.native_handle = const_cast<Suite*>(&s);
  ctx.hp.native_handle = const_cast<Suite*>(&s);
  ctx.max_encryption = initial ? 0 : s.max_encryption;
  ctx.max_decryption_failure = initial ? 0 : s.max_decryption_failure;
}

Status make_aead_ctx(const Suite& s, std::span<const uint8_t> key,
                     ngtcp2_crypto_aead_ctx& ctx) noexcept {
  ctx.native_handle = nullptr;
  auto* a = new (std::nothrow) Aead;
  if (!a) return Errc::no_memory;
  if (Status st = a->init(s.aead, key); !st) {
    delete a;
    return st;
  }
  ctx.native_handle = a;
  return {};
}

void free_aead_ctx(ngtcp2_crypto_aead_ctx& ctx) noexcept {
  delete aead_of(&ctx);
  ctx.native_handle = nullptr;
}

Status make_cipher_ctx(const Suite& s, std::span<const uint8_t> key,
                       ngtcp2_crypto_cipher_ctx& ctx) noexcept {
  ctx.native_handle = make_hp_key(s, key);
  return ctx.native_handle ? Status{} : Status{Errc::no_memory};
}

void free_cipher_ctx(ngtcp2_crypto_cipher_ctx& ctx) noexcept {
  delete static_cast<HpKey*>(ctx.native_handle);
  ctx.native_handle = nullptr;
}

Status make_retry_aead_ctx(ngtcp2_crypto_aead& aead, ngtcp2_crypto_aead_ctx& ctx) noexcept {
  aead.native_handle = const_cast<Suite*>(&kSuiteAes128Gcm);
  aead.max_overhead = kAeadTagLen;
  return make_aead_ctx(kSuiteAes128Gcm, kRetryKeyV1, ctx);
}

int encrypt_cb(uint8_t* dest, const ngtcp2_crypto_aead*, const ngtcp2_crypto_aead_ctx* aead_ctx,
               const uint8_t* plaintext, size_t plaintextlen, const uint8_t* nonce, size_t noncelen,
               const uint8_t* aad, size_t aadlen) {
  // ngtcp2 guarantees |dest| holds plaintext + tag, and dest == plaintext or
  // no overlap: exactly EVP_AEAD_CTX_seal_scatter's in-place contract.
  Status st = aead_of(aead_ctx)->seal_scatter({nonce, noncelen}, {aad, aadlen}, plaintext,
                                              plaintextlen, dest, dest + plaintextlen);
  return st ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

int decrypt_cb(uint8_t* dest, const ngtcp2_crypto_aead*, const ngtcp2_crypto_aead_ctx* aead_ctx,
               const uint8_t* ciphertext, size_t ciphertextlen, const uint8_t* nonce,
               size_t noncelen, const uint8_t* aad, size_t aadlen) {
  if (ciphertextlen < kAeadTagLen) return NGTCP2_ERR_DECRYPT;
  const size_t len = ciphertextlen - kAeadTagLen;
  Status st = aead_of(aead_ctx)->open_gather({nonce, noncelen}, {aad, aadlen}, ciphertext, len,
                                             ciphertext + len, dest);
  if (st) return 0;
  // A forged or corrupted packet is normal input: ngtcp2 counts it against
  // the integrity limit. Anything else is our bug.
  return st.error() == Errc::decrypt_failed ? NGTCP2_ERR_DECRYPT : NGTCP2_ERR_CALLBACK_FAILURE;
}

int hp_mask_cb(uint8_t* dest, const ngtcp2_crypto_cipher*, const ngtcp2_crypto_cipher_ctx* hp_ctx,
               const uint8_t* sample) {
  hp_mask(*static_cast<const HpKey*>(hp_ctx->native_handle), sample, dest);
  return 0;
}

namespace {

// update_key_cb derives the next 1-RTT key phase for both directions (§6):
// the secrets advance with "quic ku"; the hp keys do not change (§6.1).
int update_key_cb(ngtcp2_conn* conn, uint8_t* rx_secret, uint8_t* tx_secret,
                  ngtcp2_crypto_aead_ctx* rx_aead_ctx, uint8_t* rx_iv,
                  ngtcp2_crypto_aead_ctx* tx_aead_ctx, uint8_t* tx_iv,
                  const uint8_t* current_rx_secret, const uint8_t* current_tx_secret,
                  size_t secretlen, void*) {
  const Suite* s = suite_of(&ngtcp2_conn_get_crypto_ctx(conn)->aead);
  if (s == nullptr) return NGTCP2_ERR_CALLBACK_FAILURE;
  PacketKeys rx, tx;
  if (!update_traffic_secret(*s, {current_rx_secret, secretlen}, {rx_secret, secretlen}) ||
      !update_traffic_secret(*s, {current_tx_secret, secretlen}, {tx_secret, secretlen}) ||
      !derive_packet_keys(*s, {rx_secret, secretlen}, rx, false) ||
      !derive_packet_keys(*s, {tx_secret, secretlen}, tx, false)) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!make_aead_ctx(*s, {rx.key, rx.key_len}, *rx_aead_ctx)) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (!make_aead_ctx(*s, {tx.key, tx.key_len}, *tx_aead_ctx)) {
    free_aead_ctx(*rx_aead_ctx);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  std::memcpy(rx_iv, rx.iv, kIvLen);
  std::memcpy(tx_iv, tx.iv, kIvLen);
  return 0;
}

void delete_aead_ctx_cb(ngtcp2_conn*, ngtcp2_crypto_aead_ctx* ctx, void*) { free_aead_ctx(*ctx); }

void delete_cipher_ctx_cb(ngtcp2_conn*, ngtcp2_crypto_cipher_ctx* ctx, void*) {
  free_cipher_ctx(*ctx);
}

void rand_cb(uint8_t* dest, size_t destlen, const ngtcp2_rand_ctx*) {
  random_bytes({dest, destlen});
}

int path_challenge_cb(ngtcp2_conn*, uint8_t* data, void*) {
  random_bytes({data, NGTCP2_PATH_CHALLENGE_DATALEN});
  return 0;
}

// version_negotiation_cb installs Initial keys for a compatibly negotiated
// version. sluice offers QUIC v1 only, whose salt is the only one it knows;
// any other version is refused.
int version_negotiation_cb(ngtcp2_conn* conn, uint32_t version, const ngtcp2_cid* client_dcid,
                           void*) {
  if (version != NGTCP2_PROTO_VER_V1) return NGTCP2_ERR_CALLBACK_FAILURE;
  uint8_t cs[kInitialSecretLen], ss[kInitialSecretLen];
  if (!derive_initial_secrets({client_dcid->data, client_dcid->datalen}, cs, ss))
    return NGTCP2_ERR_CALLBACK_FAILURE;
  const bool server = ngtcp2_conn_is_server(conn) != 0;
  PacketKeys rx, tx;
  if (!derive_packet_keys(kSuiteAes128Gcm, server ? cs : ss, rx) ||
      !derive_packet_keys(kSuiteAes128Gcm, server ? ss : cs, tx))
    return NGTCP2_ERR_CALLBACK_FAILURE;
  secure_wipe(cs);
  secure_wipe(ss);
  ngtcp2_crypto_aead_ctx rx_a{}, tx_a{};
  ngtcp2_crypto_cipher_ctx rx_h{}, tx_h{};
  if (!make_aead_ctx(kSuiteAes128Gcm, {rx.key, 16}, rx_a) ||
      !make_aead_ctx(kSuiteAes128Gcm, {tx.key, 16}, tx_a) ||
      !make_cipher_ctx(kSuiteAes128Gcm, {rx.hp, 16}, rx_h) ||
      !make_cipher_ctx(kSuiteAes128Gcm, {tx.hp, 16}, tx_h)) {
    free_aead_ctx(rx_a);
    free_aead_ctx(tx_a);
    free_cipher_ctx(rx_h);
    free_cipher_ctx(tx_h);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  int rv = ngtcp2_conn_install_vneg_initial_key(conn, version, &rx_a, rx.iv, &rx_h, &tx_a, tx.iv,
                                                &tx_h, kIvLen);
  if (rv != 0) {
    free_aead_ctx(rx_a);
    free_aead_ctx(tx_a);
    free_cipher_ctx(rx_h);
    free_cipher_ctx(tx_h);
  }
  return rv;
}

}  // namespace

void set_packet_protection_callbacks(ngtcp2_callbacks& cb) noexcept {
  cb.encrypt = encrypt_cb;
  cb.decrypt = decrypt_cb;
  cb.hp_mask = hp_mask_cb;
  cb.update_key = update_key_cb;
  cb.delete_crypto_aead_ctx = delete_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = delete_cipher_ctx_cb;
  cb.rand = rand_cb;
  cb.get_path_challenge_data = path_challenge_cb;
  cb.version_negotiation = version_negotiation_cb;
}

int install_initial_keys(ngtcp2_conn* conn, std::span<const uint8_t> dcid, bool server) noexcept {
  ngtcp2_crypto_ctx ctx;
  fill_crypto_ctx(kSuiteAes128Gcm, ctx, true);
  ngtcp2_conn_set_initial_crypto_ctx(conn, &ctx);
  uint8_t cs[kInitialSecretLen], ss[kInitialSecretLen];
  if (!derive_initial_secrets(dcid, cs, ss)) return NGTCP2_ERR_CALLBACK_FAILURE;
  PacketKeys rx, tx;
  const bool ok = derive_packet_keys(kSuiteAes128Gcm, server ? cs : ss, rx).has_value() &&
                  derive_packet_keys(kSuiteAes128Gcm, server ? ss : cs, tx).has_value();
  secure_wipe(cs);
  secure_wipe(ss);
  if (!ok) return NGTCP2_ERR_CALLBACK_FAILURE;
  ngtcp2_crypto_aead_ctx rx_a{}, tx_a{};
  ngtcp2_crypto_cipher_ctx rx_h{}, tx_h{};
  int rv = NGTCP2_ERR_NOMEM;
  if (make_aead_ctx(kSuiteAes128Gcm, {rx.key, 16}, rx_a) &&
      make_aead_ctx(kSuiteAes128Gcm, {tx.key, 16}, tx_a) &&
      make_cipher_ctx(kSuiteAes128Gcm, {rx.hp, 16}, rx_h) &&
      make_cipher_ctx(kSuiteAes128Gcm, {tx.hp, 16}, tx_h)) {
    rv = ngtcp2_conn_install_initial_key(conn, &rx_a, rx.iv, &rx_h, &tx_a, tx.iv, &tx_h, kIvLen);
    if (rv == 0) return 0;
  }
  free_aead_ctx(rx_a);
  free_aead_ctx(tx_a);
  free_cipher_ctx(rx_h);
  free_cipher_ctx(tx_h);
  return rv;
}

int install_retry_aead(ngtcp2_conn* conn) noexcept {
  ngtcp2_crypto_aead aead;
  ngtcp2_crypto_aead_ctx ctx{};
  if (!make_retry_aead_ctx(aead, ctx)) return NGTCP2_ERR_NOMEM;
  // ngtcp2 takes ownership and frees it with delete_crypto_aead_ctx.
  ngtcp2_conn_set_retry_aead(conn, &aead, &ctx);
  return 0;
}

int install_traffic_key(ngtcp2_conn* conn, ngtcp2_crypto_level level, KeyDirection dir,
                        const Suite& s, std::span<const uint8_t> secret) noexcept {
  ngtcp2_crypto_ctx ctx;
  fill_crypto_ctx(s, ctx);
  if (level == NGTCP2_CRYPTO_LEVEL_EARLY) {
    // 0-RTT may use another suite than the handshake after a reject
    // (BoringSSL's set_write_secret note), so it has its own ctx.
    ngtcp2_conn_set_early_crypto_ctx(conn, &ctx);
  } else if (ngtcp2_conn_get_crypto_ctx(conn)->aead.native_handle == nullptr) {
    ngtcp2_conn_set_crypto_ctx(conn, &ctx);
  }
  PacketKeys k;
  if (!derive_packet_keys(s, secret, k)) return NGTCP2_ERR_CALLBACK_FAILURE;
  ngtcp2_crypto_aead_ctx a{};
  ngtcp2_crypto_cipher_ctx h{};
  if (!make_aead_ctx(s, {k.key, k.key_len}, a) || !make_cipher_ctx(s, {k.hp, k.key_len}, h)) {
    free_aead_ctx(a);
    free_cipher_ctx(h);
    return NGTCP2_ERR_NOMEM;
  }
  int rv = NGTCP2_ERR_CALLBACK_FAILURE;
  const bool rx = dir == KeyDirection::rx;
  switch (level) {
    case NGTCP2_CRYPTO_LEVEL_HANDSHAKE:
      rv = rx ? ngtcp2_conn_install_rx_handshake_key(conn, &a, k.iv, kIvLen, &h)
              : ngtcp2_conn_install_tx_handshake_key(conn, &a, k.iv, kIvLen, &h);
      break;
    case NGTCP2_CRYPTO_LEVEL_EARLY:
      rv = ngtcp2_conn_install_early_key(conn, &a, k.iv, kIvLen, &h);
      break;
    case NGTCP2_CRYPTO_LEVEL_APPLICATION:
      rv =
          rx ? ngtcp2_conn_install_rx_key(conn, secret.data(), secret.size(), &a, k.iv, kIvLen, &h)
             : ngtcp2_conn_install_tx_key(conn, secret.data(), secret.size(), &a, k.iv, kIvLen, &h);
      break;
    default:
      break;
  }
  if (rv != 0) {
    free_aead_ctx(a);
    free_cipher_ctx(h);
  }
  return rv;
}

}  // namespace sluice::quic

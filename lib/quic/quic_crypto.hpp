// quic_crypto.hpp: QUIC packet protection for ngtcp2 over BoringSSL (RFC 9001 §5).
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Debian ships ngtcp2 0.12.1 with only its GnuTLS crypto helper; sluice links
// BoringSSL, so this file is sluice's own replacement for the helper's
// packet-protection half (the TLS half is quic_tls.hpp):
//
//  * the key schedule: Initial secrets from the client's first Destination
//    Connection ID and the QUIC v1 salt (§5.2), key / iv / hp from a traffic
//    secret with "quic key" / "quic iv" / "quic hp" (§5.1), the next
//    generation of 1-RTT secrets with "quic ku" (§6.1);
//  * the callbacks ngtcp2 calls per packet: AEAD seal and open (§5.3, with
//    sluice::Aead over EVP_AEAD, in place), the header-protection mask (§5.4:
//    AES-ECB of the sample, or ChaCha20 keyed by the hp key with the sample as
//    counter and nonce), key update, delete of the native contexts;
//  * the Retry integrity tag (§5.8) and the fixed Retry AEAD;
//  * random bytes, connection IDs, PATH_CHALLENGE data and stateless-reset
//    tokens (RFC 9000 §10.3.2: a keyed hash of the CID, so a restarted server
//    can recompute them).
//
// Native handles: ngtcp2 treats `ngtcp2_crypto_aead::native_handle`,
// `ngtcp2_crypto_md::native_handle` and `ngtcp2_crypto_cipher::native_handle`
// as opaque; here they point to the static Suite of the negotiated cipher
// suite. An `ngtcp2_crypto_aead_ctx` holds a heap sluice::Aead (one per key,
// created at key installation, never per packet) and an
// `ngtcp2_crypto_cipher_ctx` a heap HpKey; ngtcp2 owns them once installed and
// frees them through delete_aead_ctx / delete_cipher_ctx.
//
// Threads: the functions are pure or touch only their arguments.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/cipher.hpp"
#include "sluice/error.hpp"

namespace sluice::quic {

// HpAlgorithm is the header-protection cipher of a suite (RFC 9001 §5.4.3, §5.4.4).
enum class HpAlgorithm : uint8_t { aes_128 = 0, aes_256 = 1, chacha20 = 2 };

// Suite is one TLS 1.3 cipher suite as QUIC uses it. The three instances are
// static; ngtcp2's native handles point at them.
struct Suite {
  uint16_t tls_id;  // 0x1301, 0x1302, 0x1303 (RFC 8446 §B.4)
  AeadAlgorithm aead;
  DigestAlgorithm md;  // the suite's hash: HKDF and the secret length
  HpAlgorithm hp;
  size_t key_len;                   // AEAD key and hp key length
  uint64_t max_encryption;          // confidentiality limit, packets (§6.6)
  uint64_t max_decryption_failure;  // integrity limit, forged packets (§6.6)
};

// The suites. kSuiteAes128Gcm also protects Initial packets (§5.2).
extern const Suite kSuiteAes128Gcm;
extern const Suite kSuiteAes256Gcm;
extern const Suite kSuiteChaCha20;

// suite_from_tls_id returns the suite for a TLS 1.3 cipher suite number
// (the low 16 bits of SSL_CIPHER_get_id), or nullptr for one QUIC cannot use.
const Suite* suite_from_tls_id(uint16_t id) noexcept;

// kIvLen is the packet-protection IV length of every suite (12: the AEAD
// nonce length, which is at least 8, §5.3).
inline constexpr size_t kIvLen = 12;
// kMaxSecretLen is the longest traffic secret (SHA-384).
inline constexpr size_t kMaxSecretLen = 48;
// kInitialSecretLen is the length of Initial secrets (SHA-256, §5.2).
inline constexpr size_t kInitialSecretLen = 32;
// kStatelessResetTokenLen is NGTCP2_STATELESS_RESET_TOKENLEN (RFC 9000 §10.3).
inline constexpr size_t kStatelessResetTokenLen = 16;

// kInitialSaltV1 is the QUIC v1 initial salt (RFC 9001 §5.2).
extern const uint8_t kInitialSaltV1[20];
// kRetryKeyV1 / kRetryNonceV1 key the Retry integrity tag (RFC 9001 §5.8).
extern const uint8_t kRetryKeyV1[16];
extern const uint8_t kRetryNonceV1[12];

// PacketKeys are the keying material derived from one traffic secret.
struct PacketKeys {
  uint8_t key[kAeadMaxKeyLen];
  uint8_t iv[kIvLen];
  uint8_t hp[kAeadMaxKeyLen];
  size_t key_len = 0;  // bytes used in key and hp
  ~PacketKeys();       // wipes
};

// derive_initial_secrets computes client_initial_secret and
// server_initial_secret (32 bytes each) from the client's first Destination
// Connection ID (RFC 9001 §5.2). invalid_argument if |dcid| exceeds 20 bytes.
[[nodiscard]] Status derive_initial_secrets(std::span<const uint8_t> dcid,
                                            std::span<uint8_t, kInitialSecretLen> client,
                                            std::span<uint8_t, kInitialSecretLen> server) noexcept;

// derive_packet_keys expands |secret| into key, iv and hp (RFC 9001 §5.1);
// |with_hp| false skips hp (key update keeps the old hp key, §6.1).
[[nodiscard]] Status derive_packet_keys(const Suite& s, std::span<const uint8_t> secret,
                                        PacketKeys& out, bool with_hp = true) noexcept;

// update_traffic_secret writes the next generation of |secret| (same length)
// to |out|: HKDF-Expand-Label(secret, "quic ku", "", Hash.length) (§6.1).
[[nodiscard]] Status update_traffic_secret(const Suite& s, std::span<const uint8_t> secret,
                                           std::span<uint8_t> out) noexcept;

// HpKey is a header-protection key schedule (an ngtcp2 cipher ctx).
struct HpKey {
  HpAlgorithm alg;
  alignas(16) uint8_t state[256];  // AES_KEY (aes) or the 32-byte key (chacha20)
  ~HpKey();                        // wipes
};

// make_hp_key returns a heap HpKey for |s| keyed with |key| (s.key_len bytes),
// or nullptr if out of memory.
HpKey* make_hp_key(const Suite& s, std::span<const uint8_t> key) noexcept;

// hp_mask writes the 5-byte mask for the 16-byte |sample| (§5.4.2); |out|
// must hold 16 bytes (AES writes a whole block).
void hp_mask(const HpKey& k, const uint8_t* sample, uint8_t* out) noexcept;

// retry_integrity_tag computes the Retry Integrity Tag of a Retry packet
// (|retry| without its tag) answering a client whose first DCID was |odcid|
// (RFC 9001 §5.8): AES-128-GCM with the fixed key and nonce over an empty
// plaintext, with the Retry Pseudo-Packet as associated data.
[[nodiscard]] Status retry_integrity_tag(std::span<const uint8_t> odcid,
                                         std::span<const uint8_t> retry,
                                         std::span<uint8_t, kAeadTagLen> out) noexcept;

// StatelessResetKey derives RFC 9000 §10.3.2 tokens: HMAC-SHA256(key, cid),
// truncated to 16 bytes. One per endpoint; random unless configured.
class StatelessResetKey {
 public:
  StatelessResetKey() noexcept;  // random key
  explicit StatelessResetKey(std::span<const uint8_t, 32> key) noexcept;
  ~StatelessResetKey();
  void token(std::span<const uint8_t> cid, uint8_t* out16) const noexcept;

 private:
  uint8_t key_[32];
};

// --- the ngtcp2 side ------------------------------------------------------

// fill_crypto_ctx sets |ctx| to describe |s| (native handles, AEAD overhead,
// the §6.6 limits). Initial packets use kSuiteAes128Gcm with the limits
// cleared, as ngtcp2's helpers do (Initial keys are public anyway).
void fill_crypto_ctx(const Suite& s, ngtcp2_crypto_ctx& ctx, bool initial = false) noexcept;

// set_packet_protection_callbacks fills the crypto members of |cb|: encrypt,
// decrypt, hp_mask, update_key, delete_crypto_aead_ctx,
// delete_crypto_cipher_ctx, rand, get_path_challenge_data and
// version_negotiation. The others are the connection's.
void set_packet_protection_callbacks(ngtcp2_callbacks& cb) noexcept;

// install_initial_keys derives and installs both directions' Initial keys
// for |dcid| on |conn| (client: after choosing the DCID, and again after a
// Retry with the Retry's SCID; server: from recv_client_initial), and sets
// the Initial crypto ctx. Returns an ngtcp2 error code (0 on success).
int install_initial_keys(ngtcp2_conn* conn, std::span<const uint8_t> dcid, bool server) noexcept;

// install_retry_aead gives a client |conn| the fixed Retry AEAD (§5.8), so
// ngtcp2 can verify a Retry's tag. Returns an ngtcp2 error code.
int install_retry_aead(ngtcp2_conn* conn) noexcept;

// make_retry_aead_ctx returns a heap AEAD ctx with the Retry key, for a
// server writing Retry packets with ngtcp2_pkt_write_retry; free it with
// free_aead_ctx.
[[nodiscard]] Status make_retry_aead_ctx(ngtcp2_crypto_aead& aead,
                                         ngtcp2_crypto_aead_ctx& ctx) noexcept;
void free_aead_ctx(ngtcp2_crypto_aead_ctx& ctx) noexcept;

// Direction of a traffic secret.
enum class KeyDirection : uint8_t { rx, tx };

// install_traffic_key derives packet keys from a TLS traffic |secret| of
// suite |s| and installs them at |level| (handshake, early or 1-RTT) for
// |dir|. The first call also records |s| as the connection's crypto ctx.
// Returns an ngtcp2 error code.
int install_traffic_key(ngtcp2_conn* conn, ngtcp2_crypto_level level, KeyDirection dir,
                        const Suite& s, std::span<const uint8_t> secret) noexcept;

// The callbacks, exposed for the unit tests (ngtcp2 calls them through the
// table set_packet_protection_callbacks fills).
int encrypt_cb(uint8_t* dest, const ngtcp2_crypto_aead* aead,
               const ngtcp2_crypto_aead_ctx* aead_ctx, const uint8_t* plaintext,
               size_t plaintextlen, const uint8_t* nonce, size_t noncelen, const uint8_t* aad,
               size_t aadlen);
int decrypt_cb(uint8_t* dest, const ngtcp2_crypto_aead* aead,
               const ngtcp2_crypto_aead_ctx* aead_ctx, const uint8_t* ciphertext,
               size_t ciphertextlen, const uint8_t* nonce, size_t noncelen, const uint8_t* aad,
               size_t aadlen);
int hp_mask_cb(uint8_t* dest, const ngtcp2_crypto_cipher* hp,
               const ngtcp2_crypto_cipher_ctx* hp_ctx, const uint8_t* sample);
// make_aead_ctx keys a heap Aead for |s| into |ctx|; free with free_aead_ctx.
[[nodiscard]] Status make_aead_ctx(const Suite& s, std::span<const uint8_t> key,
                                   ngtcp2_crypto_aead_ctx& ctx) noexcept;
// make_cipher_ctx keys a heap HpKey into |ctx|; free with free_cipher_ctx.
[[nodiscard]] Status make_cipher_ctx(const Suite& s, std::span<const uint8_t> key,
                                     ngtcp2_crypto_cipher_ctx& ctx) noexcept;
void free_cipher_ctx(ngtcp2_crypto_cipher_ctx& ctx) noexcept;

}  // namespace sluice::quic

// sluice/cipher.hpp: the cipher objects: AEAD, X25519, Ed25519, HKDF, HMAC,
// SHA-2, BLAKE2b-256 and secure random bytes, over BoringSSL.
//
// Copyright 2026 the sluice authors. Apache-2.0.
// The C++ API is source-stable, not ABI-stable; include/sluice/sluice.h is the ABI.
//
// What: thin wrappers that give the protocol cores the primitives they need
// with sluice's types (spans, Slices, Result/Status) and without exceptions.
// Every object holds its BoringSSL state inline, in opaque aligned storage
// whose size is checked against BoringSSL's struct at compile time in
// lib/crypto, so creating, using and destroying one never allocates and this
// header includes no <openssl/...> header.
//
// In place: an Aead seals and opens where the bytes are. On a Slice,
// seal_in_place() encrypts the view and appends the 16-byte tag into the
// Chunk's tailroom; open_in_place() verifies the tag and truncates it. Both
// need the Slice to be unique() (shared means read-only, see buffer.hpp).
//
//   before seal:  [ headroom | plaintext            | tailroom      ]
//   after seal:   [ headroom | ciphertext | tag(16) | tailroom - 16 ]
//
// Nonces are always explicit: the caller owns the nonce sequence (TLS 1.3 and
// QUIC build it with xor_nonce()); reusing a nonce under one key breaks both
// confidentiality and authenticity, and nothing here can detect it.
//
// Ownership: every object owns copies of its keys and wipes them (and the
// derived key schedule) with OPENSSL_cleanse when destroyed, cleared or moved
// from. Inputs are borrowed for the duration of the call only.
//
// Threads: these objects have no thread affinity. Const member functions of
// Aead (seal/open) may run concurrently on one object from several threads,
// as BoringSSL allows; anything that mutates an object (init, update, move,
// destruction) needs exclusive access. The free functions are thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sluice/buffer.hpp"
#include "sluice/error.hpp"

namespace sluice {

// ---------------------------------------------------------------------------
// AEAD
// ---------------------------------------------------------------------------

// AeadAlgorithm names the AEADs the proxy protocols use. All three take a
// 12-byte nonce and produce a 16-byte tag (RFC 5116, RFC 8439).
enum class AeadAlgorithm : uint8_t {
  aes_128_gcm = 0,        // 16-byte key
  aes_256_gcm = 1,        // 32-byte key
  chacha20_poly1305 = 2,  // 32-byte key (RFC 8439)
};

// kAeadNonceLen is the nonce length of every AeadAlgorithm.
inline constexpr size_t kAeadNonceLen = 12;
// kAeadTagLen is the tag length of every AeadAlgorithm; it fits in kTailroom.
inline constexpr size_t kAeadTagLen = 16;
// kAeadMaxKeyLen is the longest AeadAlgorithm key.
inline constexpr size_t kAeadMaxKeyLen = 32;
static_assert(kAeadTagLen <= kTailroom, "a pool chunk's tailroom must hold an AEAD tag");

// aead_key_len returns the key length of |alg| in bytes.
size_t aead_key_len(AeadAlgorithm alg) noexcept;

// aead_name returns the algorithm's name as the configs spell it
// ("aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"); never nullptr.
const char* aead_name(AeadAlgorithm alg) noexcept;

// has_aes_hardware reports whether this CPU has AES and carry-less multiply
// instructions (AES-NI + PCLMULQDQ on x86), i.e. whether AES-GCM is both fast
// and constant-time here.
bool has_aes_hardware() noexcept;

// preferred_aead chooses the AEAD for a protocol that lets the client pick
// (VMess/VLESS "auto", Shadowsocks 2022, SSH): AES-GCM where the CPU has AES
// hardware, ChaCha20-Poly1305 otherwise, since software AES is slower and
// leaks timing. |aes_256| selects AES-256-GCM instead of AES-128-GCM.
AeadAlgorithm preferred_aead(bool aes_256 = false) noexcept;

// xor_nonce builds a per-record nonce as TLS 1.3 (RFC 8446 §5.3) and QUIC
// (RFC 9001 §5.3) do: the 64-bit sequence number, big-endian and left-padded
// with zeros to 12 bytes, XORed with the static |iv|.
void xor_nonce(std::span<const uint8_t, kAeadNonceLen> iv, uint64_t seq,
               std::span<uint8_t, kAeadNonceLen> out) noexcept;

// Aead is one AEAD key: AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305. It
// keeps BoringSSL's EVP_AEAD_CTX inline (no heap). Default-constructed or
// moved-from it is empty: valid() is false and every operation returns
// Errc::invalid_state. Move-only, so a key schedule is never duplicated.
//
// Errors of every seal/open: invalid_state (empty object), invalid_argument
// (nonce not kAeadNonceLen bytes, a null pointer with a nonzero length, a
// Slice that is not unique(), or input and output that overlap without being
// equal), buffer_too_small (no room for the tag), decrypt_failed (open only:
// the tag does not match, or the input is shorter than a tag; the output
// bytes are then zeroed, never left half-decrypted).
class Aead {
 public:
  Aead() noexcept;
  ~Aead();
  Aead(Aead&& o) noexcept;
  Aead& operator=(Aead&& o) noexcept;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // create returns an Aead for |alg| keyed with |key| (copied into the key
  // schedule; the caller may wipe its copy). invalid_argument if |key| is not
  // aead_key_len(alg) bytes or |alg| is unknown; crypto_failure if BoringSSL
  // refuses the key.
  [[nodiscard]] static Result<Aead> create(AeadAlgorithm alg,
                                           std::span<const uint8_t> key) noexcept;

  // init (re)keys this object in place, wiping any previous key first; same
  // errors as create(). On failure the object is left empty.
  [[nodiscard]] Status init(AeadAlgorithm alg, std::span<const uint8_t> key) noexcept;

  // clear wipes the key schedule and leaves the object empty.
  void clear() noexcept;

  // valid reports whether the object holds a key.
  bool valid() const noexcept { return valid_; }
  // algorithm returns the algorithm (meaningful only while valid()).
  AeadAlgorithm algorithm() const noexcept { return alg_; }
  // key_len returns the key length of algorithm() in bytes.
  size_t key_len() const noexcept { return aead_key_len(alg_); }
  // nonce_len returns kAeadNonceLen.
  size_t nonce_len() const noexcept { return kAeadNonceLen; }
  // tag_len returns kAeadTagLen.
  size_t tag_len() const noexcept { return kAeadTagLen; }

  // seal encrypts |len| bytes at |inout| in place, authenticates them and
  // |ad|, and writes kAeadTagLen bytes to |tag_out| (which must not overlap
  // |inout|).
  [[nodiscard]] Status seal(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                            uint8_t* inout, size_t len, uint8_t* tag_out) const noexcept;

  // open verifies |tag| over |len| bytes of ciphertext at |inout| and |ad|,
  // and decrypts them in place.
  [[nodiscard]] Status open(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                            uint8_t* inout, size_t len, const uint8_t* tag) const noexcept;

  // seal_scatter encrypts |len| bytes from |in| to |out| (|out| == |in| or
  // not overlapping) and writes the tag to |tag_out|: the ciphertext and the
  // tag may live in different buffers (a Chain's last Slice, a QUIC packet).
  [[nodiscard]] Status seal_scatter(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                    const uint8_t* in, size_t len, uint8_t* out,
                                    uint8_t* tag_out) const noexcept;

  // open_gather verifies |tag| and decrypts |len| bytes from |in| to |out|
  // (|out| == |in| or not overlapping).
  [[nodiscard]] Status open_gather(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                   const uint8_t* in, size_t len, const uint8_t* tag,
                                   uint8_t* out) const noexcept;

  // seal_in_place encrypts the first |len| bytes of |buf| in place and writes
  // the tag right after them; returns len + kAeadTagLen, the sealed length.
  // buffer_too_small if buf.size() < len + kAeadTagLen.
  [[nodiscard]] Result<size_t> seal_in_place(std::span<const uint8_t> nonce,
                                             std::span<const uint8_t> ad, std::span<uint8_t> buf,
                                             size_t len) const noexcept;

  // open_in_place verifies and decrypts |buf| = ciphertext || tag in place;
  // returns the plaintext length, buf.size() - kAeadTagLen.
  [[nodiscard]] Result<size_t> open_in_place(std::span<const uint8_t> nonce,
                                             std::span<const uint8_t> ad,
                                             std::span<uint8_t> buf) const noexcept;

  // seal_in_place encrypts the Slice's bytes in place and appends the tag
  // into its tailroom, so s.size() grows by kAeadTagLen. Requires
  // s.unique() (else invalid_argument) and s.tailroom() >= kAeadTagLen
  // (else buffer_too_small). On failure |s| is unchanged in length.
  [[nodiscard]] Status seal_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                     Slice& s) const noexcept;

  // open_in_place verifies the tag at the end of |s|, decrypts the rest in
  // place and truncates the tag off, so s.size() shrinks by kAeadTagLen.
  // Requires s.unique() (else invalid_argument); a Slice shorter than a tag
  // is decrypt_failed. On failure |s| keeps its length (bytes zeroed).
  [[nodiscard]] Status open_in_place(std::span<const uint8_t> nonce, std::span<const uint8_t> ad,
                                     Slice& s) const noexcept;

  // kCtxSize is the inline storage reserved for BoringSSL's EVP_AEAD_CTX;
  // lib/crypto/aead.cpp static_asserts it is large enough.
  static constexpr size_t kCtxSize = 608;

 private:
  Status check_call(std::span<const uint8_t> nonce) const noexcept;

  alignas(16) unsigned char ctx_[kCtxSize];  // an EVP_AEAD_CTX while valid_
  AeadAlgorithm alg_ = AeadAlgorithm::aes_128_gcm;
  bool valid_ = false;  // ctx_ holds an initialised key schedule
};

// ---------------------------------------------------------------------------
// Digests: SHA-224, SHA-256, SHA-384, SHA-512 (FIPS 180-4) and BLAKE2b-256
// ---------------------------------------------------------------------------

// DigestAlgorithm names the SHA-2 functions. SHA-512 is here because
// HMAC-SHA512 needs it.
enum class DigestAlgorithm : uint8_t { sha224 = 0, sha256 = 1, sha384 = 2, sha512 = 3 };

// kMaxDigestLen is the longest digest (SHA-512), for stack buffers.
inline constexpr size_t kMaxDigestLen = 64;
// kMaxDigestBlockLen is the longest block (SHA-384/512).
inline constexpr size_t kMaxDigestBlockLen = 128;

// digest_len returns the output length of |alg| in bytes (28, 32, 48, 64).
size_t digest_len(DigestAlgorithm alg) noexcept;
// digest_block_len returns the block length of |alg| in bytes (64 or 128).
size_t digest_block_len(DigestAlgorithm alg) noexcept;

// Digest is an incremental SHA-2 hash. Copying it forks the running state
// (TLS transcript hashes need "the hash so far" while hashing on). The state
// is wiped on destruction.
class Digest {
 public:
  explicit Digest(DigestAlgorithm alg) noexcept;
  ~Digest();
  Digest(const Digest&) noexcept = default;
  Digest& operator=(const Digest&) noexcept = default;

  // algorithm returns the hash function.
  DigestAlgorithm algorithm() const noexcept { return alg_; }
  // size returns digest_len(algorithm()).
  size_t size() const noexcept { return digest_len(alg_); }

  // update absorbs more message bytes.
  void update(std::span<const uint8_t> data) noexcept;
  void update(const void* data, size_t len) noexcept;

  // finish writes size() bytes of digest to the front of |out| and resets
  // the object for a new message. buffer_too_small (nothing written, state
  // kept) if out.size() < size().
  [[nodiscard]] Status finish(std::span<uint8_t> out) noexcept;

  // reset starts a new message.
  void reset() noexcept;

  // hash is the one-shot form: writes digest_len(alg) bytes of
  // Hash(|data|) to |out|; buffer_too_small if |out| is shorter.
  [[nodiscard]] static Status hash(DigestAlgorithm alg, std::span<const uint8_t> data,
                                   std::span<uint8_t> out) noexcept;

  // kStateSize is the inline storage for a SHA256_CTX or SHA512_CTX.
  static constexpr size_t kStateSize = 216;

 private:
  alignas(8) unsigned char state_[kStateSize];  // SHA256_CTX (224/256) or SHA512_CTX (384/512)
  DigestAlgorithm alg_;
};

// kBlake2b256Len is the BLAKE2b-256 digest length.
inline constexpr size_t kBlake2b256Len = 32;

// Blake2b256 is an incremental, unkeyed BLAKE2b with a 32-byte digest
// (RFC 7693 parameters: digest length 32, no key). Copy forks the state.
class Blake2b256 {
 public:
  Blake2b256() noexcept;
  ~Blake2b256();
  Blake2b256(const Blake2b256&) noexcept = default;
  Blake2b256& operator=(const Blake2b256&) noexcept = default;

  // update absorbs more message bytes.
  void update(std::span<const uint8_t> data) noexcept;
  // finish writes the digest and resets the object for a new message.
  void finish(std::span<uint8_t, kBlake2b256Len> out) noexcept;
  // reset starts a new message.
  void reset() noexcept;

  // hash is the one-shot form.
  static void hash(std::span<const uint8_t> data, std::span<uint8_t, kBlake2b256Len> out) noexcept;

  // kStateSize is the inline storage for BoringSSL's BLAKE2B_CTX.
  static constexpr size_t kStateSize = 224;

 private:
  alignas(8) unsigned char state_[kStateSize];  // a BLAKE2B_CTX
};

// ---------------------------------------------------------------------------
// HMAC (RFC 2104) over SHA-2
// ---------------------------------------------------------------------------

// Hmac is a keyed, incremental HMAC over any DigestAlgorithm. It keeps the
// hash states after absorbing key^ipad and key^opad, so each further message
// under the same key costs two compressions fewer than a fresh HMAC and
// nothing is allocated. finish() leaves it ready for the next message under
// the same key. Copyable (a copy forks the running MAC); wiped on destruction.
class Hmac {
 public:
  // Hmac keys a MAC over |alg| with |key| of any length (a key longer than
  // the block is hashed first, RFC 2104 §2).
  Hmac(DigestAlgorithm alg, std::span<const uint8_t> key) noexcept;
  ~Hmac() = default;  // the Digest members wipe themselves
  Hmac(const Hmac&) noexcept = default;
  Hmac& operator=(const Hmac&) noexcept = default;

  // algorithm returns the hash function.
  DigestAlgorithm algorithm() const noexcept { return inner_.algorithm(); }
  // size returns the MAC length, digest_len(algorithm()).
  size_t size() const noexcept { return inner_.size(); }

  // update absorbs more message bytes.
  void update(std::span<const uint8_t> data) noexcept;
  void update(const void* data, size_t len) noexcept;

  // finish writes size() bytes of MAC to the front of |out| and restarts
  // with the same key. buffer_too_small (nothing written) if |out| is short.
  [[nodiscard]] Status finish(std::span<uint8_t> out) noexcept;

  // reset drops the message so far and restarts with the same key.
  void reset() noexcept;

  // mac is the one-shot form: writes digest_len(alg) bytes of
  // HMAC-Hash(|key|, |data|) to |out|; buffer_too_small if |out| is shorter.
  [[nodiscard]] static Status mac(DigestAlgorithm alg, std::span<const uint8_t> key,
                                  std::span<const uint8_t> data, std::span<uint8_t> out) noexcept;

 private:
  Digest inner_start_;  // state after absorbing key ^ ipad
  Digest outer_start_;  // state after absorbing key ^ opad
  Digest inner_;        // inner_start_ plus the message so far
};

// ---------------------------------------------------------------------------
// HKDF (RFC 5869) and the TLS 1.3 key schedule helpers (RFC 8446 §7.1)
// ---------------------------------------------------------------------------

// hkdf_extract writes PRK = HMAC-Hash(salt, ikm), digest_len(alg) bytes, to
// the front of |out_prk|. An empty |salt| means HashLen zero bytes (RFC 5869
// §2.2). buffer_too_small if |out_prk| is shorter than digest_len(alg).
[[nodiscard]] Status hkdf_extract(DigestAlgorithm alg, std::span<const uint8_t> salt,
                                  std::span<const uint8_t> ikm,
                                  std::span<uint8_t> out_prk) noexcept;

// hkdf_expand fills all of |out| (L = out.size()) with HKDF-Expand(prk,
// info, L). invalid_argument if L > 255 * digest_len(alg) or |prk| is
// shorter than digest_len(alg) (RFC 5869 §2.3).
[[nodiscard]] Status hkdf_expand(DigestAlgorithm alg, std::span<const uint8_t> prk,
                                 std::span<const uint8_t> info, std::span<uint8_t> out) noexcept;

// hkdf_expand_label fills |out| with HKDF-Expand-Label(secret, label,
// context, out.size()) of RFC 8446 §7.1: the HkdfLabel is the 16-bit length,
// "tls13 " + |label| and |context|, each length-prefixed. |label| is given
// without the "tls13 " prefix (QUIC's "quic key" included). invalid_argument
// if the full label exceeds 255 bytes, |context| exceeds 255 bytes or
// out.size() exceeds 65535, plus hkdf_expand()'s errors.
[[nodiscard]] Status hkdf_expand_label(DigestAlgorithm alg, std::span<const uint8_t> secret,
                                       std::string_view label, std::span<const uint8_t> context,
                                       std::span<uint8_t> out) noexcept;

// derive_secret writes Derive-Secret(secret, label, messages) of RFC 8446
// §7.1, digest_len(alg) bytes, to the front of |out|, given
// |transcript_hash| = Transcript-Hash(messages) (the caller keeps the running
// Digest). buffer_too_small if |out| is shorter than digest_len(alg).
[[nodiscard]] Status derive_secret(DigestAlgorithm alg, std::span<const uint8_t> secret,
                                   std::string_view label, std::span<const uint8_t> transcript_hash,
                                   std::span<uint8_t> out) noexcept;

// ---------------------------------------------------------------------------
// X25519 (RFC 7748)
// ---------------------------------------------------------------------------

// kX25519KeyLen is the length of an X25519 private key, public key and
// shared secret.
inline constexpr size_t kX25519KeyLen = 32;

// x25519 computes the Diffie-Hellman function X25519(private_key,
// peer_public) of RFC 7748 §5 into the front of |out|. invalid_argument if
// either key is not 32 bytes; buffer_too_small if |out| is shorter than 32;
// bad_key if the result is all zeros (a small-order peer key, RFC 7748 §6.1),
// and then |out| is zeroed.
[[nodiscard]] Status x25519(std::span<const uint8_t> private_key,
                            std::span<const uint8_t> peer_public, std::span<uint8_t> out) noexcept;

// x25519_public_from_private writes the public key X25519(private_key, 9)
// into the front of |out|. invalid_argument if |private_key| is not 32
// bytes; buffer_too_small if |out| is shorter than 32.
[[nodiscard]] Status x25519_public_from_private(std::span<const uint8_t> private_key,
                                                std::span<uint8_t> out) noexcept;

// X25519KeyPair is an X25519 private key and its public key. The private key
// is wiped on destruction; copies wipe their own.
class X25519KeyPair {
 public:
  // generate makes a fresh key pair from the system RNG.
  static X25519KeyPair generate() noexcept;
  // from_private derives the public key of |private_key|; invalid_argument
  // if it is not 32 bytes.
  [[nodiscard]] static Result<X25519KeyPair> from_private(
      std::span<const uint8_t> private_key) noexcept;

  ~X25519KeyPair();
  X25519KeyPair(const X25519KeyPair&) noexcept = default;
  X25519KeyPair& operator=(const X25519KeyPair&) noexcept = default;

  // public_key returns the 32-byte public key (borrowed from this object).
  std::span<const uint8_t, kX25519KeyLen> public_key() const noexcept { return public_; }
  // private_key returns the 32-byte private key (borrowed from this object).
  std::span<const uint8_t, kX25519KeyLen> private_key() const noexcept { return private_; }

  // shared_secret computes X25519(private_key(), peer_public) into |out|;
  // errors as x25519().
  [[nodiscard]] Status shared_secret(std::span<const uint8_t> peer_public,
                                     std::span<uint8_t> out) const noexcept;

 private:
  X25519KeyPair() noexcept = default;
  std::array<uint8_t, kX25519KeyLen> private_{};
  std::array<uint8_t, kX25519KeyLen> public_{};
};

// ---------------------------------------------------------------------------
// Ed25519 (RFC 8032 §5.1, pure Ed25519 without context)
// ---------------------------------------------------------------------------

// kEd25519SeedLen is the length of a seed, RFC 8032's 32-byte private key.
inline constexpr size_t kEd25519SeedLen = 32;
// kEd25519PublicKeyLen is the length of an encoded public key.
inline constexpr size_t kEd25519PublicKeyLen = 32;
// kEd25519SignatureLen is the length of a signature (R || S).
inline constexpr size_t kEd25519SignatureLen = 64;

// ed25519_verify checks |signature| over |message| under |public_key|.
// invalid_argument if the key is not 32 bytes or the signature not 64;
// crypto_failure if the signature does not verify.
[[nodiscard]] Status ed25519_verify(std::span<const uint8_t> public_key,
                                    std::span<const uint8_t> message,
                                    std::span<const uint8_t> signature) noexcept;

// Ed25519KeyPair is an Ed25519 signing key: the 32-byte seed (RFC 8032's
// private key) and its public key. The seed is wiped on destruction.
class Ed25519KeyPair {
 public:
  // generate makes a key from a fresh random seed.
  static Ed25519KeyPair generate() noexcept;
  // from_seed derives the key pair of |seed|; invalid_argument if it is not
  // 32 bytes.
  [[nodiscard]] static Result<Ed25519KeyPair> from_seed(std::span<const uint8_t> seed) noexcept;

  ~Ed25519KeyPair();
  Ed25519KeyPair(const Ed25519KeyPair&) noexcept = default;
  Ed25519KeyPair& operator=(const Ed25519KeyPair&) noexcept = default;

  // public_key returns the 32-byte public key (borrowed).
  std::span<const uint8_t, kEd25519PublicKeyLen> public_key() const noexcept;
  // seed returns the 32-byte seed (borrowed).
  std::span<const uint8_t, kEd25519SeedLen> seed() const noexcept;

  // sign writes the 64-byte signature of |message| to the front of |out|;
  // buffer_too_small if |out| is shorter than 64.
  [[nodiscard]] Status sign(std::span<const uint8_t> message,
                            std::span<uint8_t> out) const noexcept;

 private:
  Ed25519KeyPair() noexcept = default;
  // BoringSSL's 64-byte private key layout: seed || public key.
  std::array<uint8_t, kEd25519SeedLen + kEd25519PublicKeyLen> key_{};
};

// ---------------------------------------------------------------------------
// Random
// ---------------------------------------------------------------------------

// random_bytes fills |out| from BoringSSL's CSPRNG (seeded from getrandom).
// It cannot fail: BoringSSL aborts the process if the OS RNG does, rather
// than hand out predictable keys.
void random_bytes(std::span<uint8_t> out) noexcept;

// secure_wipe zeroes |data| in a way the compiler may not elide
// (OPENSSL_cleanse), for callers' own copies of secrets.
void secure_wipe(std::span<uint8_t> data) noexcept;

// constant_time_equal compares |a| and |b| in time that depends only on
// their lengths (CRYPTO_memcmp); false if the lengths differ.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;

}  // namespace sluice

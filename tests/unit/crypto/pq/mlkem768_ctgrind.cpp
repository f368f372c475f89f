// mlkem768_ctgrind: checks with valgrind memcheck that ML-KEM-768 and
// SHA-3/SHAKE never branch on, or index memory with, secret data.
//
// Built from lib/crypto/pq's sources with SLUICE_PQ_CTGRIND defined (so ρ and
// the encapsulation key, public by design, are declassified inside), it marks
// every secret input undefined with VALGRIND_MAKE_MEM_UNDEFINED: the seed d ‖ z,
// the message m, the secret parts of a parsed dk (ŝ and z) and the X25519
// private key. Memcheck then reports each conditional jump or address that
// depends on them. Outputs are declassified only after the operation, right
// before the checks that compare them. Run:
//   valgrind --error-exitcode=1 ./mlkem768_ctgrind          (expect 0 errors)
//   valgrind --error-exitcode=1 ./mlkem768_ctgrind --control (a deliberate
//     secret-dependent branch: must be reported, proving the method works)
#include <cstdio>
#include <cstring>

#include <openssl/rand.h>
#include <valgrind/memcheck.h>

#include "crypto/pq/mlkem768.hpp"
#include "crypto/pq/sha3.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"

using namespace sluice::pq;

namespace {

template <typename T>
void secret(T* p, size_t n) {
  (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}
template <typename T>
void declassify(T* p, size_t n) {
  (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
}

int failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "mlkem768_ctgrind: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!RUNNING_ON_VALGRIND)
    std::fprintf(stderr, "mlkem768_ctgrind: not under valgrind; only functional checks run\n");

  uint8_t seed[kMlkemSeedSize];
  RAND_bytes(seed, sizeof(seed));
  secret(seed, sizeof(seed));

  if (argc > 1 && std::strcmp(argv[1], "--control") == 0) {
    // Positive control: this branch on a secret byte must be reported.
    volatile int sink = 0;
    if (seed[0] & 1) sink = 1;
    return sink * 0;
  }

  for (int round = 0; round < 3; ++round) {
    // KeyGen (Algorithm 16) on a secret seed; SHA3-512, SHAKE256, CBD, NTT.
    const auto dk = Mlkem768DecapsKey::from_seed(std::span<const uint8_t, kMlkemSeedSize>(seed));

    // Encaps (Algorithm 17) with a secret m.
    uint8_t m[kMlkemMessageSize], ct[kMlkem768CiphertextSize], k[32], k_dec[32], k_rej[32];
    RAND_bytes(m, sizeof(m));
    secret(m, sizeof(m));
    dk.encaps_key().encapsulate_deterministic(std::span<const uint8_t, kMlkemMessageSize>(m), ct,
                                              k);
    declassify(ct, sizeof(ct));  // the ciphertext is sent in the clear

    // Decaps (Algorithm 18): valid ciphertext, then a modified one (implicit
    // rejection must take the same path).
    (void)dk.decapsulate(ct, k_dec);
    uint8_t bad[kMlkem768CiphertextSize];
    std::memcpy(bad, ct, sizeof(bad));
    bad[round * 100] ^= 1;
    (void)dk.decapsulate(bad, k_rej);

    // Decaps with a parsed dk whose secret parts (ŝ, z) are undefined.
    uint8_t dk_bytes[kMlkem768DecapsKeySize];
    dk.encode(dk_bytes);
    declassify(dk_bytes, sizeof(dk_bytes));
    secret(dk_bytes, 1152);       // dk_PKE = ByteEncode12(ŝ)
    secret(dk_bytes + 2368, 32);  // z
    auto parsed = Mlkem768DecapsKey::parse(dk_bytes);
    uint8_t k_parsed[32];
    if (parsed) (void)parsed->decapsulate(ct, k_parsed);

    // The hybrid, with a secret X25519 private key as well (BoringSSL's X25519).
    uint8_t xpriv[32];
    RAND_bytes(xpriv, sizeof(xpriv));
    secret(xpriv, sizeof(xpriv));
    const auto client = X25519Mlkem768Client::from_seed_for_test(
        std::span<const uint8_t, kMlkemSeedSize>(seed), std::span<const uint8_t, 32>(xpriv));
    uint8_t share[kX25519Mlkem768ClientShareSize];
    std::memcpy(share, client.share().data(), sizeof(share));
    declassify(share, sizeof(share));
    uint8_t sshare[kX25519Mlkem768ServerShareSize], ssecret[64], csecret[64];
    const bool server_ok = x25519_mlkem768_server(share, sshare, ssecret).has_value();
    const bool client_ok = server_ok && client.finish(sshare, csecret).has_value();

    // Declassify results only now, to check them.
    declassify(k, sizeof(k));
    declassify(k_dec, sizeof(k_dec));
    declassify(k_rej, sizeof(k_rej));
    declassify(k_parsed, sizeof(k_parsed));
    declassify(ssecret, sizeof(ssecret));
    declassify(csecret, sizeof(csecret));
    expect(std::memcmp(k, k_dec, 32) == 0, "decapsulation of a valid ciphertext");
    expect(std::memcmp(k, k_rej, 32) != 0, "implicit rejection of a modified ciphertext");
    expect(parsed.has_value() && std::memcmp(k, k_parsed, 32) == 0,
           "decapsulation with a parsed dk");
    expect(client_ok && std::memcmp(ssecret, csecret, 64) == 0, "X25519MLKEM768 agreement");

    declassify(seed, sizeof(seed));
    seed[0]++;
    secret(seed, sizeof(seed));
  }
  if (failures == 0) std::printf("mlkem768_ctgrind: functional checks passed\n");
  return failures == 0 ? 0 : 1;
}

// pq_bench: SHA-3/SHAKE throughput, ML-KEM-768 operations and the
// X25519MLKEM768 handshake contribution, next to BoringSSL's X25519.
//
// The client figure a REALITY/TLS 1.3 handshake pays is
// BM_X25519Mlkem768_ClientHandshake: generate() (ML-KEM KeyGen + X25519 key)
// and finish() (ML-KEM Decaps + X25519). Decapsulation runs in constant time,
// so finishing against one fixed server share costs what a real one does.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include <openssl/curve25519.h>

#include "crypto/pq/keccak.hpp"
#include "crypto/pq/mlkem768.hpp"
#include "crypto/pq/sha3.hpp"
#include "crypto/pq/x25519_mlkem768.hpp"

namespace {

using namespace sluice::pq;

void BM_KeccakF1600(benchmark::State& state) {
  uint64_t s[25] = {1};
  for (auto _ : state) {
    keccak_f1600(s);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeccakF1600);

void BM_Sha3_256(benchmark::State& state) {
  std::vector<uint8_t> msg(static_cast<size_t>(state.range(0)), 0xa5);
  uint8_t out[32];
  for (auto _ : state) {
    Sha3_256::hash(msg.data(), msg.size(), out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha3_256)->Arg(64)->Arg(1184)->Arg(16384);

void BM_Shake128_Absorb(benchmark::State& state) {
  std::vector<uint8_t> msg(static_cast<size_t>(state.range(0)), 0xa5);
  uint8_t out[32];
  for (auto _ : state) {
    Shake128::hash(msg.data(), msg.size(), out, sizeof(out));
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Shake128_Absorb)->Arg(16384);

void BM_Shake128_Squeeze(benchmark::State& state) {
  std::vector<uint8_t> out(static_cast<size_t>(state.range(0)));
  const uint8_t seed[34] = {1, 2, 3};
  for (auto _ : state) {
    Shake128::hash(seed, sizeof(seed), out.data(), out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Shake128_Squeeze)->Arg(504)->Arg(16384);

void BM_Mlkem768_KeyGen(benchmark::State& state) {
  uint8_t seed[kMlkemSeedSize] = {7};
  for (auto _ : state) {
    auto dk = Mlkem768DecapsKey::from_seed(std::span<const uint8_t, kMlkemSeedSize>(seed));
    benchmark::DoNotOptimize(&dk);
    seed[0]++;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mlkem768_KeyGen);

void BM_Mlkem768_KeyGenRng(benchmark::State& state) {
  for (auto _ : state) {
    auto dk = Mlkem768DecapsKey::generate();
    benchmark::DoNotOptimize(&dk);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mlkem768_KeyGenRng);

void BM_Mlkem768_Encaps(benchmark::State& state) {
  auto dk = Mlkem768DecapsKey::generate();
  const auto& ek = dk->encaps_key();
  uint8_t ct[kMlkem768CiphertextSize], k[32];
  for (auto _ : state) {
    (void)ek.encapsulate(ct, k);
    benchmark::DoNotOptimize(ct);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mlkem768_Encaps);

// ParseEncaps is what a server does with a peer's key: §7.2 checks, expand Â,
// encapsulate.
void BM_Mlkem768_ParseEncaps(benchmark::State& state) {
  auto dk = Mlkem768DecapsKey::generate();
  const auto ek_bytes = dk->encaps_key().bytes();
  uint8_t ct[kMlkem768CiphertextSize], k[32];
  for (auto _ : state) {
    auto ek = Mlkem768EncapsKey::parse(ek_bytes);
    (void)ek->encapsulate(ct, k);
    benchmark::DoNotOptimize(ct);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mlkem768_ParseEncaps);

void BM_Mlkem768_Decaps(benchmark::State& state) {
  auto dk = Mlkem768DecapsKey::generate();
  uint8_t ct[kMlkem768CiphertextSize], k[32];
  (void)dk->encaps_key().encapsulate(ct, k);
  for (auto _ : state) {
    (void)dk->decapsulate(ct, k);
    benchmark::DoNotOptimize(k);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mlkem768_Decaps);

void BM_X25519_KeygenDerive(benchmark::State& state) {
  uint8_t peer_pub[32], peer_priv[32], pub[32], priv[32], shared[32];
  X25519_keypair(peer_pub, peer_priv);
  for (auto _ : state) {
    X25519_keypair(pub, priv);
    benchmark::DoNotOptimize(X25519(shared, priv, peer_pub));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_KeygenDerive);

void BM_X25519Mlkem768_ClientHandshake(benchmark::State& state) {
  auto other = X25519Mlkem768Client::generate();
  uint8_t server_share[kX25519Mlkem768ServerShareSize], secret[kX25519Mlkem768SecretSize];
  (void)x25519_mlkem768_server(other->share(), server_share, secret);
  for (auto _ : state) {
    auto client = X25519Mlkem768Client::generate();
    (void)client->finish(server_share, secret);
    benchmark::DoNotOptimize(secret);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519Mlkem768_ClientHandshake);

void BM_X25519Mlkem768_Server(benchmark::State& state) {
  auto client = X25519Mlkem768Client::generate();
  uint8_t server_share[kX25519Mlkem768ServerShareSize], secret[kX25519Mlkem768SecretSize];
  for (auto _ : state) {
    (void)x25519_mlkem768_server(client->share(), server_share, secret);
    benchmark::DoNotOptimize(secret);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519Mlkem768_Server);

}  // namespace

BENCHMARK_MAIN();

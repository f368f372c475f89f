// aead_bench.cpp: Aead seal/open at 1 KiB and 16 KiB for each algorithm,
// next to the same work done with BoringSSL's EVP_AEAD_CTX directly, so the
// wrapper's cost (argument checks, Slice bookkeeping) shows as the gap
// between the "sluice" and "raw" rows. Budget: < 3% at 16 KiB.
//
// seal: in place on a pool Slice (sluice: Aead::seal_in_place appends the tag
//       into the tailroom, then truncate() undoes it for the next round;
//       raw: EVP_AEAD_CTX_seal in place on the same Slice's bytes).
// open: out of place from one sealed record into a second buffer, because
//       an in-place open consumes its input (sluice: Aead::open_gather;
//       raw: EVP_AEAD_CTX_open_gather). Every open is verified.
#include <benchmark/benchmark.h>
#include <openssl/aead.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "sluice/buffer.hpp"
#include "sluice/cipher.hpp"

namespace {

using sluice::Aead;
using sluice::AeadAlgorithm;

constexpr AeadAlgorithm kAlgs[] = {AeadAlgorithm::aes_128_gcm, AeadAlgorithm::aes_256_gcm,
                                   AeadAlgorithm::chacha20_poly1305};

const EVP_AEAD* evp_of(AeadAlgorithm alg) {
  switch (alg) {
    case AeadAlgorithm::aes_128_gcm:
      return EVP_aead_aes_128_gcm();
    case AeadAlgorithm::aes_256_gcm:
      return EVP_aead_aes_256_gcm();
    case AeadAlgorithm::chacha20_poly1305:
      return EVP_aead_chacha20_poly1305();
  }
  return nullptr;
}

struct Fixture {
  explicit Fixture(AeadAlgorithm alg) : key(sluice::aead_key_len(alg)) {
    sluice::random_bytes(key);
    sluice::random_bytes(nonce);
    auto r = Aead::create(alg, key);
    if (!r) std::abort();
    aead = std::move(*r);
    if (!EVP_AEAD_CTX_init(&raw, evp_of(alg), key.data(), key.size(), EVP_AEAD_DEFAULT_TAG_LENGTH,
                           nullptr)) {
      std::abort();
    }
  }
  ~Fixture() { EVP_AEAD_CTX_cleanup(&raw); }

  std::vector<uint8_t> key;
  uint8_t nonce[sluice::kAeadNonceLen];
  uint8_t ad[13] = {0x17, 0x03, 0x03};  // a record header's worth of AD
  Aead aead;
  EVP_AEAD_CTX raw;
};

sluice::Slice filled_slice(sluice::BufferPool& pool, size_t len) {
  auto r = pool.get(len);
  if (!r) std::abort();
  sluice::Slice s = std::move(*r);
  uint8_t* p = s.append(len);
  if (!p) std::abort();
  std::memset(p, 0x5a, len);
  return s;
}

void seal_sluice(benchmark::State& state) {
  const auto alg = static_cast<AeadAlgorithm>(state.range(0));
  const auto len = static_cast<size_t>(state.range(1));
  Fixture f(alg);
  sluice::BufferPool pool;
  sluice::Slice s = filled_slice(pool, len);
  for (auto _ : state) {
    if (!f.aead.seal_in_place(f.nonce, f.ad, s)) state.SkipWithError("seal failed");
    s.truncate(len);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(len));
  state.SetLabel(sluice::aead_name(alg));
}

void seal_raw(benchmark::State& state) {
  const auto alg = static_cast<AeadAlgorithm>(state.range(0));
  const auto len = static_cast<size_t>(state.range(1));
  Fixture f(alg);
  sluice::BufferPool pool;
  sluice::Slice s = filled_slice(pool, len);
  uint8_t* p = s.mutable_data();  // the tag goes into the tailroom, as above
  for (auto _ : state) {
    size_t out_len = 0;
    if (!EVP_AEAD_CTX_seal(&f.raw, p, &out_len, len + sluice::kAeadTagLen, f.nonce, sizeof(f.nonce),
                           p, len, f.ad, sizeof(f.ad))) {
      state.SkipWithError("seal failed");
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(len));
  state.SetLabel(sluice::aead_name(alg));
}

struct Sealed {
  std::vector<uint8_t> ct, tag, out;
};

Sealed seal_once(Fixture& f, size_t len) {
  Sealed s{std::vector<uint8_t>(len, 0x5a), std::vector<uint8_t>(sluice::kAeadTagLen),
           std::vector<uint8_t>(len)};
  if (!f.aead.seal(f.nonce, f.ad, s.ct.data(), len, s.tag.data())) std::abort();
  return s;
}

void open_sluice(benchmark::State& state) {
  const auto alg = static_cast<AeadAlgorithm>(state.range(0));
  const auto len = static_cast<size_t>(state.range(1));
  Fixture f(alg);
  Sealed s = seal_once(f, len);
  for (auto _ : state) {
    if (!f.aead.open_gather(f.nonce, f.ad, s.ct.data(), len, s.tag.data(), s.out.data())) {
      state.SkipWithError("open failed");
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(len));
  state.SetLabel(sluice::aead_name(alg));
}

void open_raw(benchmark::State& state) {
  const auto alg = static_cast<AeadAlgorithm>(state.range(0));
  const auto len = static_cast<size_t>(state.range(1));
  Fixture f(alg);
  Sealed s = seal_once(f, len);
  for (auto _ : state) {
    if (!EVP_AEAD_CTX_open_gather(&f.raw, s.out.data(), f.nonce, sizeof(f.nonce), s.ct.data(), len,
                                  s.tag.data(), s.tag.size(), f.ad, sizeof(f.ad))) {
      state.SkipWithError("open failed");
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(len));
  state.SetLabel(sluice::aead_name(alg));
}

void args(benchmark::internal::Benchmark* b) {
  for (AeadAlgorithm alg : kAlgs) {
    for (int64_t len : {1024, 16384}) b->Args({static_cast<int64_t>(alg), len});
  }
  b->ArgNames({"alg", "bytes"});
}

BENCHMARK(seal_sluice)->Apply(args);
BENCHMARK(seal_raw)->Apply(args);
BENCHMARK(open_sluice)->Apply(args);
BENCHMARK(open_raw)->Apply(args);

}  // namespace

BENCHMARK_MAIN();

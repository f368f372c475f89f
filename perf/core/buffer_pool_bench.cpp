// buffer_pool_bench: pool get/put vs malloc/free and mimalloc, Slice split,
// Chain iovec build.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "sluice/buffer.hpp"

#ifdef SLUICE_HAVE_MIMALLOC
#include <mimalloc.h>
#endif

using namespace sluice;

static void BM_PoolGetPut(benchmark::State& state) {
  BufferPool pool;
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto s = pool.get(size);
    benchmark::DoNotOptimize(s->data());
  }
}
BENCHMARK(BM_PoolGetPut)->Arg(2048)->Arg(16384)->Arg(65536);

static void BM_MallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
BENCHMARK(BM_MallocFree)->Arg(2048)->Arg(16384)->Arg(65536);

#ifdef SLUICE_HAVE_MIMALLOC
static void BM_MimallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = mi_malloc(size);
    benchmark::DoNotOptimize(p);
    mi_free(p);
  }
}
BENCHMARK(BM_MimallocFree)->Arg(2048)->Arg(16384)->Arg(65536);
#endif

// A burst of 64 live chunks, then release: the relay's shape under load.
static void BM_PoolBurst64(benchmark::State& state) {
  BufferPool pool;
  std::vector<Slice> held;
  held.reserve(64);
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) held.push_back(std::move(*pool.get(SizeClass::k16K)));
    held.clear();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_PoolBurst64);

static void BM_MallocBurst64(benchmark::State& state) {
  std::vector<void*> held;
  held.reserve(64);
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) held.push_back(std::malloc(16384 + 96));
    for (void* p : held) std::free(p);
    held.clear();
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_MallocBurst64);

static void BM_SliceSplit(benchmark::State& state) {
  BufferPool pool;
  auto base = pool.get(SizeClass::k16K);
  base->append(16384);
  for (auto _ : state) {
    Slice s = *base;
    while (s.size() >= 1024) {
      Slice front = s.split_to(1024);
      benchmark::DoNotOptimize(front.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_SliceSplit);

static void BM_ChainIovecs(benchmark::State& state) {
  BufferPool pool;
  Chain c;
  const int n = static_cast<int>(state.range(0));
  for (int i = 0; i < n; ++i) {
    auto s = pool.get(SizeClass::k2K);
    s->append(1000);
    (void)c.push_back(std::move(*s));
  }
  struct iovec iov[64];
  for (auto _ : state) {
    size_t k = c.iovecs(iov, 64);
    benchmark::DoNotOptimize(iov[k - 1].iov_base);
  }
}
BENCHMARK(BM_ChainIovecs)->Arg(4)->Arg(16)->Arg(64);

BENCHMARK_MAIN();

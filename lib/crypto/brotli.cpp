// brotli.cpp: bounded brotli decompression over libbrotlidec.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "crypto/brotli.hpp"

#include <brotli/decode.h>

#include <cstddef>
#include <cstdlib>

namespace sluice::crypto {
namespace {

// Budget counts the decoder's allocations; each block carries its size in a
// header so the free callback (which gets no size) can give it back.
struct Budget {
  size_t limit;
  size_t used = 0;
};

constexpr size_t kHeader = alignof(std::max_align_t);

void* budget_alloc(void* opaque, size_t size) {
  auto* b = static_cast<Budget*>(opaque);
  if (size > b->limit) return nullptr;
  const size_t need = size + kHeader;
  if (need > b->limit - b->used) return nullptr;
  auto* p = static_cast<unsigned char*>(std::malloc(need));
  if (p == nullptr) return nullptr;
  *reinterpret_cast<size_t*>(p) = need;
  b->used += need;
  return p + kHeader;
}

void budget_free(void* opaque, void* address) {
  if (address == nullptr) return;
  auto* b = static_cast<Budget*>(opaque);
  auto* p = static_cast<unsigned char*>(address) - kHeader;
  b->used -= *reinterpret_cast<size_t*>(p);
  std::free(p);
}

}  // namespace

Status brotli_decompress_exact(std::span<const uint8_t> in, std::span<uint8_t> out,
                               size_t max_memory) noexcept {
  Budget budget{max_memory};
  BrotliDecoderState* st = BrotliDecoderCreateInstance(budget_alloc, budget_free, &budget);
  if (st == nullptr) return Errc::malformed;  // the budget cannot even hold the state

  size_t avail_in = in.size();
  const uint8_t* next_in = in.data();
  size_t avail_out = out.size();
  uint8_t* next_out = out.data();
  // One call: the whole input and the whole output are available, so the
  // decoder stops at the end of the stream, when the output is full while
  // the stream goes on, when the input ends early, or on an error (corrupt
  // data or an allocation over the budget).
  const BrotliDecoderResult r =
      BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, nullptr);
  BrotliDecoderDestroyInstance(st);
  if (r != BROTLI_DECODER_RESULT_SUCCESS) return Errc::malformed;
  if (avail_out != 0 || avail_in != 0) return Errc::malformed;  // short output, trailing bytes
  return {};
}

}  // namespace sluice::crypto

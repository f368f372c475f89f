// brotli.hpp: bounded brotli decompression (RFC 7932) for TLS certificate
// compression (RFC 8879), over Debian's libbrotlidec. lib/proto includes this
// header, never <brotli/decode.h>.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// The caller knows the exact decompressed size (CompressedCertificate
// declares it) and passes an output span of that size: the decoder writes at
// most out.size() bytes and allocates at most |max_memory| bytes of internal
// state (ring buffer and Huffman tables, counted through a custom allocator),
// so a decompression bomb costs bounded memory and time. Errors (all
// Errc::malformed): a stream that would produce more than out.size() bytes,
// one that ends short of it, bytes after the end of the stream, a corrupt
// stream, and a stream whose decoder needs more than |max_memory|.
// Threading: no shared state; callable from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sluice/error.hpp"

namespace sluice::crypto {

// kBrotliDefaultMaxMemory bounds the decoder's own allocations: enough for
// any stream up to a 4 MiB window (what encoders use by default) with its
// largest Huffman-table groups; larger windows on non-final meta-blocks are
// refused.
inline constexpr size_t kBrotliDefaultMaxMemory = 8u << 20;

// brotli_decompress_exact decodes |in| into exactly out.size() bytes.
[[nodiscard]] Status brotli_decompress_exact(std::span<const uint8_t> in, std::span<uint8_t> out,
                                             size_t max_memory = kBrotliDefaultMaxMemory) noexcept;

}  // namespace sluice::crypto

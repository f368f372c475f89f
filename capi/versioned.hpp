// versioned.hpp: versioned option, callback and out structs across the ABI.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A struct's first field is its version; a caller compiled against an older
// sluice.h passes a smaller struct. StructVersions<T> knows the size of every
// version (sized with offsetof through the version's last field) and the
// defaults; lift() turns any known version into the latest (defaults first,
// then the caller's valid prefix), so the rest of the library sees one
// layout. An unknown version, newer than this library, is invalid_argument.
// Fields are only ever appended. Anchor: ngtcp2's convert_to_latest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "sluice/sluice.h"

// SLUICE_SIZE_THROUGH: bytes of T up to and including |field|.
#define SLUICE_SIZE_THROUGH(T, field) (offsetof(T, field) + sizeof(static_cast<T*>(nullptr)->field))

namespace sluice::capi {

template <typename T>
struct StructVersions;

template <>
struct StructVersions<sluice_engine_options> {
  static constexpr uint32_t kLatest = SLUICE_ENGINE_OPTIONS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    switch (v) {
      case SLUICE_ENGINE_OPTIONS_V1:
        return SLUICE_SIZE_THROUGH(sluice_engine_options, pool_max_bytes);
      default:
        return 0;
    }
  }
  static void defaults(sluice_engine_options*) noexcept {}  // all zero: own thread, no cap
};
// The reserved field took the place of v1's padding: v1 callers' layout.
static_assert(sizeof(void*) != 8 || offsetof(sluice_engine_options, uv_loop) == 8,
              "sluice_engine_options.uv_loop moved");

template <>
struct StructVersions<sluice_engine_stats> {
  static constexpr uint32_t kLatest = SLUICE_ENGINE_STATS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    switch (v) {
      case SLUICE_ENGINE_STATS_V1:
        return SLUICE_SIZE_THROUGH(sluice_engine_stats, pool_high_water);
      case SLUICE_ENGINE_STATS_V2:
        return SLUICE_SIZE_THROUGH(sluice_engine_stats, ech_retried);
      case SLUICE_ENGINE_STATS_V3:
        return SLUICE_SIZE_THROUGH(sluice_engine_stats, connections_refused);
      default:
        return 0;
    }
  }
  static void defaults(sluice_engine_stats*) noexcept {}
};

template <>
struct StructVersions<sluice_stream_callbacks> {
  static constexpr uint32_t kLatest = SLUICE_STREAM_CALLBACKS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    switch (v) {
      case SLUICE_STREAM_CALLBACKS_V1:
        return SLUICE_SIZE_THROUGH(sluice_stream_callbacks, on_close);
      default:
        return 0;
    }
  }
  static void defaults(sluice_stream_callbacks*) noexcept {}  // every callback NULL
};

template <>
struct StructVersions<sluice_outbound_stats> {
  static constexpr uint32_t kLatest = SLUICE_OUTBOUND_STATS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    return v == SLUICE_OUTBOUND_STATS_V1
               ? SLUICE_SIZE_THROUGH(sluice_outbound_stats, datagrams_received)
               : 0;
  }
  static void defaults(sluice_outbound_stats*) noexcept {}
};

template <>
struct StructVersions<sluice_open_options> {
  static constexpr uint32_t kLatest = SLUICE_OPEN_OPTIONS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    return v == SLUICE_OPEN_OPTIONS_V1 ? SLUICE_SIZE_THROUGH(sluice_open_options, deadline_ms) : 0;
  }
  static void defaults(sluice_open_options*) noexcept {}  // no deadline
};

template <>
struct StructVersions<sluice_stream_stats> {
  static constexpr uint32_t kLatest = SLUICE_STREAM_STATS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    return v == SLUICE_STREAM_STATS_V1 ? SLUICE_SIZE_THROUGH(sluice_stream_stats, outbound) : 0;
  }
  static void defaults(sluice_stream_stats*) noexcept {}
};

template <>
struct StructVersions<sluice_datagram_callbacks> {
  static constexpr uint32_t kLatest = SLUICE_DATAGRAM_CALLBACKS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    return v == SLUICE_DATAGRAM_CALLBACKS_V1
               ? SLUICE_SIZE_THROUGH(sluice_datagram_callbacks, on_close)
               : 0;
  }
  static void defaults(sluice_datagram_callbacks*) noexcept {}  // every callback NULL
};

template <>
struct StructVersions<sluice_datagram_stats> {
  static constexpr uint32_t kLatest = SLUICE_DATAGRAM_STATS_VERSION;
  static size_t size_of(uint32_t v) noexcept {
    return v == SLUICE_DATAGRAM_STATS_V1 ? SLUICE_SIZE_THROUGH(sluice_datagram_stats, outbound) : 0;
  }
  static void defaults(sluice_datagram_stats*) noexcept {}
};

// struct_init implements the public *_init functions: the caller's struct
// holds size_of(version) bytes, and only those are written.
template <typename T>
int struct_init(T* s, uint32_t version) noexcept {
  using V = StructVersions<T>;
  const size_t n = V::size_of(version);
  if (!s || n == 0) return SLUICE_ERR_INVALID_ARGUMENT;
  T full;
  std::memset(&full, 0, sizeof full);
  V::defaults(&full);
  full.version = version;
  std::memcpy(s, &full, n);
  return SLUICE_OK;
}

// lift converts the caller's |in| (any known version; nullptr = defaults)
// into the latest layout in |out|.
template <typename T>
int lift(const T* in, T* out) noexcept {
  using V = StructVersions<T>;
  std::memset(out, 0, sizeof *out);
  V::defaults(out);
  if (in) {
    const size_t n = V::size_of(in->version);
    if (n == 0) return SLUICE_ERR_INVALID_ARGUMENT;
    std::memcpy(out, in, n);
  }
  out->version = V::kLatest;
  return SLUICE_OK;
}

// store copies the latest |full| into the caller's out struct, whose version
// says how many bytes it holds; the caller's version is kept.
template <typename T>
int store(const T& full, T* out) noexcept {
  using V = StructVersions<T>;
  if (!out) return SLUICE_ERR_INVALID_ARGUMENT;
  const uint32_t version = out->version;
  const size_t n = V::size_of(version);
  if (n == 0) return SLUICE_ERR_INVALID_ARGUMENT;
  std::memcpy(out, &full, n);
  out->version = version;
  return SLUICE_OK;
}

}  // namespace sluice::capi

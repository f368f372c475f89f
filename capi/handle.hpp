// handle.hpp: the C ABI's opaque handles and the shim helpers every
// capi/*.cpp uses: one static_cast from handle to object, one mapping from
// Errc to a C code, one catch-all, one thread check.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Each handle in sluice.h is an incomplete C struct. Here it is defined as an
// empty, non-constructible base, and the shim class behind it derives from
// it (struct CStream : sluice_stream, ...). The handle *is* the object: no
// side table, no reinterpret_cast; from_opaque is the only conversion.
#pragma once

#include <cstring>
#include <new>

#include "core/check.hpp"
#include "sluice/engine.hpp"
#include "sluice/error.hpp"
#include "sluice/sluice.h"

#define SLUICE_CAPI_OPAQUE(name)           \
  struct name {                            \
   public:                                 \
    name(const name&) = delete;            \
    name& operator=(const name&) = delete; \
                                           \
   protected:                              \
    name() = default;                      \
    ~name() = default;                     \
  }

SLUICE_CAPI_OPAQUE(sluice_engine);
SLUICE_CAPI_OPAQUE(sluice_instance);
SLUICE_CAPI_OPAQUE(sluice_session);
SLUICE_CAPI_OPAQUE(sluice_stream);
SLUICE_CAPI_OPAQUE(sluice_datagram);

namespace sluice::capi {

// from_opaque converts a handle to the shim object behind it; T names its
// handle type as T::Opaque.
template <typename T>
T* from_opaque(typename T::Opaque* h) noexcept {
  return static_cast<T*>(h);
}
template <typename T>
const T* from_opaque(const typename T::Opaque* h) noexcept {
  return static_cast<const T*>(h);
}

// to_c maps an Errc to its sluice_error: the numbers are equal by design
// (capi/error.cpp static_asserts every pair), so this is the one place the
// conversion happens.
inline int to_c(Errc e) noexcept { return static_cast<int>(e); }
inline int to_c(const Status& s) noexcept { return to_c(s.error()); }

// guard runs a shim body and turns any exception into a code: nothing C++
// crosses the ABI.
template <typename F>
int guard(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SLUICE_ERR_NO_MEMORY;
  } catch (...) {
    return SLUICE_ERR_INTERNAL;
  }
}

// on_loop reports whether the caller may touch |e|'s objects; debug builds
// abort on a wrong-thread call, release builds return an error.
inline bool on_loop(const Engine& e) noexcept {
  const bool ok = e.on_loop_thread();
  SLUICE_DCHECK(ok);
  return ok;
}

}  // namespace sluice::capi

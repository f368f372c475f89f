// check.hpp: SLUICE_CHECK (memory-safety invariants, every build) and
// SLUICE_DCHECK (internal invariants, debug builds only). Never use either on
// peer or config input: return an error instead.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "sluice: check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace sluice::detail

#define SLUICE_CHECK(cond) \
  ((cond) ? (void)0 : ::sluice::detail::check_failed(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define SLUICE_DCHECK(cond) ((void)0)
#else
#define SLUICE_DCHECK(cond) SLUICE_CHECK(cond)
#endif

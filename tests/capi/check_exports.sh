#!/bin/sh
# check_exports.sh [--private] LIB: fail if the shared library LIB exports any
# symbol that is not part of the C ABI (sluice_*). The linker adds one
# absolute symbol naming each version node of sluice.map (SLUICE_1.0,
# SLUICE_1.1, ...); those are allowed. Nothing else is.
#
# Always: LIB contains ngtcp2 and nghttp3 (no NEEDED entry on their shared
# libraries, no import of their symbols).
#
# --private (a build with the private BoringSSL and mimalloc, docs/embedding.md):
# also fail if LIB needs Debian's shared BoringSSL or mimalloc (NEEDED
# libssl.so.0, libcrypto.so.0, libmimalloc.so.2), or imports any symbol
# without a version other than libuv's uv_* and the toolchain's weak hooks:
# such an import binds to whatever library of the host's global scope defines
# it first, which is how OpenSSL 3 captured BoringSSL's SSL_*/EVP_* imports.
set -eu
private=0
if [ "${1:-}" = "--private" ]; then
  private=1
  shift
fi
lib="$1"
syms=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//')
if [ -z "$syms" ]; then
  echo "no exported symbols found in $lib" >&2
  exit 1
fi
bad=$(printf '%s\n' "$syms" | grep -v -e '^sluice_' -e '^SLUICE_1\.[0-9][0-9]*$' || true)
if [ -n "$bad" ]; then
  echo "symbols exported by $lib outside the C ABI:" >&2
  printf '%s\n' "$bad" >&2
  exit 1
fi
count=$(printf '%s\n' "$syms" | grep -c '^sluice_')
echo "ok: $count sluice_* symbols exported"

# ngtcp2 and nghttp3 are always built into LIB, hidden (third_party/): LIB
# neither needs their shared libraries nor imports any of their symbols.
quic=$( (readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E '^lib(ngtcp2|nghttp3)'
         nm -D --undefined-only "$lib" | awk '{print $NF}' | grep -E '^(ngtcp2|nghttp3)_') || true)
if [ -n "$quic" ]; then
  echo "$lib takes ngtcp2/nghttp3 from outside instead of containing them:" >&2
  printf '%s\n' "$quic" >&2
  exit 1
fi
echo "ok: ngtcp2 and nghttp3 inside, hidden"

if [ "$private" -eq 1 ]; then
  needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  bad=$(printf '%s\n' "$needed" |
        grep -E '^lib(ssl\.so\.0|crypto\.so\.0|mimalloc\.so)' || true)
  if [ -n "$bad" ]; then
    echo "$lib needs shared libraries that must be private to it:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
  fi
  echo "ok: NEEDED" $needed
  # Undefined dynamic symbols without @VERSION, minus libuv's and the weak
  # ones every GCC shared object references.
  bad=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | grep -v '@' |
        grep -v -E '^(uv_[a-z0-9_]+|__gmon_start__|_ITM_(de)?registerTMCloneTable|__cxa_finalize)$' ||
        true)
  if [ -n "$bad" ]; then
    echo "$lib imports symbols without a version, which the host's libraries can capture:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
  fi
  echo "ok: no unversioned imports but libuv's"
fi

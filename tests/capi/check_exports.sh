#!/bin/sh
# check_exports.sh LIB: fail if the shared library LIB exports any symbol
# that is not part of the C ABI (sluice_*). The linker adds one absolute
# symbol naming each version node of sluice.map (SLUICE_1.0, SLUICE_1.1, ...); those are
# allowed. Nothing else is.
set -eu
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

#!/bin/sh
# run.sh <pq_crosscheck_tool>: the meson test 'pq_crosscheck'. Fails (never
# skips) when node or the npm dependencies are missing, saying how to fix it.
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "pq_crosscheck: FAILED: node is not installed (scripts/bootstrap installs nodejs)" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/@noble/post-quantum" ]; then
  echo "pq_crosscheck: FAILED: $here/node_modules is missing." >&2
  echo "Install the independent implementation first:" >&2
  echo "  cd $here && npm install --no-package-lock" >&2
  exit 1
fi
exec node "$here/crosscheck.mjs" "$@"

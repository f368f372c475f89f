#!/bin/sh
# check_installed.sh BUILD_ROOT CHECK_EXPORTS [--private]: install the build
# with `meson install --destdir` into a temporary directory and run
# CHECK_EXPORTS (tests/capi/check_exports.sh) on the libsluice.so installed
# there, passing --private on.
set -eu
build="$1"
check_exports="$2"
shift 2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null
lib=$(find "$dest" -name 'libsluice.so.*' -type f | head -n 1)
if [ -z "$lib" ]; then
  echo "meson install put no libsluice.so.* under $dest" >&2
  exit 1
fi
echo "installed: ${lib#$dest}"
exec "$check_exports" "$@" "$lib"

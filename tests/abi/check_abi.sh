#!/usr/bin/env bash
# check_abi.sh: the C ABI guard (tests/abi/meson.build).
#
#   check_abi.sh check BASELINE LIB SUPPRESSIONS
#       compare LIB's exported ABI with the abidw BASELINE; exit 0 when equal
#       or only additions, 1 with abidiff's report when an existing function,
#       variable or type changed or went away.
#   check_abi.sh update BASELINE LIB
#       rewrite BASELINE from LIB (after a deliberate, reviewed ABI change:
#       a new SONAME, or additions).
#   check_abi.sh selftest VARIANTS_DIR SUPPRESSIONS
#       build the demo library in VARIANTS_DIR as a baseline and in each
#       variant, and require the verdict each variant names.
#
# Exit 77 (skipped) when abigail-tools or a C compiler is missing.
set -uo pipefail

for tool in abidw abidiff; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found (install abigail-tools: scripts/bootstrap)"
    exit 77
  fi
done

# Only sluice_* is exported (capi/sluice.map), so the corpus is the C ABI:
# the exported functions and every type they reach, standard C typedefs
# included (int32_t becoming int64_t must count). Hidden internals, BoringSSL
# among them, are not exported; the suppressions drop the C++ types the
# shims' debug information describes.
here=$(cd "$(dirname "$0")" && pwd)
abi_dump() {  # abi_dump LIB OUT
  abidw --suppressions "$here/sluice_abi_types.supp" --no-corpus-path --no-comp-dir-path --short-locs \
    --drop-undefined-syms --out-file "$2" "$1"
}

# verdict BASELINE LIB SUPPRESSIONS: prints the report; returns 0
# (compatible) or 1 (incompatible); 2 when abidw or abidiff failed. Both
# sides are abidw dumps made the same way (abidiff cannot apply the type
# drops of sluice_abi_types.supp to an XML baseline).
verdict() {
  local report rc current
  current=$(mktemp)
  if ! abi_dump "$2" "$current"; then
    rm -f "$current"
    return 2
  fi
  report=$(abidiff --suppressions "$3" --no-show-locs "$1" "$current" 2>&1)
  rc=$?
  # The suppression that lets versioned structs grow is wider than the rule
  # (it also hides a changed existing field); check_prefix.py holds the rest.
  local layout
  layout=$(python3 "$here/check_prefix.py" "$1" "$current")
  local layout_rc=$?
  rm -f "$current"
  if (( layout_rc != 0 )); then
    echo "$report"
    echo "$layout"
    return 1
  fi
  # abidiff's status is a bit field: 1 error, 2 usage, 4 ABI change,
  # 8 incompatible change (a symbol removed).
  if (( rc & 3 )); then
    echo "$report"
    return 2
  fi
  if (( rc & 8 )); then
    echo "$report"
    return 1
  fi
  # A change of an existing function's or variable's types (a parameter, a
  # field moved or resized) is reported as "Changed": incompatible for
  # existing callers. Only "Added" is compatible.
  if echo "$report" | grep -E 'changes summary:' |
    grep -Eq ': [1-9][0-9]* Removed|, [1-9][0-9]* Changed'; then
    echo "$report"
    return 1
  fi
  [ -n "$report" ] && echo "$report"
  return 0
}

case "${1:-}" in
  check)
    [ $# -eq 4 ] || { echo "usage: $0 check BASELINE LIB SUPPRESSIONS" >&2; exit 2; }
    verdict "$2" "$3" "$4"
    case $? in
      0) echo "ABI: compatible with $(basename "$2")"; exit 0 ;;
      1) echo "ABI: INCOMPATIBLE change against $(basename "$2") (see the report above);"
         echo "     if deliberate, bump the SONAME and regenerate it with: $0 update $2 LIB"
         exit 1 ;;
      *) echo "ABI: abidiff failed"; exit 1 ;;
    esac
    ;;
  update)
    [ $# -eq 3 ] || { echo "usage: $0 update BASELINE LIB" >&2; exit 2; }
    abi_dump "$3" "$2" && echo "wrote $2"
    ;;
  selftest)
    [ $# -eq 3 ] || { echo "usage: $0 selftest VARIANTS_DIR SUPPRESSIONS" >&2; exit 2; }
    dir=$2
    cc=${CC:-cc}
    if ! command -v "$cc" >/dev/null; then
      echo "SKIP: no C compiler ($cc)"
      exit 77
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    build() {  # build NAME [DEFINE]
      "$cc" -g -O0 -shared -fPIC -I"$dir" ${2:+-D$2} -o "$tmp/$1.so" "$dir/demo.c" || exit 1
    }
    build base
    abi_dump "$tmp/base.so" "$tmp/base.abi" || exit 1
    failures=0
    # variant DEFINE EXPECTED(0 compatible, 1 incompatible) WHAT
    while read -r define expected what; do
      [ -z "$define" ] && continue
      build "$define" "$define"
      out=$(verdict "$tmp/base.abi" "$tmp/$define.so" "$3")
      got=$?
      if [ "$got" = "$expected" ]; then
        echo "ok   $what"
      else
        echo "FAIL $what (verdict $got, expected $expected):"
        echo "$out"
        failures=$((failures + 1))
      fi
    done <<'VARIANTS'
SAME 0 the same library is compatible
ADD_FUNCTION 0 a new function is compatible
APPEND_OPTION 0 a field appended to a versioned options struct is compatible
CHANGE_PARAM 1 a parameter type changed is incompatible
REMOVE_FUNCTION 1 a removed function is incompatible
INSERT_OPTION 1 a field inserted before the end of an options struct is incompatible
RETYPE_OPTION 1 an existing field of an options struct changing type is incompatible
GROW_PLAIN 1 a field appended to an unversioned struct is incompatible
CHANGE_RETURN 1 a return type changed is incompatible
VARIANTS
    echo "$failures failed"
    [ "$failures" -eq 0 ]
    ;;
  *)
    echo "usage: $0 check|update|selftest ..." >&2
    exit 2
    ;;
esac

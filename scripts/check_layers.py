#!/usr/bin/env python3
"""check_layers.py: fail on an include of a higher layer.

Usage: check_layers.py SOURCE_ROOT LAYER...  (layers lowest first)

Each lib/<layer> may include "<other>/..." only for layers listed before it
(or itself); lib/proto includes no uv.h, BoringSSL, ngtcp2 or libssh header. The public headers in include/sluice may include no lib/ layer
and no third-party header (uv.h, openssl/, ngtcp2/, nghttp3/, libssh/).
Run by meson as the `layering` test; prints every violation with its line.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
THIRD_PARTY = ('uv.h', 'openssl/', 'ngtcp2/', 'nghttp3/', 'libssh/', 'mimalloc.h')
# Third-party headers a layer may not include: the protocol cores are sans-I/O
# and reach BoringSSL only through lib/crypto.
BANNED = {'proto': ('uv.h', 'openssl/', 'ngtcp2/', 'nghttp3/', 'libssh/')}
SUFFIXES = ('.hpp', '.cpp', '.h', '.c', '.hh', '.cc', '.inc')


def sources(root):
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(SUFFIXES):
                yield os.path.join(dirpath, f)


def includes(path):
    with open(path, encoding='utf-8', errors='replace') as fh:
        for n, line in enumerate(fh, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1), m.group(2)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    top, layers = argv[1], argv[2:]
    rank = {name: i for i, name in enumerate(layers)}
    errors = []
    checked = 0
    for layer in layers:
        base = os.path.join(top, 'lib', layer)
        if not os.path.isdir(base):
            errors.append(f'lib/{layer}: listed as a layer but missing')
            continue
        for path in sources(base):
            checked += 1
            rel = os.path.relpath(path, top)
            for n, kind, name in includes(path):
                area = name.split('/', 1)[0]
                if kind == '"' and '/' in name and area in rank and rank[area] > rank[layer]:
                    errors.append(f'{rel}:{n}: lib/{layer} includes "{name}" from the '
                                  f'higher layer lib/{area}')
                if name.startswith(BANNED.get(layer, ())):
                    errors.append(f'{rel}:{n}: lib/{layer} may not include <{name}>')
    for path in sources(os.path.join(top, 'include', 'sluice')):
        checked += 1
        rel = os.path.relpath(path, top)
        for n, kind, name in includes(path):
            area = name.split('/', 1)[0]
            if kind == '"' and '/' in name and area in rank:
                errors.append(f'{rel}:{n}: a public header includes internal "{name}"')
            if name.startswith(THIRD_PARTY):
                errors.append(f'{rel}:{n}: a public header includes third-party <{name}>')
    for e in errors:
        print(e)
    print(f'{checked} files checked against layers {" < ".join(layers)}: '
          f'{len(errors)} violation(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

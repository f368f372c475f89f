#!/usr/bin/env python3
"""openssl_first.py: a Python host that has OpenSSL 3 loaded globally embeds sluice.

    openssl_first.py HOST PORT PATH        (libsluice from $SLUICE_LIB)

Python's own `ssl` module is imported first, then libssl.so.3 and
libcrypto.so.3 are loaded with RTLD_GLOBAL (as a host whose extension
modules need OpenSSL's symbols global does), so OpenSSL 3 is in the
process's global symbol scope before libsluice is loaded. A libsluice that
imports BoringSSL's unversioned symbols from libssl.so.0 (-Dboringssl=system)
then binds them to OpenSSL 3 and crashes in sluice_instance_new.

The test makes a self-signed certificate for "embed.test" with the openssl
command, starts a Trojan+TLS server instance on its own engine, and fetches
HTTP/1.0 GET PATH from HOST:PORT through a Trojan+TLS client instance, with
the ctypes binding of examples/python/fetch.py. It prints the response; the
driver (tests/capi/run_example.py) checks it. Afterwards it makes a TLS
context with Python's ssl module and digests the response with OpenSSL 3,
to show the host's library still works.
"""
import ctypes
import hashlib
import json
import os
import ssl  # the host's OpenSSL 3, first
import subprocess
import sys
import tempfile

ctypes.CDLL("libcrypto.so.3", mode=ctypes.RTLD_GLOBAL)
ctypes.CDLL("libssl.so.3", mode=ctypes.RTLD_GLOBAL)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "examples", "python"))
import fetch  # noqa: E402  (examples/python/fetch.py: the C ABI through ctypes)

SERVER_NAME = "embed.test"
PASSWORD = "openssl-first python host password"


def make_certificate():
    """A P-256 key and a self-signed certificate for SERVER_NAME (PEM texts)."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "1", "-subj", "/CN=" + SERVER_NAME,
             "-addext", "subjectAltName=DNS:" + SERVER_NAME, "-keyout", key, "-out", cert],
            check=True, capture_output=True)
        with open(cert) as c, open(key) as k:
            return c.read(), k.read()


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, path = argv[0], int(argv[1]), argv[2]
    print("openssl_first.py: host TLS library %s" % ssl.OPENSSL_VERSION, file=sys.stderr)
    if ssl.OPENSSL_VERSION_INFO[0] < 3:
        print("openssl_first.py: Python's ssl module is not OpenSSL 3", file=sys.stderr)
        return 1
    cert, key = make_certificate()
    server_config = json.dumps({
        "log": {"level": "error"},
        "inbounds": [{"type": "trojan", "tag": "trojan-in", "listen": "127.0.0.1",
                      "listen_port": 0, "users": [{"name": "host", "password": PASSWORD}],
                      "tls": {"enabled": True, "server_name": SERVER_NAME,
                              "certificate": cert, "key": key}}],
        "outbounds": [{"type": "direct", "tag": "direct"}],
    }).encode()

    lib = fetch.load(os.environ["SLUICE_LIB"])
    print("openssl_first.py: libsluice %s" % lib.sluice_version().decode(), file=sys.stderr)

    # The server side: its own engine; before sluice_engine_start this thread
    # is that engine's loop thread.
    engine = ctypes.c_void_p()
    rc = lib.sluice_engine_new(None, ctypes.byref(engine))
    if rc != fetch.SLUICE_OK:
        print("openssl_first.py: engine: %s" % lib.sluice_strerror(rc).decode(), file=sys.stderr)
        return 1
    try:
        server = ctypes.c_void_p()
        rc = lib.sluice_instance_new(engine, server_config, len(server_config),
                                     ctypes.byref(server))
        if rc != fetch.SLUICE_OK:
            print("openssl_first.py: server: %s: %s" % (
                lib.sluice_strerror(rc).decode(),
                lib.sluice_engine_failure_reason(engine).decode()), file=sys.stderr)
            return 1
        server_port = ctypes.c_uint16()
        rc = lib.sluice_instance_inbound_port(server, b"trojan-in", ctypes.byref(server_port))
        if rc == fetch.SLUICE_OK:
            rc = lib.sluice_engine_start(engine)
        if rc != fetch.SLUICE_OK:
            print("openssl_first.py: %s" % lib.sluice_strerror(rc).decode(), file=sys.stderr)
            return 1
        print("openssl_first.py: Trojan+TLS server on 127.0.0.1:%d" % server_port.value,
              file=sys.stderr)

        # The client side: fetch.Fetch runs its own engine with fetch.CONFIG,
        # here a Trojan+TLS outbound (its default session) trusting the
        # certificate.
        fetch.CONFIG = json.dumps({
            "log": {"level": "error"},
            "outbounds": [{"type": "trojan", "tag": "trojan-out", "server": "127.0.0.1",
                           "server_port": server_port.value, "password": PASSWORD,
                           "tls": {"enabled": True, "server_name": SERVER_NAME,
                                   "certificate": cert}}],
        }).encode()
        f = fetch.Fetch(lib, host, port, path)
        status = f.run()
        lib.sluice_engine_stop(engine)
    finally:
        lib.sluice_engine_free(engine)
    if status != fetch.SLUICE_OK:
        print("openssl_first.py: fetch failed: %s" % lib.sluice_strerror(status).decode(),
              file=sys.stderr)
        return 1

    # The host's OpenSSL 3 after sluice ran.
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(cadata=cert)
    digest = hashlib.sha256(bytes(f.response)).hexdigest()
    print("openssl_first.py: %d bytes through Trojan+TLS, sha256 %s..." % (
        len(f.response), digest[:8]), file=sys.stderr)
    sys.stdout.write(f.response.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

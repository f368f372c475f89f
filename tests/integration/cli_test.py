#!/usr/bin/env python3
"""End to end through the `sluice` program: `check` on good and bad
configurations, then `run` with a mixed inbound and a direct outbound, an
HTTP page fetched through it as a proxy, and a graceful SIGTERM."""
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sluice = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    good = {
        "log": {"level": "info"},
        "inbounds": [{"type": "mixed", "tag": "local", "listen": "127.0.0.1", "listen_port": 0}],
        "outbounds": [{"type": "direct", "tag": "direct"}],
        "route": {"final": "direct"},
    }
    good_path = os.path.join(tmp, "good.json")
    with open(good_path, "w") as f:
        json.dump(good, f)
    bad_path = os.path.join(tmp, "bad.json")
    with open(bad_path, "w") as f:
        json.dump({"inbounds": [{"type": "socks", "listen_port": "x"}]}, f)

    r = subprocess.run([sluice, "check", "-c", good_path], capture_output=True, text=True)
    check(r.returncode == 0, "check accepts a valid configuration")
    r = subprocess.run([sluice, "check", "-c", bad_path], capture_output=True, text=True)
    check(r.returncode == 1, "check rejects a bad configuration with status 1")
    check("inbounds[0].listen_port" in r.stderr, "the error names the JSON path: " + r.stderr.strip())
    r = subprocess.run([sluice, "check", "-c", os.path.join(tmp, "missing.json")], capture_output=True, text=True)
    check(r.returncode == 1, "check reports a missing file")

    # A web server to fetch from.
    site = os.path.join(tmp, "site")
    os.mkdir(site)
    page = b"sluice cli test page\n" * 1000
    with open(os.path.join(site, "page.txt"), "wb") as f:
        f.write(page)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=site, **kw)

        def log_message(self, *a):
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    web_port = web.server_address[1]

    proc = subprocess.Popen([sluice, "run", "-c", good_path], stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.time() + 10
    lines = []
    while time.time() < deadline and port is None:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"inbound local listening on port (\d+)", line)
        if m:
            port = int(m.group(1))
    check(port is not None, "run reports its listening port")
    if port:
        proxy = urllib.request.ProxyHandler({"http": "http://127.0.0.1:%d" % port})
        opener = urllib.request.build_opener(proxy)
        body = opener.open("http://127.0.0.1:%d/page.txt" % web_port, timeout=10).read()
        check(body == page, "a page fetched through the HTTP side of the mixed inbound is intact")
        # And through SOCKS5 on the same port, by hand.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"\x05\x01\x00")
        check(s.recv(2) == b"\x05\x00", "SOCKS5 greeting answered on the mixed port")
        s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + web_port.to_bytes(2, "big"))
        rep = s.recv(10)
        check(len(rep) >= 2 and rep[1] == 0, "SOCKS5 CONNECT succeeded")
        s.sendall(b"GET /page.txt HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        check(data.endswith(page), "the page arrives intact through SOCKS5")
        s.close()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    check(rc == 0, "run exits 0 after SIGTERM (got %r)" % rc)
    web.shutdown()

print("%d failed" % len(failures))
sys.exit(1 if failures else 0)

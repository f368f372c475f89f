#!/usr/bin/env python3
"""memory_return.py SLUICE [CONNECTIONS] [WAIT_S]: RSS of `sluice run` before
load, at its peak, and WAIT_S seconds (default 60) after the load ends.

Load: CONNECTIONS (default 2000) concurrent SOCKS5 CONNECTs through a mixed
inbound to a local echo server, each moving 256 KiB both ways, all open at
once. Not a test (it sleeps a minute): the numbers go in docs/reliability.md.
The Engine trims its pool once load has been gone two 5 s ticks
(lib/core/pool_trim.hpp), so the "after" figure should be near "before"."""
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

sluice = sys.argv[1]
conns = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
wait_s = int(sys.argv[3]) if len(sys.argv) > 3 else 60
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))  # the child inherits it


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1))


echo = socket.socket()
echo.bind(("127.0.0.1", 0))
echo.listen(4096)


def serve():
    while True:
        try:
            c, _ = echo.accept()
        except OSError:
            return

        def one(c=c):
            with c:
                while True:
                    try:
                        d = c.recv(65536)
                    except OSError:
                        return
                    if not d:
                        return
                    c.sendall(d)

        threading.Thread(target=one, daemon=True).start()


threading.Thread(target=serve, daemon=True).start()

with tempfile.TemporaryDirectory() as tmp:
    cfg = os.path.join(tmp, "c.json")
    with open(cfg, "w") as f:
        json.dump({"log": {"level": "warn"},
                   "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1",
                                 "listen_port": 0}],
                   "outbounds": [{"type": "direct", "tag": "direct"}]}, f)
    proc = subprocess.Popen([sluice, "run", "-c", cfg], stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ))
    # warn level hides the port line; ask the kernel instead.
    time.sleep(0.5)
    out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
    port = None
    for line in out.splitlines():
        if "pid=%d," % proc.pid in line:
            port = int(line.split()[3].rsplit(":", 1)[1])
    assert port, out
    time.sleep(1)
    before = rss_kib(proc.pid)
    before_anon = rss_kib(proc.pid, "RssAnon")
    peak = before
    stop = threading.Event()

    def sample():
        nonlocal_peak = [peak]
        while not stop.is_set():
            nonlocal_peak[0] = max(nonlocal_peak[0], rss_kib(proc.pid))
            time.sleep(0.05)
        samples.append(nonlocal_peak[0])

    samples = []
    t = threading.Thread(target=sample)
    t.start()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" +
                  echo.getsockname()[1].to_bytes(2, "big"))
        socks.append(s)
    for s in socks:
        got = b""
        while len(got) < 12:
            got += s.recv(12 - len(got))
    payload = b"x" * (256 << 10)

    def pump(group):
        for s in group:
            s.sendall(payload)
        for s in group:
            left = len(payload)
            while left:
                left -= len(s.recv(min(left, 65536)))

    workers = [threading.Thread(target=pump, args=(socks[i::16],)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    t.join()
    peak = samples[0]
    for s in socks:
        s.close()
    time.sleep(wait_s)
    after = rss_kib(proc.pid)
    anon = rss_kib(proc.pid, "RssAnon")
    rfile = rss_kib(proc.pid, "RssFile")
    proc.terminate()
    proc.wait()
    print("connections %d x 256 KiB echo" % conns)
    print("RSS before %.1f MiB, peak %.1f MiB, %d s after %.1f MiB" %
          (before / 1024, peak / 1024, wait_s, after / 1024))
    print("before: anonymous %.1f MiB" % (before_anon / 1024))
    print("after: anonymous %.1f MiB, file-backed (code, libraries) %.1f MiB" %
          (anon / 1024, rfile / 1024))

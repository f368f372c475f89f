#!/usr/bin/env python3
"""Overload and exhaustion through the `sluice` program on 127.0.0.1:
per-inbound connection limits (max_connections, max_connections_per_ip)
refuse with a logged reason and give places back when connections end;
udp_timeout expires idle SOCKS5 UDP associations; and with RLIMIT_NOFILE
lowered in the server process, accept failures are logged rate-limited,
cost no busy loop, and service resumes once descriptors are free."""
import json
import os
import re
import resource
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time

sluice = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Run:
    """`sluice run` on a config; collects stderr lines in the background."""

    def __init__(self, config, tmp, name, nofile=None):
        path = os.path.join(tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(config, f)

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([sluice, "run", "-c", path], stderr=subprocess.PIPE,
                                     text=True, preexec_fn=limit)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"inbound in listening on port (\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(10)

    def log(self):
        return "".join(self.lines)

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def mixed(extra=None):
    inbound = {"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}
    inbound.update(extra or {})
    return {"log": {"level": "info"}, "inbounds": [inbound],
            "outbounds": [{"type": "direct", "tag": "direct"}]}


def socks_greeting_ok(port, source="127.0.0.1"):
    """True if a new connection gets its SOCKS5 greeting answered."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0))
        s.sendall(b"\x05\x01\x00")
        ok = s.recv(2) == b"\x05\x00"
        s.close()
        return ok
    except OSError:
        return False


def refused_at_once(port, source="127.0.0.1"):
    """True if a new connection is closed by the server within 2 s, unanswered."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(source, 0))
    except OSError:
        return True
    try:
        s.sendall(b"\x05\x01\x00")
        r, _, _ = select.select([s], [], [], 2)
        if not r:
            return False
        return s.recv(16) == b""
    except ConnectionResetError:
        return True
    finally:
        s.close()


def socks_connect(port, target_port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + target_port.to_bytes(2, "big"))
    rep = b""
    while len(rep) < 10:
        chunk = s.recv(10 - len(rep))
        if not chunk:
            break
        rep += chunk
    assert len(rep) == 10 and rep[1] == 0, rep
    return s


def echo_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
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
    return srv


with tempfile.TemporaryDirectory() as tmp:
    echo = echo_server()
    echo_port = echo.getsockname()[1]

    # max_connections: relayed streams hold their places until they end.
    run = Run(mixed({"max_connections": 3}), tmp, "max_total")
    check(run.port is not None, "run with max_connections starts")
    if run.port:
        held = [socks_connect(run.port, echo_port) for _ in range(3)]
        for i, s in enumerate(held):
            s.sendall(b"ping %d" % i)
            check(s.recv(64) == b"ping %d" % i, "relayed stream %d under the limit works" % i)
        check(refused_at_once(run.port), "a 4th connection is closed at accept")
        time.sleep(0.2)
        check("refused: max_connections reached" in run.log(),
              "the refusal is logged with its reason")
        held[0].close()
        time.sleep(0.3)  # the relay sees EOF and ends, giving its place back
        check(socks_greeting_ok(run.port), "a place freed by a closed stream is reused")
        for _ in range(20):
            refused_at_once(run.port)
        time.sleep(0.2)
        lines = [l for l in run.lines if "refused: max_connections" in l]
        check(1 <= len(lines) <= 2, "20 more refusals add no log lines (rate-limited): %d" % len(lines))
        for s in held[1:]:
            s.close()
        run.stop()

    # max_connections_per_ip: one address is capped, another is not.
    run = Run(mixed({"max_connections_per_ip": 2}), tmp, "per_ip")
    if run.port:
        held = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", run.port), timeout=3)
            s.sendall(b"\x05\x01\x00")
            s.recv(2)
            held.append(s)
        check(refused_at_once(run.port), "a 3rd connection from 127.0.0.1 is refused")
        check(socks_greeting_ok(run.port, source="127.0.0.2"),
              "a connection from 127.0.0.2 is still admitted")
        time.sleep(0.2)
        check("max_connections_per_ip reached" in run.log(), "the per-address refusal is logged")
        for s in held:
            s.close()
        time.sleep(0.3)
        check(socks_greeting_ok(run.port), "127.0.0.1 is admitted again once its connections close")
        run.stop()

    # udp_timeout on a mixed inbound: an idle association ends with its control connection.
    uecho = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uecho.bind(("127.0.0.1", 0))

    def userve():
        while True:
            try:
                d, a = uecho.recvfrom(65536)
            except OSError:
                return
            uecho.sendto(d, a)

    threading.Thread(target=userve, daemon=True).start()
    for timeout, expect_closed in (("300ms", True), ("0s", False)):
        run = Run(mixed({"udp": True, "udp_timeout": timeout}), tmp, "udp_" + timeout)
        if not run.port:
            check(False, "run with udp_timeout %s starts" % timeout)
            continue
        ctl = socket.create_connection(("127.0.0.1", run.port), timeout=5)
        ctl.sendall(b"\x05\x01\x00")
        ctl.recv(2)
        ctl.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
        rep = ctl.recv(10)
        relay_port = int.from_bytes(rep[8:10], "big")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(3)
        u.sendto(b"\x00\x00\x00\x01\x7f\x00\x00\x01" + uecho.getsockname()[1].to_bytes(2, "big") +
                 b"dgram", ("127.0.0.1", relay_port))
        got = u.recv(100)
        check(got.endswith(b"dgram"), "udp_timeout %s: a datagram round-trips" % timeout)
        start = time.time()
        r, _, _ = select.select([ctl], [], [], 1.5)
        closed = bool(r) and ctl.recv(16) == b""
        if expect_closed:
            check(closed and time.time() - start < 1.4,
                  "udp_timeout 300ms: the idle association and its control connection end")
        else:
            check(not closed, "udp_timeout \"0s\" means the default (5m), not 'expire at once'")
        ctl.close()
        u.close()
        run.stop()

    # Descriptor exhaustion: RLIMIT_NOFILE lowered in the server process.
    run = Run(mixed(), tmp, "nofile", nofile=48)
    check(run.port is not None, "run starts with RLIMIT_NOFILE 48")
    if run.port:
        clients = []
        for _ in range(80):
            try:
                clients.append(socket.create_connection(("127.0.0.1", run.port), timeout=2))
            except OSError:
                pass
        time.sleep(0.3)
        cpu0 = run.cpu_seconds()
        for _ in range(20):  # keep knocking while out of descriptors
            try:
                socket.create_connection(("127.0.0.1", run.port), timeout=1).close()
            except OSError:
                pass
        time.sleep(2.0)
        used = run.cpu_seconds() - cpu0
        print("     CPU while out of descriptors: %.3f s over ~2 s" % used)
        check(used < 0.5, "no busy loop while out of descriptors (%.3f s CPU in ~2 s)" % used)
        check(run.proc.poll() is None, "the process stays up")
        errs = [l for l in run.lines if "accept failed" in l]
        check(1 <= len(errs) <= 3, "accept failures are logged, rate-limited (%d lines)" % len(errs))
        if errs:
            print("     " + errs[0].strip())
        for c in clients:
            c.close()
        time.sleep(0.5)
        check(socks_greeting_ok(run.port), "service resumes once descriptors are free")
        run.stop()
    echo.close()
    uecho.close()

print("%d failed" % len(failures))
sys.exit(1 if failures else 0)

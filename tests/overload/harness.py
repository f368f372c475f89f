#!/usr/bin/env python3
"""Shared pieces of the overload tests: `sluice run` processes, a
client/server pair per protocol row, an echo target in its own process (so its
descriptors do not count against the test's), many SOCKS5 tunnels opened at
once, RSS and the Engine's stats (SIGUSR1) read from outside.

  harness.py echo-target      runs an echo server on 127.0.0.1:0 (TCP and UDP,
                              the same port); prints the port, serves until
                              stdin closes
"""
import json
import os
import queue
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

SKIP = 77  # meson counts this exit status as a skipped test
UUID = "3f0a8c52-6d1e-4b7a-9c3e-5a2b7d9e0f14"
PW = "overload password"


class Checks:
    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond

    def exit(self):
        print("%d failed" % len(self.failures), flush=True)
        sys.exit(1 if self.failures else 0)


def raise_nofile(need):
    """Raises RLIMIT_NOFILE (soft, and hard if need be) to at least |need| for
    this process and the processes it starts. Exits 77 if it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(need, hard)))
    except (ValueError, OSError) as e:
        print("skip: need RLIMIT_NOFILE %d, have soft %d hard %d and cannot raise it (%s)" %
              (need, soft, hard, e))
        sys.exit(SKIP)


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1))


class Sluice:
    """`sluice run` on |config|; stderr lines are kept (stats lines apart)."""

    def __init__(self, sluice, tmp, name, config):
        path = os.path.join(tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.name = name
        self.proc = subprocess.Popen([sluice, "run", "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.lines = []
        self.ports = {}
        self.stats_q = queue.Queue()
        want = len(config["inbounds"])
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                if line.startswith("sluice: stats "):
                    self.stats_q.put({k: int(v) for k, v in
                                      (kv.split("=") for kv in line.split()[2:])})
                    continue
                self.lines.append(line)
                m = re.search(r"inbound (\S+) listening on port (\d+)", line)
                if m:
                    self.ports[m.group(1)] = int(m.group(2))
                    if len(self.ports) == want:
                        ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(15) or len(self.ports) < want:
            self.stop()
            raise RuntimeError("%s did not start: %s" % (name, "".join(self.lines[-5:])))

    def stats(self):
        while not self.stats_q.empty():
            self.stats_q.get_nowait()
        os.kill(self.pid, signal.SIGUSR1)
        return self.stats_q.get(timeout=5)

    def rss(self):
        return rss_kib(self.pid)

    def log(self):
        return "".join(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def keypair(sluice, tmp):
    """(server TLS object, client TLS object) for the name overload.test."""
    kp = os.path.join(tmp, "tls")
    out = subprocess.run([sluice, "generate", "tls-keypair", "overload.test", "-o", kp],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    pin = re.search(r"^certificate_sha256: (\S+)", out, re.M).group(1)
    return ({"enabled": True, "certificate_path": kp + "/cert.pem", "key_path": kp + "/key.pem"},
            {"enabled": True, "server_name": "overload.test", "certificate_sha256": [pin]})


def rows(stls, ctls):
    """name -> (server inbound, client outbound without server/port, is QUIC)."""
    return {
        "trojan": ({"type": "trojan", "users": [{"password": PW}], "tls": stls},
                   {"type": "trojan", "password": PW, "tls": ctls}, False),
        "vless": ({"type": "vless", "users": [{"uuid": UUID}], "tls": stls},
                  {"type": "vless", "uuid": UUID, "tls": ctls}, False),
        "tuic": ({"type": "tuic", "users": [{"uuid": UUID, "password": PW}],
                  "tls": dict(stls, alpn=["h3"])},
                 {"type": "tuic", "uuid": UUID, "password": PW, "tls": dict(ctls, alpn=["h3"])},
                 True),
        "hysteria2": ({"type": "hysteria2", "users": [{"password": PW}], "tls": stls},
                      {"type": "hysteria2", "password": PW, "tls": ctls}, True),
    }


# Concurrent streams a sluice server lets one QUIC connection open (its
# initial_max_streams_bidi, given back as streams close): every flow of a
# TUIC or Hysteria2 outbound shares one connection, so past this many open
# at once the next ones wait for a stream.
QUIC_STREAM_LIMIT = {"tuic": 4096, "hysteria2": 1024}


def server_config(inbounds, level="info"):
    ins = [dict({"listen": "127.0.0.1", "listen_port": 0}, **i) for i in inbounds]
    return {"log": {"level": level}, "inbounds": ins,
            "outbounds": [{"type": "direct", "tag": "direct"}]}


def client_config(outbound, server_port, level="info"):
    ob = dict(outbound, tag="up", server="127.0.0.1", server_port=server_port)
    return {"log": {"level": level},
            "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
            "outbounds": [ob]}


class EchoTarget:
    """The echo target in a child process (its own descriptor table)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "echo-target"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def serve_echo():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4096)
    lst.setblocking(False)
    port = lst.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    u.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lst, selectors.EVENT_READ, "accept")
    sel.register(u, selectors.EVENT_READ, "udp")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print(port, flush=True)
    pending = {}  # connection -> echo bytes not yet sent
    while True:
        for key, _ in sel.select():
            if key.data == "stdin":
                return
            if key.data == "accept":
                for _ in range(256):
                    try:
                        c, _ = lst.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, "conn")
            elif key.data == "udp":
                try:
                    d, a = u.recvfrom(65536)
                    u.sendto(d, a)
                except OSError:
                    pass
            else:
                c = key.fileobj
                out = pending.setdefault(c, bytearray())
                if out:  # writable again: flush what the peer could not take
                    try:
                        out = out[c.send(out):]
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        out = None
                else:
                    try:
                        d = c.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        d = b""
                    if d:
                        try:
                            out = bytearray(d[c.send(d):])
                        except (BlockingIOError, InterruptedError):
                            out = bytearray(d)
                        except OSError:
                            out = None
                    else:
                        out = None
                if out is None:
                    sel.unregister(c)
                    pending.pop(c, None)
                    c.close()
                    continue
                pending[c] = out
                # Backpressure: stop reading while an echo waits to be sent.
                sel.modify(c, selectors.EVENT_WRITE if out else selectors.EVENT_READ, "conn")


def socks_request(target_port):
    return (b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" + target_port.to_bytes(2, "big"))


def open_tunnels(port, target_port, n, deadline_s, batch=200):
    """Opens |n| SOCKS5 tunnels through 127.0.0.1:|port| to the echo target,
    each proving itself with one echoed byte; returns (open sockets, failures).
    At most |batch| handshakes are in flight at once."""
    sel = selectors.DefaultSelector()
    req = socks_request(target_port) + b"!"
    want = 12 + 1
    done, failed = [], 0
    pending = {}
    started = 0
    end = time.monotonic() + deadline_s
    while (started < n or pending) and time.monotonic() < end:
        while started < n and len(pending) < batch:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            pending[s] = b""
            sel.register(s, selectors.EVENT_WRITE, "connect")
            started += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            if key.data == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    sel.unregister(s)
                    del pending[s]
                    s.close()
                    failed += 1
                    continue
                s.send(req)
                sel.modify(s, selectors.EVENT_READ, "reply")
                continue
            try:
                d = s.recv(want - len(pending[s]))
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                del pending[s]
                s.close()
                failed += 1
                continue
            pending[s] += d
            if len(pending[s]) == want:
                sel.unregister(s)
                ok = pending[s][:2] == b"\x05\x00" and pending[s][3] == 0 and pending[s][12:] == b"!"
                del pending[s]
                if ok:
                    done.append(s)
                else:
                    s.close()
                    failed += 1
    for s in pending:
        s.close()
    failed += len(pending) + (n - started)
    sel.close()
    return done, failed


def ping_rtt_ms(sock):
    """One 64-byte round trip on an open echo tunnel (blocking), in ms."""
    sock.setblocking(True)
    sock.settimeout(10)
    msg = os.urandom(64)
    t0 = time.monotonic()
    sock.sendall(msg)
    got = b""
    while len(got) < 64:
        d = sock.recv(64 - len(got))
        if not d:
            raise EOFError("tunnel closed")
        got += d
    if got != msg:
        raise ValueError("echo differs")
    return (time.monotonic() - t0) * 1000


def settle_rss(procs, baseline, ratio, seconds):
    """Polls until every process's RSS is within |ratio| of its baseline, for
    at most |seconds|; returns {name: last RSS KiB} and the seconds it took."""
    t0 = time.monotonic()
    while True:
        now = {p.name: p.rss() for p in procs}
        if all(now[p.name] <= baseline[p.name] * ratio for p in procs):
            return now, time.monotonic() - t0
        if time.monotonic() - t0 >= seconds:
            return now, time.monotonic() - t0
        time.sleep(0.5)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "echo-target":
    serve_echo()

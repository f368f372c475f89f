#!/usr/bin/env python3
"""slowloris_test.py SLUICE [--slow N] [--garbage N]

Slow and garbage clients at every inbound of one `sluice run` server (mixed,
socks, http, trojan+TLS, vless+TLS, tuic, hysteria2), while legitimate
tunnels keep working:

  slowloris  N connections per TCP inbound send a valid handshake one byte a
             second (SOCKS5, HTTP CONNECT, a TLS ClientHello; and, after a
             completed TLS handshake, the Trojan or VLESS request): the
             inbound's deadline (10 s from accept; VLESS's header 4 s after
             TLS) closes every one. QUIC: clients whose handshake stalls
             after their Initial (a relay forwards the Initial of real
             sluice clients, then drops everything) stop costing the server
             anything after its 10 s handshake timeout. Ping-pong RTT through
             a direct SOCKS5 tunnel and a Trojan tunnel is measured before and
             during, and both keep answering.
  garbage    N connections per TCP inbound send random bytes, and N random
             datagrams go to each QUIC inbound; the process
             stays up, 8 MiB echoes through both tunnels meanwhile keep their
             SHA-256, and both processes' RSS returns to within 10 % of the
             baseline afterwards (bounded poll; the pool trim waits for two
             quiet 5 s ticks).

--slow defaults to 20 (per inbound and kind), --garbage to 2000 (per TCP
inbound, the suite's size); `--garbage 10000` is the issue's size.
--no-memory reports RSS without checking it (ASan or pool-less builds)."""
import argparse
import hashlib
import os
import selectors
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("sluice")
ap.add_argument("--slow", type=int, default=20)
ap.add_argument("--garbage", type=int, default=2000)
ap.add_argument("--no-memory", action="store_true",
                help="report RSS without checking it (sanitized or pool-less builds)")
args = ap.parse_args()
checks = harness.Checks()
harness.raise_nofile(4096)
DEADLINE_S = 10.0  # the inbounds' handshake deadline (not configurable)


def client_hello():
    """The first flight of a real TLS client (Python's), as bytes."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="overload.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_socket(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(s, server_hostname="overload.test")


def trojan_request(target_port):
    h = hashlib.sha224(harness.PW.encode()).hexdigest().encode()
    return (h + b"\r\n\x01\x01\x7f\x00\x00\x01" + target_port.to_bytes(2, "big") + b"\r\n")


def vless_request(target_port):
    uid = bytes.fromhex(harness.UUID.replace("-", ""))
    return (b"\x00" + uid + b"\x00\x01" + target_port.to_bytes(2, "big") + b"\x01\x7f\x00\x00\x01")


class Slow:
    """Slow connections: each sends |data| one byte per second until the
    server closes it; records when that happened (seconds from connect)."""

    def __init__(self, label, socks, data):
        self.label, self.socks, self.data = label, socks, data
        self.sent = {s: 0 for s in socks}
        self.t0 = {s: time.monotonic() for s in socks}
        self.closed_after = {}


def drip(slows, limit_s):
    """Drives every Slow group until all are closed or |limit_s| passes."""
    sel = selectors.DefaultSelector()
    owner = {}
    for g in slows:
        for s in g.socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            owner[s] = g
    end = time.monotonic() + limit_s
    next_tick = time.monotonic()
    while owner and time.monotonic() < end:
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            for s, g in list(owner.items()):
                if g.sent[s] < len(g.data) - 1:  # never the last byte: the handshake never completes
                    try:
                        s.send(g.data[g.sent[s]:g.sent[s] + 1])
                        g.sent[s] += 1
                    except (BlockingIOError, ssl.SSLWantWriteError):
                        pass
                    except OSError:
                        pass  # reset: seen as closed below
        for key, _ in sel.select(timeout=max(0.0, min(0.2, next_tick - time.monotonic()))):
            s = key.fileobj
            g = owner[s]
            try:
                d = s.recv(4096)
                if d and not isinstance(s, ssl.SSLSocket):
                    continue  # a reply to part of a handshake (SOCKS5 method choice): still open
                if d:
                    continue
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            except OSError:
                pass
            g.closed_after[s] = time.monotonic() - g.t0[s]
            sel.unregister(s)
            del owner[s]
            s.close()
    for s in owner:
        sel.unregister(s)
        s.close()
    sel.close()


def pinger(sock, out, stop):
    while not stop.is_set():
        try:
            out.append(harness.ping_rtt_ms(sock))
        except Exception as e:  # noqa: BLE001 - recorded as a failure
            out.append(("error", repr(e)))
            return
        time.sleep(0.1)


def echo_hash(port, target_port, size, result):
    """An echo of |size| bytes through a SOCKS5 tunnel; appends True if the
    SHA-256 of what came back matches."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(harness.socks_request(target_port))
        rep = b""
        while len(rep) < 12:
            rep += s.recv(12 - len(rep))
        data = os.urandom(size)
        want = hashlib.sha256(data).digest()

        def send():
            s.sendall(data)

        t = threading.Thread(target=send)
        t.start()
        h, left = hashlib.sha256(), size
        while left:
            d = s.recv(min(left, 65536))
            if not d:
                break
            h.update(d)
            left -= len(d)
        t.join()
        s.close()
        result.append(left == 0 and h.digest() == want)
    except Exception as e:  # noqa: BLE001
        result.append(False)
        print("     echo failed: %r" % e)


def garbage(port, n, batch=200):
    """|n| connections that each send 1..512 random bytes; returns how many the
    server closed itself within 0.5 s of the garbage (the rest we closed)."""
    sel = selectors.DefaultSelector()
    started = closed_by_server = 0
    live = {}
    while started < n or live:
        while started < n and len(live) < batch:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            live[s] = None
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
        for key, ev in sel.select(timeout=0.1):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE and live[s] is None:
                try:
                    s.send(os.urandom(1 + (started * 7919) % 512))
                except OSError:
                    pass
                live[s] = time.monotonic()
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                closed_by_server += 1
                sel.unregister(s)
                del live[s]
                s.close()
        now = time.monotonic()
        for s, t in list(live.items()):
            if t is not None and now - t > 0.5:
                sel.unregister(s)
                del live[s]
                s.close()
    sel.close()
    return closed_by_server


def quic_stalls(sluice, tmp, outbound, server_port, k, port_log):
    """|k| real sluice clients (one process each) whose QUIC handshakes to
    127.0.0.1:|server_port| stall: a relay forwards each client's first
    datagram (its Initial) from a socket of its own and nothing after, in
    either direction. Returns the relay's server-facing sockets."""
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    relay.settimeout(0.2)
    procs = []
    for i in range(k):
        procs.append(harness.Sluice(sluice, tmp, "%s-stall%d" % (port_log, i),
                                    harness.client_config(dict(outbound, connect_timeout="3s"),
                                                          relay.getsockname()[1])))
    for p in procs:  # one flow each makes each client dial
        try:
            s = socket.create_connection(("127.0.0.1", p.ports["in"]), timeout=1)
            s.sendall(harness.socks_request(9))
            p.trigger = s
        except OSError:
            p.trigger = None
    upstream = {}
    end = time.monotonic() + 5
    while len(upstream) < k and time.monotonic() < end:
        try:
            d, a = relay.recvfrom(65536)
        except socket.timeout:
            continue
        if a not in upstream and d and d[0] & 0x80:  # a long header: the client's Initial
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            u.sendto(d, ("127.0.0.1", server_port))
            u.setblocking(False)
            upstream[a] = u
    for p in procs:
        if p.trigger:
            p.trigger.close()
        p.stop()
    relay.close()
    return list(upstream.values())


def quic_silence(socks, after_s, quiet_s):
    """Seconds after start when the last datagram from the server arrived on
    any of |socks| (draining them for |after_s| + |quiet_s| seconds), and the
    count of datagrams seen."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    t0 = time.monotonic()
    last, count = 0.0, 0
    while time.monotonic() - t0 < after_s + quiet_s:
        for key, _ in sel.select(timeout=0.2):
            try:
                key.fileobj.recv(65536)
                count += 1
                last = time.monotonic() - t0
            except OSError:
                pass
    sel.close()
    return last, count


with tempfile.TemporaryDirectory() as tmp:
    stls, ctls = harness.keypair(args.sluice, tmp)
    table = harness.rows(stls, ctls)
    target = harness.EchoTarget()
    inbounds = [{"type": "mixed", "tag": "mixed"}, {"type": "socks", "tag": "socks"},
                {"type": "http", "tag": "http"}]
    for name in ("trojan", "vless", "tuic", "hysteria2"):
        inbounds.append(dict(table[name][0], tag=name))
    server = harness.Sluice(args.sluice, tmp, "server", harness.server_config(inbounds))
    client = harness.Sluice(args.sluice, tmp, "client",
                            harness.client_config(table["trojan"][1], server.ports["trojan"]))
    procs = [server, client]
    try:
        # Legitimate tunnels: direct SOCKS5 on the server, and Trojan via the client.
        legit = {}
        for label, port in (("socks5", server.ports["socks"]), ("trojan", client.ports["in"])):
            socks, failed = harness.open_tunnels(port, target.port, 1, 10)
            checks.check(len(socks) == 1, "legitimate %s tunnel opens" % label)
            legit[label] = socks[0]
        before = {k: [harness.ping_rtt_ms(s) for _ in range(20)] for k, s in legit.items()}
        res = []
        echo_hash(server.ports["socks"], target.port, 1 << 20, res)
        echo_hash(client.ports["in"], target.port, 1 << 20, res)
        checks.check(res == [True, True], "warm-up echoes through both tunnels match")

        # ---- slowloris
        st0 = server.stats()
        hello = client_hello()
        plan = [
            ("mixed/socks5", "mixed", harness.socks_request(target.port), False),
            ("mixed/http", "mixed",
             b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % target.port, False),
            ("socks", "socks", harness.socks_request(target.port), False),
            ("http", "http",
             b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % target.port, False),
            ("trojan ClientHello", "trojan", hello, False),
            ("vless ClientHello", "vless", hello, False),
            ("trojan request after TLS", "trojan", trojan_request(target.port), True),
            ("vless request after TLS", "vless", vless_request(target.port), True),
        ]
        groups = []
        for label, tag, data, after_tls in plan:
            socks = []
            for _ in range(args.slow):
                try:
                    if after_tls:
                        socks.append(tls_socket(server.ports[tag]))
                    else:
                        socks.append(socket.create_connection(("127.0.0.1", server.ports[tag]),
                                                              timeout=5))
                except OSError as e:
                    print("     %s: connect failed: %r" % (label, e))
            groups.append(Slow(label, socks, data))
        # QUIC clients whose handshakes stall after their Initial: each holds
        # server state (a 64 KiB datagram buffer among it) until the
        # handshake timeout.
        stalls = {}
        for name in ("tuic", "hysteria2"):
            stalls[name] = quic_stalls(args.sluice, tmp, table[name][1], server.ports[name],
                                       min(args.slow, 4), name)
            checks.check(len(stalls[name]) >= 1, "%s: %d stalled QUIC handshakes started" %
                         (name, len(stalls[name])))
        st1 = server.stats()
        print("     server while slow: %d connections accepted, pool %d KiB in use (%d KiB "
              "before)" % (st1["connections_accepted"] - st0["connections_accepted"],
                           st1["pool_bytes_outstanding"] >> 10,
                           st0["pool_bytes_outstanding"] >> 10), flush=True)
        quic_result = {}

        def watch(name):
            quic_result[name] = quic_silence(stalls[name], DEADLINE_S, 4.0)

        watchers = [threading.Thread(target=watch, args=(n,)) for n in stalls]
        for w in watchers:
            w.start()
        during = {k: [] for k in legit}
        stop = threading.Event()
        pingers = [threading.Thread(target=pinger, args=(legit[k], during[k], stop))
                   for k in legit]
        for t in pingers:
            t.start()
        drip(groups, DEADLINE_S + 5)
        stop.set()
        for t in pingers:
            t.join()
        for w in watchers:
            w.join()
        for g in groups:
            times = sorted(g.closed_after.values())
            open_left = len(g.socks) - len(times)
            print("     slowloris %s: %d connections, closed after %s s (min/median/max), "
                  "%d still open" % (g.label, len(g.socks),
                                     "%.1f/%.1f/%.1f" % (times[0], statistics.median(times),
                                                         times[-1]) if times else "-",
                                     open_left), flush=True)
            checks.check(len(g.socks) == args.slow and open_left == 0 and
                         times[-1] <= DEADLINE_S + 3,
                         "slowloris %s: every connection closed by the deadline" % g.label)
        for name, (last, count) in quic_result.items():
            # The server stops sending early (three datagrams per Initial,
            # consistent with RFC 9000's anti-amplification limit), so its
            # silence alone proves nothing; the pool below does.
            print("     %s: %d stalled handshakes answered by %d server datagrams, the last "
                  "%.1f s in" % (name, len(stalls[name]), count, last), flush=True)
            checks.check(count > 0, "%s: the server answered the stalled Initials" % name)
            for s in stalls[name]:
                s.close()
        t_wait = time.monotonic()
        while (time.monotonic() - t_wait < 5 and
               server.stats()["pool_bytes_outstanding"] > st0["pool_bytes_outstanding"]):
            time.sleep(0.25)
        st2 = server.stats()
        checks.check(st2["pool_bytes_outstanding"] <= st0["pool_bytes_outstanding"],
                     "every slow connection's and stalled handshake's pool memory is released "
                     "after the deadlines (%d KiB in use, %d KiB before)" %
                     (st2["pool_bytes_outstanding"] >> 10, st0["pool_bytes_outstanding"] >> 10))
        for k in legit:
            errs = [x for x in during[k] if isinstance(x, tuple)]
            rtts = [x for x in during[k] if not isinstance(x, tuple)]
            print("     %s tunnel RTT: median %.2f ms before, %.2f ms during slowloris "
                  "(%d pings)" % (k, statistics.median(before[k]),
                                  statistics.median(rtts) if rtts else float("nan"), len(rtts)),
                  flush=True)
            checks.check(not errs and len(rtts) >= 20,
                         "%s tunnel keeps answering during slowloris %s" % (k, errs[:1]))
        checks.check(server.alive() and client.alive(), "both processes stay up (slowloris)")

        # ---- garbage
        time.sleep(1)
        base = {p.name: p.rss() for p in procs}
        results = []
        echoes = [threading.Thread(target=echo_hash, args=(port, target.port, 8 << 20, results))
                  for port in (server.ports["socks"], client.ports["in"])]
        for t in echoes:
            t.start()
        t0 = time.monotonic()
        for tag in ("mixed", "socks", "http", "trojan", "vless"):
            t1 = time.monotonic()
            by_server = garbage(server.ports[tag], args.garbage)
            print("     garbage at %s: %d connections in %.1f s, %d closed by the server "
                  "within 0.5 s" % (tag, args.garbage, time.monotonic() - t1, by_server),
                  flush=True)
        for tag in ("tuic", "hysteria2"):
            # QUIC inbounds: datagrams of random bytes, half of them with the
            # long-header bit set and Initial-sized, from 16 source ports.
            t1 = time.monotonic()
            us = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
            for i in range(args.garbage):
                d = os.urandom(1200 if i % 2 else 1 + i % 300)
                if i % 2:
                    d = bytes([0xc0 | d[0]]) + d[1:]
                try:
                    us[i % 16].sendto(d, ("127.0.0.1", server.ports[tag]))
                except OSError:
                    pass
                if i % 256 == 255:
                    time.sleep(0.01)  # the receive buffer is not the subject
            for u in us:
                u.close()
            print("     garbage at %s: %d datagrams in %.1f s" %
                  (tag, args.garbage, time.monotonic() - t1), flush=True)
        took = time.monotonic() - t0
        peak = {p.name: p.rss() for p in procs}
        for t in echoes:
            t.join()
        checks.check(results == [True, True],
                     "8 MiB echoes through both tunnels match their SHA-256 under garbage")
        checks.check(server.alive() and client.alive(), "both processes stay up (garbage)")
        st = server.stats()
        checks.check(st["connections_accepted"] >= 5 * args.garbage,
                     "the server accepted every garbage connection (%d accepted in %.1f s)" %
                     (st["connections_accepted"], took))
        for k, s in legit.items():
            try:
                harness.ping_rtt_ms(s)
                ok = True
            except Exception:  # noqa: BLE001
                ok = False
            checks.check(ok, "the %s tunnel opened before still answers" % k)
            s.close()
        after, waited = harness.settle_rss(procs, base, 1.10, 5 if args.no_memory else 30)
        for p in procs:
            print("     %s: RSS %.1f MiB before garbage, %.1f MiB at its end, %.1f MiB %.0f s "
                  "later" % (p.name, base[p.name] / 1024, peak[p.name] / 1024,
                             after[p.name] / 1024, waited), flush=True)
            if not args.no_memory:
                checks.check(after[p.name] <= base[p.name] * 1.10,
                             "%s memory back within 10 %% of the baseline" % p.name)
    finally:
        for p in procs:
            p.stop()
        target.stop()

checks.exit()

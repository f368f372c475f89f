#!/usr/bin/env python3
"""traffic.py: the processes the fault harness runs inside a namespace.

  traffic.py target PORT LOG        the target (server namespace, 127.0.0.1:PORT)
  traffic.py wait HOST PORT SECS    waits until HOST:PORT accepts a TCP connection
  traffic.py gen SOCKS_PORT TARGET_PORT MODE SIZE TIMEOUT
                                    one flow through the SOCKS5 inbound on
                                    127.0.0.1:SOCKS_PORT (or, given as
                                    raw:PORT, a plain TCP connection to a port
                                    forwarder on 127.0.0.1:PORT, no SOCKS5);
                                    prints one JSON line
  traffic.py dgram PORT COUNT SIZE WINDOW TIMEOUT
                                    COUNT UDP datagrams of SIZE bytes to an
                                    echo on 127.0.0.1:PORT, at most WINDOW
                                    unanswered at once (one counts as lost
                                    0.5 s after it left); checks every echo
                                    byte for byte; prints one JSON line
  traffic.py relay LISTEN_PORT HOST PORT DELAY_MS JITTER_MS
                                    a TCP relay that delivers every chunk
                                    DELAY_MS +- JITTER_MS after it arrived
  traffic.py udprelay LISTEN_PORT HOST PORT DELAY_MS JITTER_MS REORDER_PCT
                                    a UDP relay: each datagram leaves DELAY_MS
                                    +- JITTER_MS after it arrived (jitter
                                    reorders), and REORDER_PCT % of them are
                                    held 10 ms more (reordering at any delay)

The target speaks a one-line command, then data:
  UP n       reads n bytes, answers the 64-hex SHA-256 of them and a newline
  DOWN n     sends n bytes of pattern(n), then closes
  RST n      sends n/2 bytes of pattern(n), then resets (SO_LINGER 0)
  HALFDOWN n sends n bytes, shuts down its write side, then reads until EOF
             and logs how many bytes arrived after its FIN ("halfdown-rx N")
  IDLE n     logs "idle-ready", answers "ready" and a newline, then reads
             until EOF (an established flow that carries nothing)
Payloads are pattern(n): SHA-256 counter blocks, so both ends derive them.
"""
import asyncio
import hashlib
import json
import random
import socket
import struct
import sys
import time

CHUNK = 65536


def pattern(n):
    """The deterministic payload of n bytes (same on both ends)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(struct.pack("<Q", i)).digest() * 64  # 2 KiB per counter
        i += 1
    return bytes(out[:n])


# ---------------------------------------------------------------- target
def read_line(conn):
    buf = b""
    while not buf.endswith(b"\n"):
        b = conn.recv(1)
        if not b:
            raise EOFError("eof before command")
        buf += b
        if len(buf) > 100:
            raise ValueError("command too long")
    return buf.decode().split()


def serve_one(conn, log):
    try:
        cmd, n = read_line(conn)
        n = int(n)
        if cmd == "UP":
            h = hashlib.sha256()
            got = 0
            while got < n:
                b = conn.recv(min(CHUNK, n - got))
                if not b:
                    break
                h.update(b)
                got += len(b)
            conn.sendall(h.hexdigest().encode() + b"\n")
        elif cmd == "DOWN":
            conn.sendall(pattern(n))
        elif cmd == "RST":
            conn.sendall(pattern(n)[: n // 2])
            time.sleep(0.3)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif cmd == "IDLE":
            log.write("idle-ready\n")
            log.flush()
            conn.sendall(b"ready\n")
            while conn.recv(CHUNK):
                pass
        elif cmd == "HALFDOWN":
            conn.sendall(pattern(n))
            conn.shutdown(socket.SHUT_WR)
            got = 0
            conn.settimeout(30)
            while True:
                b = conn.recv(CHUNK)
                if not b:
                    break
                got += len(b)
            log.write("halfdown-rx %d\n" % got)
            log.flush()
    except Exception as e:  # a broken flow is the point of some tests
        log.write("target error: %r\n" % (e,))
        log.flush()
    finally:
        conn.close()


def target(port, logpath):
    import threading

    log = open(logpath, "a")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c, log), daemon=True).start()


def wait(host, port, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.05)
    print("nothing listens on %s:%d after %.0f s" % (host, port, secs), file=sys.stderr)
    return 1


# ---------------------------------------------------------------- generator
SOCKS_REPLIES = {1: "general failure", 2: "not allowed", 3: "network unreachable",
                 4: "host unreachable", 5: "connection refused", 6: "TTL expired",
                 7: "command not supported", 8: "address type not supported"}


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("proxy closed during handshake")
        buf += b
    return buf


def socks_connect(socks_port, target_port, timeout):
    if str(socks_port).startswith("raw:"):  # a port forwarder: the far end picks the target
        s = socket.create_connection(("127.0.0.1", int(socks_port[4:])), timeout=timeout)
        s.settimeout(timeout)
        return s
    s = socket.create_connection(("127.0.0.1", int(socks_port)), timeout=timeout)
    s.settimeout(timeout)
    s.sendall(b"\x05\x01\x00")
    if recv_exact(s, 2) != b"\x05\x00":
        raise RuntimeError("socks method refused")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", target_port))
    rep = recv_exact(s, 4)
    if rep[1] != 0:
        raise RuntimeError("socks reply %d (%s)" % (rep[1], SOCKS_REPLIES.get(rep[1], "?")))
    alen = {1: 4, 4: 16}.get(rep[3])
    if alen is None:
        alen = recv_exact(s, 1)[0]
    recv_exact(s, alen + 2)
    return s


def gen(socks_port, target_port, mode, size, timeout):
    """Runs one flow; the result says what happened, never raises."""
    t0 = time.monotonic()
    r = {"mode": mode, "size": size, "ok": False, "bytes": 0, "error": ""}
    deadline = t0 + timeout
    s = None
    try:
        s = socks_connect(socks_port, target_port, min(timeout, 30))
        r["setup_s"] = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        if mode == "up":
            s.sendall(b"UP %d\n" % size)
            data = pattern(size)
            for off in range(0, size, CHUNK):
                s.settimeout(max(0.1, deadline - time.monotonic()))
                s.sendall(data[off:off + CHUNK])
            r["bytes"] = size
            s.settimeout(max(0.1, deadline - time.monotonic()))
            line = b""
            while not line.endswith(b"\n"):
                b = s.recv(128)
                if not b:
                    break
                line += b
            want = hashlib.sha256(data).hexdigest()
            r["ok"] = line.strip().decode(errors="replace") == want
            if not r["ok"]:
                r["error"] = "hash mismatch (target saw %r)" % line[:70]
        elif mode in ("down", "rst", "halfdown"):
            cmd = {"down": b"DOWN", "rst": b"RST", "halfdown": b"HALFDOWN"}[mode]
            s.sendall(b"%s %d\n" % (cmd, size))
            h = hashlib.sha256()
            got = 0
            while True:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                b = s.recv(CHUNK)
                if not b:
                    r["end"] = "eof"
                    break
                h.update(b)
                got += len(b)
                r["bytes"] = got
            if mode == "halfdown":
                # The target shut its write side; our direction must still carry data.
                s.settimeout(max(0.1, deadline - time.monotonic()))
                s.sendall(b"after-fin" * 1000)
                s.shutdown(socket.SHUT_WR)
                try:
                    s.recv(1)
                except OSError:
                    pass
            r["ok"] = got == size and h.hexdigest() == hashlib.sha256(pattern(size)).hexdigest()
            if not r["ok"]:
                r["error"] = "got %d of %d bytes%s" % (got, size, "" if got != size else ", hash mismatch")
        elif mode == "idle":
            # An established flow that carries nothing: once the target has
            # answered (so no byte of the setup is still in flight), the
            # harness blackholes the path; the flow must end (keep-alive)
            # before our timeout.
            s.sendall(b"IDLE 0\n")
            line = b""
            while not line.endswith(b"\n"):
                s.settimeout(max(0.1, deadline - time.monotonic()))
                b = s.recv(16)
                if not b:
                    raise EOFError("eof before the target was ready")
                line += b
            r["ready_s"] = round(time.monotonic() - t0, 3)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            b = s.recv(1)
            r["end"] = "eof" if not b else "data"
        elif mode == "halfup":
            # We shut our write side after the command; the answer must still arrive.
            s.sendall(b"UP 9000\n" + b"x" * 9000)
            s.shutdown(socket.SHUT_WR)
            line = b""
            while not line.endswith(b"\n"):
                s.settimeout(max(0.1, deadline - time.monotonic()))
                b = s.recv(128)
                if not b:
                    break
                line += b
            r["ok"] = line.strip().decode(errors="replace") == hashlib.sha256(b"x" * 9000).hexdigest()
            if not r["ok"]:
                r["error"] = "no answer after our FIN (%r)" % line[:70]
        r["transfer_s"] = round(time.monotonic() - t1, 3)
    except socket.timeout:
        r["error"] = "timed out after %.1f s" % (time.monotonic() - t0)
        r["end"] = "timeout"
    except ConnectionResetError:
        r["error"] = "connection reset"
        r["end"] = "reset"
    except Exception as e:
        r["error"] = str(e) or type(e).__name__
        r["end"] = "error"
    finally:
        if s:
            s.close()
    r["total_s"] = round(time.monotonic() - t0, 3)
    print(json.dumps(r))
    return 0


# ---------------------------------------------------------------- datagrams
def dgram_payload(seq, size):
    """Datagram |seq|: its number, then bytes derived from it (so an echo
    can be checked on its own, whatever arrives in whatever order)."""
    head = struct.pack(">Q", seq)
    body = hashlib.sha256(head).digest() * (size // 32 + 1)
    return head + body[:size - 8]


def dgram(port, count, size, window, timeout):
    """Sends |count| datagrams through the echo, at most |window| in flight."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    lost_after = 0.5
    r = {"mode": "dgram", "size": count * size, "ok": False, "sent": 0, "echoed": 0,
         "corrupt": 0, "duplicate": 0, "late": 0, "error": ""}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    try:
        # The path comes up on the first datagram (the client dials then):
        # probe until one echo returns; the probes are not counted.
        s.settimeout(0.2)
        up = False
        while not up and time.monotonic() < deadline:
            s.send(dgram_payload(1 << 62, size))
            try:
                up = struct.unpack(">Q", s.recv(65536)[:8])[0] == 1 << 62
            except socket.timeout:
                pass
            except ConnectionRefusedError:
                time.sleep(0.1)
        if not up:
            raise RuntimeError("no echo within %.0f s" % timeout)
        r["setup_s"] = round(time.monotonic() - t0, 3)
        t1 = time.monotonic()
        inflight = {}  # seq -> time sent
        seen = set()
        nxt = last_echo = 0
        while (nxt < count or inflight) and time.monotonic() < deadline:
            now = time.monotonic()
            for q in [q for q, at in inflight.items() if now - at > lost_after]:
                del inflight[q]  # counted as lost; a late echo is still checked
            while nxt < count and len(inflight) < window:
                s.send(dgram_payload(nxt, size))
                inflight[nxt] = time.monotonic()
                nxt += 1
                r["sent"] = nxt
            s.settimeout(0.05)
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionRefusedError:
                continue
            q = struct.unpack(">Q", b[:8])[0] if len(b) >= 8 else -1
            if q == 1 << 62:
                continue  # a late probe echo
            if q < 0 or q >= count or b != dgram_payload(q, size):
                r["corrupt"] += 1
                continue
            if q in seen:
                r["duplicate"] += 1
                continue
            seen.add(q)
            if inflight.pop(q, None) is None:
                r["late"] += 1
            r["echoed"] += 1
            last_echo = time.monotonic()
        r["transfer_s"] = round(max(last_echo, t1) - t1, 3)
        r["bytes"] = r["echoed"] * size
        # Unreliable by design: what must hold is that every echo is intact
        # and arrives once, that some do, and that the sender finished.
        r["ok"] = r["echoed"] > 0 and r["corrupt"] == 0 and r["duplicate"] == 0 and nxt == count
        if not r["ok"]:
            r["error"] = "sent %d of %d, %d echoed, %d corrupt, %d duplicate" % (
                nxt, count, r["echoed"], r["corrupt"], r["duplicate"])
    except Exception as e:
        r["error"] = str(e) or type(e).__name__
        r["end"] = "error"
    finally:
        s.close()
    r["total_s"] = round(time.monotonic() - t0, 3)
    print(json.dumps(r))
    return 0


# ---------------------------------------------------------------- relay
async def relay_pipe(reader, writer, delay, jitter):
    q = asyncio.Queue(maxsize=64)  # bounded: the relay pushes back instead of buffering all

    async def rx():
        last = 0.0
        while True:
            b = await reader.read(CHUNK)
            at = time.monotonic() + max(0.0, random.gauss(delay, jitter / 2))
            at = min(max(at, last), time.monotonic() + delay + jitter)  # TCP keeps order
            last = at
            await q.put((at, b))
            if not b:
                return

    async def tx():
        while True:
            at, b = await q.get()
            d = at - time.monotonic()
            if d > 0:
                await asyncio.sleep(d)
            if not b:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(b)
            await writer.drain()

    try:
        await asyncio.gather(rx(), tx())
    except (ConnectionError, OSError):
        writer.transport.abort()


async def relay_main(lport, host, port, delay, jitter):
    async def handle(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(host, port)
        except OSError:
            w1.transport.abort()
            return
        await asyncio.gather(relay_pipe(r1, w2, delay, jitter), relay_pipe(r2, w1, delay, jitter),
                             return_exceptions=True)
        w1.close()
        w2.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", lport)
    async with srv:
        await srv.serve_forever()


class UdpRelay(asyncio.DatagramProtocol):
    """Client-facing side; one upstream socket per client address."""

    def __init__(self, upstream, delay, jitter, reorder):
        self.upstream, self.delay, self.jitter, self.reorder = upstream, delay, jitter, reorder
        self.peers = {}
        self.loop = asyncio.get_event_loop()

    def later(self):
        d = max(0.0, random.uniform(self.delay - self.jitter, self.delay + self.jitter))
        if random.random() * 100 < self.reorder:
            d += 0.010
        return d

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        peer = self.peers.get(addr)
        if peer is None:
            relay = self

            class Back(asyncio.DatagramProtocol):
                def datagram_received(self, data, _):
                    relay.loop.call_later(relay.later(), relay.transport.sendto, data, addr)

            peer = self.loop.create_datagram_endpoint(Back, remote_addr=self.upstream)
            self.peers[addr] = peer = asyncio.ensure_future(peer)
        self.loop.call_later(self.later(), self.forward, peer, data)

    @staticmethod
    def forward(peer, data):
        if peer.done() and not peer.exception():
            peer.result()[0].sendto(data)
        elif not peer.done():
            peer.add_done_callback(lambda f: f.exception() or f.result()[0].sendto(data))


async def udprelay_main(lport, host, port, delay, jitter, reorder):
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: UdpRelay((host, port), delay, jitter, reorder),
                                        local_addr=("127.0.0.1", lport))
    await asyncio.Event().wait()


def main(argv):
    cmd = argv[1]
    if cmd == "target":
        return target(int(argv[2]), argv[3])
    if cmd == "wait":
        return wait(argv[2], int(argv[3]), float(argv[4]))
    if cmd == "gen":
        return gen(argv[2], int(argv[3]), argv[4], int(argv[5]), float(argv[6]))
    if cmd == "dgram":
        return dgram(int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), float(argv[6]))
    if cmd == "relay":
        asyncio.run(relay_main(int(argv[2]), argv[3], int(argv[4]), float(argv[5]) / 1000,
                               float(argv[6]) / 1000))
        return 0
    if cmd == "udprelay":
        asyncio.run(udprelay_main(int(argv[2]), argv[3], int(argv[4]), float(argv[5]) / 1000,
                                  float(argv[6]) / 1000, float(argv[7])))
        return 0
    print("traffic.py: unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""perf/soak.py SLUICE [--minutes N] [--interval S] [--cooldown S] [--out DIR]

A long mixed load over every protocol sluice carries, through `sluice run`
processes on 127.0.0.1 (not a test: it runs for --minutes, default 30).

Processes: one server (`sluice run` with socks, http, trojan+TLS, vless+TLS,
vless+Vision, tuic and hysteria2 inbounds, a direct outbound), one client per
protocol (a mixed inbound whose final outbound speaks that protocol to the
server), and an OpenSSH server for the ssh outbound when sshd is installed.
The load goes through each client's mixed inbound (SOCKS5) to echo targets in
this script, per protocol, all the time:
  bulk      a 2 MiB echo on a new connection, hash compared, then 1 s pause
  pingpong  one connection, 64 bytes echoed each second (RTT recorded)
  churn     a new connection every 0.25 s: 1 KiB echoed, then closed
  udp       a SOCKS5 UDP association (new one each minute), one datagram
            echoed each 0.5 s (not for the socks, http and ssh outbounds,
            which carry TCP only)

Every --interval seconds (default 10) each sluice process is sampled: RSS,
open descriptors, CPU share over the interval and, from the `sluice: stats`
line SIGUSR1 makes it print, the buffer pool's outstanding and slab bytes,
live streams and objects. After the load the sampling goes on for --cooldown
seconds (default 30), when the pool trim should give memory back.

Writes in --out (default .): soak.csv (one row per process per sample),
soak_load.csv (per protocol per interval: operations, errors, RTT),
soak_summary.md (first vs last five minutes, and after the load) and
soak.png (needs gnuplot: `apt-get install gnuplot-nox`; without it the CSV
files are still written; `--replot` redraws it from an earlier soak.csv). Exit status 1 if a transfer's hash did not match,
a process died, or the load saw errors."""
import argparse
import asyncio
import hashlib
import json
import os
import pwd
import queue
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

TCK = os.sysconf("SC_CLK_TCK")
BULK = 2 << 20
UUID = "6c1f1e0a-3a52-4c1e-9f7b-2b8a5d0e4c11"
PW = "soak password"
STARTED = []  # every process started, stopped on the way out whatever happens


# ---------------------------------------------------------------- processes
class Sluice:
    """A `sluice run` process; its stderr goes to NAME.log, except the stats
    lines, which are queued for the sampler."""

    def __init__(self, sluice, name, config, workdir):
        self.name = name
        path = os.path.join(workdir, name + ".json")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        self.proc = subprocess.Popen([sluice, "run", "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        STARTED.append(self.proc)
        self.pid = self.proc.pid
        self.ports = {}
        self.stats = queue.Queue()
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.inbounds = len(config["inbounds"])
        self.ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()
        if not self.ready.wait(15):
            raise RuntimeError("%s: no listening ports logged in 15 s (see %s.log)" % (name, name))

    def _pump(self):
        for line in self.proc.stderr:
            if line.startswith("sluice: stats "):
                self.stats.put(dict(kv.split("=") for kv in line.split()[2:]))
                continue
            self.log.write(line)
            m = re.search(r"inbound (\S+) listening on port (\d+)", line)
            if m:
                self.ports[m.group(1)] = int(m.group(2))
                if len(self.ports) == self.inbounds:
                    self.ready.set()
        self.log.flush()
        self.ready.set()

    def alive(self):
        return self.proc.poll() is None

    def sample(self):
        """RSS KiB, descriptors, CPU ticks and the stats line (or None)."""
        while not self.stats.empty():
            self.stats.get_nowait()
        os.kill(self.pid, signal.SIGUSR1)
        with open("/proc/%d/status" % self.pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        fds = len(os.listdir("/proc/%d/fd" % self.pid))
        with open("/proc/%d/stat" % self.pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        ticks = int(st[11]) + int(st[12])
        try:
            stats = self.stats.get(timeout=3)
        except queue.Empty:
            stats = None
        return rss, fds, ticks, stats

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.flush()


def configs(sluice, workdir, sshd):
    kp = os.path.join(workdir, "tls")
    out = subprocess.run([sluice, "generate", "tls-keypair", "soak.test", "-o", kp],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    pin = re.search(r"^certificate_sha256: (\S+)", out, re.M).group(1)
    stls = {"enabled": True, "certificate_path": kp + "/cert.pem", "key_path": kp + "/key.pem"}
    ctls = {"enabled": True, "server_name": "soak.test", "certificate_sha256": [pin]}
    listen = {"listen": "127.0.0.1", "listen_port": 0}
    server = {"log": {"level": "info"}, "outbounds": [{"type": "direct", "tag": "direct"}],
              "inbounds": [
                  dict(listen, type="socks", tag="socks"),
                  dict(listen, type="http", tag="http"),
                  dict(listen, type="trojan", tag="trojan", users=[{"password": PW}], tls=stls),
                  dict(listen, type="vless", tag="vless", users=[{"uuid": UUID}], tls=stls),
                  dict(listen, type="vless", tag="vision",
                       users=[{"uuid": UUID, "flow": "xtls-rprx-vision"}], tls=stls),
                  dict(listen, type="tuic", tag="tuic", users=[{"uuid": UUID, "password": PW}],
                       tls=dict(stls, alpn=["h3"])),
                  dict(listen, type="hysteria2", tag="hysteria2", users=[{"password": PW}],
                       tls=dict(stls, alpn=["h3"])),
              ]}
    # name -> (server inbound tag or None for sshd, outbound without server/port, udp?)
    clients = {
        # The socks outbound carries TCP only (UDP ASSOCIATE through it is
        # refused with "operation or feature not supported").
        "socks": ("socks", {"type": "socks"}, False),
        "http": ("http", {"type": "http"}, False),
        "trojan": ("trojan", {"type": "trojan", "password": PW, "tls": ctls}, True),
        "vless": ("vless", {"type": "vless", "uuid": UUID, "tls": ctls}, True),
        "vision": ("vision", {"type": "vless", "uuid": UUID, "flow": "xtls-rprx-vision",
                              "tls": ctls}, True),
        "tuic": ("tuic", {"type": "tuic", "uuid": UUID, "password": PW,
                          "tls": dict(ctls, alpn=["h3"])}, True),
        "hysteria2": ("hysteria2", {"type": "hysteria2", "password": PW, "tls": ctls}, True),
    }
    if sshd:
        clients["ssh"] = (None, sshd, False)
    return server, clients


def start_sshd(workdir):
    """An OpenSSH server on 127.0.0.1 for the ssh outbound, or None."""
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if not sshd or not shutil.which("ssh-keygen"):
        print("soak: no sshd/ssh-keygen: the ssh row is left out", file=sys.stderr)
        return None
    d = os.path.join(workdir, "ssh")
    os.makedirs(d)
    for k in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "%s/%s" % (d, k)],
                       check=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with open(d + "/sshd_config", "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host\nPidFile %s/sshd.pid\n"
                "AuthorizedKeysFile %s/user.pub\nUsePAM no\nStrictModes no\nPermitRootLogin yes\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "AllowTcpForwarding yes\nMaxStartups 100\nLogLevel ERROR\n" % (port, d, d, d))
    os.makedirs("/run/sshd", exist_ok=True)
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", d + "/sshd_config"],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "sshd.log"), "w"))
    STARTED.append(proc)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    host_key = " ".join(open(d + "/host.pub").read().split()[:2])
    outbound = {"type": "ssh", "server": "127.0.0.1", "server_port": port,
                "user": pwd.getpwuid(os.geteuid()).pw_name, "private_key_path": d + "/user",
                "host_key": [host_key]}
    return proc, outbound


# ---------------------------------------------------------------- load
class Counters:
    def __init__(self):
        self.ok = {"bulk": 0, "pingpong": 0, "churn": 0, "udp": 0}
        self.err = {"bulk": 0, "pingpong": 0, "churn": 0, "udp": 0}
        self.mismatch = 0
        self.rtt = []
        self.last_error = ""

    def fail(self, kind, e):
        self.err[kind] += 1
        self.last_error = "%s: %r" % (kind, e)


async def socks_connect(port, target):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"\x05\x01\x00\x05\x01\x00\x01" + socket.inet_aton(target[0]) +
            target[1].to_bytes(2, "big"))
    head = await r.readexactly(12)
    if head[:2] != b"\x05\x00" or head[3] != 0:
        w.close()
        raise ConnectionError("SOCKS5 refused: %s" % head.hex())
    return r, w


async def bulk(port, target, c, stop, payload, digest):
    while not stop.is_set():
        w = None
        try:
            r, w = await asyncio.wait_for(socks_connect(port, target), 15)

            async def send():
                for i in range(0, len(payload), 65536):
                    w.write(payload[i:i + 65536])
                    await w.drain()

            async def recv():
                h = hashlib.sha256()
                left = len(payload)
                while left:
                    d = await r.read(min(left, 65536))
                    if not d:
                        raise EOFError("EOF after %d of %d bytes" % (len(payload) - left,
                                                                     len(payload)))
                    h.update(d)
                    left -= len(d)
                return h.digest()

            got = (await asyncio.wait_for(asyncio.gather(send(), recv()), 60))[1]
            if got == digest:
                c.ok["bulk"] += 1
            else:
                c.mismatch += 1
                c.fail("bulk", "hash mismatch")
        except Exception as e:  # noqa: BLE001 - every failure is counted
            c.fail("bulk", e)
        finally:
            if w:
                w.close()
        await asyncio.sleep(1)


async def pingpong(port, target, c, stop):
    w = None
    while not stop.is_set():
        try:
            if w is None:
                r, w = await asyncio.wait_for(socks_connect(port, target), 15)
            msg = os.urandom(64)
            t0 = time.monotonic()
            w.write(msg)
            got = await asyncio.wait_for(r.readexactly(64), 10)
            if got != msg:
                raise ValueError("echo differs")
            c.rtt.append((time.monotonic() - t0) * 1000)
            c.ok["pingpong"] += 1
        except Exception as e:  # noqa: BLE001
            c.fail("pingpong", e)
            if w:
                w.close()
            w = None
        await asyncio.sleep(1)
    if w:
        w.close()


async def churn(port, target, c, stop):
    msg = bytes(range(256)) * 4
    while not stop.is_set():
        w = None
        try:
            r, w = await asyncio.wait_for(socks_connect(port, target), 15)
            w.write(msg)
            if await asyncio.wait_for(r.readexactly(len(msg)), 10) != msg:
                raise ValueError("echo differs")
            c.ok["churn"] += 1
        except Exception as e:  # noqa: BLE001
            c.fail("churn", e)
        finally:
            if w:
                w.close()
        await asyncio.sleep(0.25)


async def udp(port, utarget, c, stop):
    loop = asyncio.get_running_loop()
    hdr = b"\x00\x00\x00\x01" + socket.inet_aton(utarget[0]) + utarget[1].to_bytes(2, "big")
    seq = 0
    while not stop.is_set():
        w = None
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.bind(("127.0.0.1", 0))
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
            rep = await asyncio.wait_for(r.readexactly(12), 15)
            if rep[3] != 0:
                raise ConnectionError("UDP ASSOCIATE refused: %s" % rep.hex())
            relay = (socket.inet_ntoa(rep[6:10]), int.from_bytes(rep[10:12], "big"))
            end = time.monotonic() + 60
            while time.monotonic() < end and not stop.is_set():
                seq += 1
                body = struct.pack("<Q", seq) + b"u" * 192
                await loop.sock_sendto(s, hdr + body, relay)
                try:
                    while True:
                        d, _ = await asyncio.wait_for(loop.sock_recvfrom(s, 2048), 3)
                        if d[10:] == body:
                            c.ok["udp"] += 1
                            break
                except asyncio.TimeoutError:
                    c.fail("udp", "datagram %d not echoed in 3 s" % seq)
                await asyncio.sleep(0.5)
        except Exception as e:  # noqa: BLE001
            c.fail("udp", e)
            await asyncio.sleep(1)
        finally:
            s.close()
            if w:
                w.close()


async def echo_tcp(r, w):
    try:
        while True:
            d = await r.read(65536)
            if not d:
                break
            w.write(d)
            await w.drain()
    except Exception:  # noqa: BLE001 - a client's reset ends its echo
        pass
    finally:
        w.close()


class EchoUdp(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.t = transport

    def datagram_received(self, data, addr):
        self.t.sendto(data, addr)


# ---------------------------------------------------------------- output
COLOURS = ["#000000", "#e69f00", "#56b4e9", "#009e73", "#d4c400", "#0072b2", "#d55e00",
           "#cc79a7", "#7f7f7f", "#8b0000", "#4b0082", "#2e8b57"]


def read_csv(out):
    """The samples of an earlier run's soak.csv in |out| (for --replot)."""
    rows = []
    with open(os.path.join(out, "soak.csv")) as f:
        head = f.readline().strip().split(",")
        for line in f:
            r = dict(zip(head, line.strip().split(",")))
            for k in r:
                if k != "process":
                    r[k] = float(r[k])
            rows.append(r)
    names = list(dict.fromkeys(r["process"] for r in rows))
    return rows, names


def plot(out, rows, names):
    gp = shutil.which("gnuplot")
    if not gp:
        print("soak: gnuplot not found: no soak.png (apt-get install gnuplot-nox); "
              "the CSV files are written", file=sys.stderr)
        return
    d = tempfile.mkdtemp()
    for n in names:
        with open(os.path.join(d, n + ".dat"), "w") as f:
            for r in rows:
                if r["process"] == n:
                    f.write("%.2f %.2f %d %.1f %.1f\n" % (r["t_s"] / 60, r["rss_kib"] / 1024,
                                                          r["fds"], r["cpu_pct"],
                                                          r["pool_bytes_outstanding"] / 1024))
    panels = [(2, "RSS (MiB)"), (3, "open descriptors"), (5, "pool outstanding (KiB)"),
              (4, "CPU (% of one core)")]
    script = ["set terminal pngcairo size 1400,1000 font 'sans,10'",
              "set output '%s'" % os.path.join(out, "soak.png"),
              "set multiplot layout 2,2 title 'sluice soak: one sample per process every "
              "interval (x: minutes)'",
              "set key outside right top", "set grid", "set xlabel 'minutes'"]
    for col, title in panels:
        script.append("set title '%s'" % title)
        script.append("set yrange [0:*]")
        script.append("plot " + ", ".join(
            "'%s/%s.dat' using 1:%d with lines lw 1.5 lc rgb '%s' title '%s'" %
            (d, n, col, COLOURS[i % len(COLOURS)], n) for i, n in enumerate(names)))
    script.append("unset multiplot")
    subprocess.run([gp], input="\n".join(script), text=True, check=True)
    shutil.rmtree(d)


def summary(rows, names, load_end, minutes, totals):
    def mean(n, key, lo, hi):
        v = [r[key] for r in rows if r["process"] == n and lo <= r["t_s"] < hi]
        return statistics.mean(v) if v else float("nan")

    win = min(300, load_end / 3)
    out = ["| process | RSS MiB first %g min | last %g min | after load | fds first | last | "
           "after | pool KiB first | last | after | CPU %% first | last |" %
           (round(win / 60, 1), round(win / 60, 1)),
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in names:
        a = (10, win + 10)
        b = (load_end - win, load_end + 0.1)
        c = (load_end + 0.1, 1e12)
        out.append("| %s | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | "
                   "%.1f | %.1f |" % (
                       n, mean(n, "rss_kib", *a) / 1024, mean(n, "rss_kib", *b) / 1024,
                       mean(n, "rss_kib", *c) / 1024, mean(n, "fds", *a), mean(n, "fds", *b),
                       mean(n, "fds", *c), mean(n, "pool_bytes_outstanding", *a) / 1024,
                       mean(n, "pool_bytes_outstanding", *b) / 1024,
                       mean(n, "pool_bytes_outstanding", *c) / 1024, mean(n, "cpu_pct", *a),
                       mean(n, "cpu_pct", *b)))
    out += ["", "| protocol | bulk 2 MiB ok | churn ok | pingpong ok | udp ok | errors | "
            "hash mismatches | RTT p50 ms | RTT p99 ms |", "|---|---|---|---|---|---|---|---|---|"]
    for n, c in totals.items():
        rtt = sorted(c.all_rtt)
        p = (lambda q: rtt[min(len(rtt) - 1, int(q * len(rtt)))]) if rtt else (lambda q: 0)
        out.append("| %s | %d | %d | %d | %s | %d | %d | %.2f | %.2f |" % (
            n, c.ok["bulk"], c.ok["churn"], c.ok["pingpong"],
            c.ok["udp"] if c.udp else "-", sum(c.err.values()), c.mismatch, p(0.5), p(0.99)))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main
async def run(args):
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="soak-")
    tcp = await asyncio.start_server(echo_tcp, "127.0.0.1", 0, backlog=1024)
    target = ("127.0.0.1", tcp.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    ut, _ = await loop.create_datagram_endpoint(EchoUdp, local_addr=("127.0.0.1", 0))
    utarget = ("127.0.0.1", ut.get_extra_info("sockname")[1])

    ssh = start_sshd(workdir)
    server_cfg, clients = configs(args.sluice, workdir, ssh[1] if ssh else None)
    procs = {"server": Sluice(args.sluice, "server", server_cfg, workdir)}
    for name, (tag, ob, _) in clients.items():
        ob = dict(ob, tag="up")
        if tag:
            ob.update(server="127.0.0.1", server_port=procs["server"].ports[tag])
        procs[name] = Sluice(args.sluice, name, {
            "log": {"level": "info"},
            "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 0}],
            "outbounds": [ob]}, workdir)
    names = list(procs)
    print("soak: %d sluice processes, protocols %s; logs and configs in %s" %
          (len(procs), ", ".join(clients), workdir), flush=True)

    payload = os.urandom(BULK)
    digest = hashlib.sha256(payload).digest()
    stop = asyncio.Event()
    totals = {}
    tasks = []
    for name, (_, _, has_udp) in clients.items():
        c = Counters()
        c.udp = has_udp
        c.all_rtt = []
        totals[name] = c
        port = procs[name].ports["in"]
        tasks += [asyncio.create_task(bulk(port, target, c, stop, payload, digest)),
                  asyncio.create_task(pingpong(port, target, c, stop)),
                  asyncio.create_task(churn(port, target, c, stop))]
        if has_udp:
            tasks.append(asyncio.create_task(udp(port, utarget, c, stop)))

    rows = []
    csvf = open(os.path.join(out, "soak.csv"), "w")
    csvf.write("t_s,process,rss_kib,fds,cpu_pct,pool_bytes_outstanding,pool_slab_bytes,"
               "streams_active,objects,load\n")
    loadf = open(os.path.join(out, "soak_load.csv"), "w")
    loadf.write("t_s,protocol,bulk_ok,churn_ok,pingpong_ok,udp_ok,errors,hash_mismatches,"
                "rtt_p50_ms,last_error\n")
    t0 = time.monotonic()
    load_end = args.minutes * 60
    last_ticks = {}
    last_t = {}
    died = []
    prev = {n: (dict(c.ok), sum(c.err.values())) for n, c in totals.items()}
    k = 0
    while True:
        now = time.monotonic() - t0
        loading = now < load_end
        if not loading and not stop.is_set():
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        for n, p in procs.items():
            if not p.alive():
                if n not in died:
                    died.append(n)
                    print("soak: %s exited with %s (see its log)" % (n, p.proc.returncode),
                          flush=True)
                continue
            rss, fds, ticks, st = await loop.run_in_executor(None, p.sample)
            t = time.monotonic() - t0
            cpu = 0.0
            if n in last_ticks:
                cpu = 100.0 * (ticks - last_ticks[n]) / TCK / max(1e-3, t - last_t[n])
            last_ticks[n], last_t[n] = ticks, t
            st = st or {}
            row = {"t_s": round(now, 1), "process": n, "rss_kib": rss, "fds": fds,
                   "cpu_pct": round(cpu, 1),
                   "pool_bytes_outstanding": int(st.get("pool_bytes_outstanding", 0)),
                   "pool_slab_bytes": int(st.get("pool_slab_bytes", 0)),
                   "streams_active": int(st.get("streams_active", 0)),
                   "objects": int(st.get("objects", 0)), "load": int(loading)}
            if k > 0:  # the first sample only starts the CPU clocks
                rows.append(row)
                csvf.write(",".join(str(row[c]) for c in (
                    "t_s", "process", "rss_kib", "fds", "cpu_pct", "pool_bytes_outstanding",
                    "pool_slab_bytes", "streams_active", "objects", "load")) + "\n")
        csvf.flush()
        for n, c in totals.items():
            ok0, err0 = prev[n]
            rtt = sorted(c.rtt)
            c.all_rtt += rtt
            c.rtt = []
            loadf.write("%.1f,%s,%d,%d,%d,%d,%d,%d,%.2f,%s\n" % (
                now, n, c.ok["bulk"] - ok0["bulk"], c.ok["churn"] - ok0["churn"],
                c.ok["pingpong"] - ok0["pingpong"], c.ok["udp"] - ok0["udp"],
                sum(c.err.values()) - err0, c.mismatch, rtt[len(rtt) // 2] if rtt else 0,
                json.dumps(c.last_error) if sum(c.err.values()) > err0 else ""))
            prev[n] = (dict(c.ok), sum(c.err.values()))
        loadf.flush()
        if k % 6 == 0:
            srv = [r for r in rows[-len(procs):] if r["process"] == "server"]
            print("soak: %5.0f s %s; server RSS %s KiB; errors %d" % (
                now, "loading" if loading else "cooling down",
                srv[0]["rss_kib"] if srv else "-",
                sum(sum(c.err.values()) for c in totals.values())), flush=True)
        k += 1
        if now >= load_end + args.cooldown:
            break
        await asyncio.sleep(max(0.0, t0 + k * args.interval - time.monotonic()))

    for p in procs.values():
        p.stop()
    if ssh:
        ssh[0].terminate()
        ssh[0].wait()
    tcp.close()
    ut.close()
    csvf.close()
    loadf.close()
    text = summary(rows, names, load_end, args.minutes, totals)
    with open(os.path.join(out, "soak_summary.md"), "w") as f:
        f.write(text)
    print(text)
    plot(out, rows, names)
    errors = sum(sum(c.err.values()) for c in totals.values())
    mism = sum(c.mismatch for c in totals.values())
    for n, c in totals.items():
        if c.last_error:
            print("soak: %s last error: %s" % (n, c.last_error))
    print("soak: %d errors, %d hash mismatches, processes died: %s" %
          (errors, mism, ", ".join(died) or "none"))
    return 1 if (errors or mism or died) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sluice")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--cooldown", type=float, default=30)
    ap.add_argument("--out", default=".")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw soak.png from the soak.csv in --out")
    args = ap.parse_args()
    if args.replot:
        plot(os.path.abspath(args.out), *read_csv(os.path.abspath(args.out)))
        return
    try:
        rc = asyncio.run(run(args))
    finally:
        for p in STARTED:
            if p.poll() is None:
                p.kill()
                p.wait()
    sys.exit(rc)


if __name__ == "__main__":
    main()

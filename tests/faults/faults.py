#!/usr/bin/env python3
"""faults.py: sluice under networks that misbehave, in network namespaces.

usage: faults.py --sluice PATH [--quic-peer PATH] [--only REGEX] [--quick] [--json FILE]
                 [--table FILE]

For each protocol, a pair of network namespaces joined by a veth pair:
  client namespace (10.200.0.1): `sluice run` with a SOCKS5 inbound and the
    protocol's outbound, and the traffic generator (traffic.py gen);
  server namespace (10.200.0.2): `sluice run` with the protocol's inbound and
    a direct outbound, and the target (traffic.py target) on its 127.0.0.1,
    so only the tunnel crosses the faulty link.
Conditions come from the kernel (nftables random drop per direction, tc htb
bottleneck, link MTU) or from a userspace relay in the client namespace
(delay and jitter). A condition that this machine cannot provide is reported
SKIPPED with the reason, never as passed. Everything (processes, namespaces)
is removed on exit, also on failure, timeout (SIGTERM) or Ctrl-C.

Exit: 0 all ran cases passed, 1 a case failed, 77 namespaces cannot be
created here (not root / no CAP_NET_ADMIN): meson counts that as skipped.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRAFFIC = os.path.join(HERE, "traffic.py")
PY = sys.executable or "python3"
CLIENT_IP, SERVER_IP = "10.200.0.1", "10.200.0.2"
SERVER_PORT, RELAY_PORT, SOCKS_PORT, TARGET_PORT = 4433, 4434, 1080, 5001
KiB, MiB = 1024, 1024 * 1024


def sh(*args, check=True, ns=None, timeout=30):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()))
    return p


# ---------------------------------------------------------------- capabilities
class Caps:
    def __init__(self):
        self.netns = self.nft = self.htb = False
        self.why = {}

    def probe(self):
        name = "slfprobe%d" % os.getpid()
        if not shutil.which("ip"):
            self.why["netns"] = "no ip(8) (apt-get install iproute2)"
            return self
        try:
            sh("ip", "netns", "add", name)
        except Exception as e:  # not root / no CAP_NET_ADMIN (and CAP_SYS_ADMIN for the mount)
            self.why["netns"] = str(e)
            return self
        try:
            self.netns = True
            sh("ip", "link", "add", "pa0", "type", "veth", "peer", "name", "pb0", ns=name)
            if not shutil.which("nft"):
                self.why["nft"] = "nft(8) is not installed (apt-get install nftables)"
            else:
                p = sh("nft", "add table inet p; add chain inet p o { type filter hook output priority 0; };"
                       " add rule inet p o oifname pa0 numgen random mod 100 < 5 drop",
                       ns=name, check=False)
                self.nft = p.returncode == 0
                if not self.nft:
                    self.why["nft"] = "nftables numgen drop refused: " + p.stderr.strip()
            p = sh("tc", "qdisc", "add", "dev", "pa0", "root", "handle", "1:", "htb", "default", "10",
                   ns=name, check=False)
            if p.returncode == 0:
                p = sh("tc", "class", "add", "dev", "pa0", "parent", "1:", "classid", "1:10", "htb",
                       "rate", "1mbit", ns=name, check=False)
            self.htb = p.returncode == 0
            if not self.htb:
                self.why["htb"] = "tc htb refused: " + p.stderr.strip()
            p = sh("tc", "qdisc", "add", "dev", "pb0", "root", "netem", "delay", "1ms", ns=name,
                   check=False)
            self.netem = p.returncode == 0
        finally:
            sh("ip", "netns", "del", name, check=False)
        return self


# ---------------------------------------------------------------- topology
class Topology:
    """Two namespaces and a veth pair, unique per process and protocol."""

    seq = __import__("itertools").count(1)

    def __init__(self, tag):
        uid = "%d%d" % (os.getpid() % 100000, next(Topology.seq))
        self.cns, self.sns = "slfc%s" % uid, "slfs%s" % uid
        self.cif, self.sif = "fc%s" % uid[-10:], "fs%s" % uid[-10:]
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="sluice_faults_%s_" % tag)
        self.up = False

    def create(self):
        self.up = True
        for ns in (self.cns, self.sns):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", self.cif, "netns", self.cns, "type", "veth", "peer", "name",
           self.sif, "netns", self.sns)
        sh("ip", "addr", "add", CLIENT_IP + "/24", "dev", self.cif, ns=self.cns)
        sh("ip", "addr", "add", SERVER_IP + "/24", "dev", self.sif, ns=self.sns)
        sh("ip", "link", "set", self.cif, "up", ns=self.cns)
        # Keep-alive is per namespace: the client's outbound probes after 1 s
        # idle (tcp_keep_alive in its config), then every 1 s, 3 times, so a
        # blackholed established flow dies in ~4 s instead of ~16 minutes.
        sh("sysctl", "-qw", "net.ipv4.tcp_keepalive_intvl=1", "net.ipv4.tcp_keepalive_probes=3",
           ns=self.cns)
        sh("ip", "link", "set", self.sif, "up", ns=self.sns)
        # No segmentation offload: veth would otherwise hand 64 KiB TSO/GSO
        # super-packets to the drop rules and the bottleneck, and one drop
        # would cost ~45 segments at once.
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            sh("ip", "link", "set", dev, "gso_max_size", 1500, "gso_max_segs", 1, ns=ns)

    def spawn(self, ns, args, log):
        f = open(os.path.join(self.dir, log), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(a) for a in args],
                             stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(5)

    def kill_server(self, server):
        """SIGKILL to the server and everything it forked (sshd forks a
        process per connection), sparing the target."""
        keep = {p.pid for p in self.procs if p is not server and "target" in p.args}
        for pid in sh("ip", "netns", "pids", self.sns, check=False).stdout.split():
            if int(pid) not in keep:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        server.wait(5)

    def wait_port(self, ns, host, port, secs=10):
        return sh(PY, TRAFFIC, "wait", host, port, secs, ns=ns, check=False,
                  timeout=secs + 5).returncode == 0

    # conditions ---------------------------------------------------------
    def clear(self):
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            sh("nft", "flush", "ruleset", ns=ns, check=False)
            sh("tc", "qdisc", "del", "dev", dev, "root", ns=ns, check=False)
            sh("ip", "link", "set", dev, "mtu", "1500", ns=ns, check=False)

    def drop_payload(self):
        """Drops every TCP segment that carries payload, both ways: TCP
        connects, then the protocol's handshake goes nowhere. (A segment
        without payload is 52 bytes: 20 IP + 20 TCP + 12 timestamps.)"""
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            sh("nft", "add table inet faults; add chain inet faults out "
               "{ type filter hook output priority 0; }; add rule inet faults out oifname %s "
               "tcp flags & syn == 0 ip length > 52 drop" % dev, ns=ns)

    def drop(self, percent):
        """Drops percent % of the packets arriving on each side (so each
        direction). On input, not output: the sender's veth segments GSO
        batches (gso_max_segs 1), so this hook sees every QUIC datagram and
        TCP segment on its own."""
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            rule = ("drop" if percent >= 100 else
                    "counter numgen random mod 100 < %d counter drop" % percent)
            sh("nft", "add table inet faults; add chain inet faults in "
               "{ type filter hook input priority 0; }; add rule inet faults in iifname %s %s"
               % (dev, rule), ns=ns)
            if percent >= 100:  # a blackhole drops what leaves, too
                sh("nft", "add chain inet faults out { type filter hook output priority 0; };"
                   " add rule inet faults out oifname %s drop" % dev, ns=ns)

    def drop_stats(self):
        """(packets seen, packets dropped) by the random drop rules, both sides."""
        seen = dropped = 0
        for ns in (self.cns, self.sns):
            out = sh("nft", "list", "chain", "inet", "faults", "in", ns=ns, check=False).stdout
            c = [int(x) for x in re.findall(r"counter packets (\d+)", out)]
            if len(c) >= 2:
                seen, dropped = seen + c[0], dropped + c[1]
        return seen, dropped

    def bottleneck(self, rate):
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            sh("tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10",
               ns=ns)
            sh("tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate",
               rate, "burst", "15k", ns=ns)

    def mtu(self, n):
        for ns, dev in ((self.cns, self.cif), (self.sns, self.sif)):
            sh("ip", "link", "set", dev, "mtu", n, ns=ns)

    def destroy(self):
        for p in self.procs:
            self.stop(p, signal.SIGKILL)
        self.procs = []
        if self.up:
            for ns in (self.cns, self.sns):
                # Anything left inside (a stray child) dies with its namespace's pids.
                pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                sh("ip", "netns", "del", ns, check=False)
            self.up = False


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------- protocols
class Protocol:
    """A protocol row: server and client configs (JSON text) for `sluice run`."""

    def __init__(self, name, server, client, external=None, dark_bound=35, quic=None,
                 raw=False, datagrams=False):
        self.name, self.server, self.client, self.external = name, server, client, external
        # quic: (peer program, mode prefix, key dir, pin) for the QUIC
        # protocols, run by tests/faults/quic_peer.cpp; server/client are
        # then unused.
        self.quic = quic
        # raw: the client is a port forwarder (raw QUIC), not a SOCKS5
        # inbound: flows connect to it without a SOCKS5 handshake.
        self.raw = raw
        # datagrams: the rows are UDP datagrams through the client's UDP
        # port and back (raw QUIC DATAGRAM frames echoed by the server).
        self.datagrams = datagrams
        # How long an idle flow on a blackholed path may live: TCP keep-alive
        # (1 s idle + 3 probes; see Topology.create) ends it in ~4-11 s.
        self.dark_bound = dark_bound


def socks_client(outbound):
    outbound = dict(outbound, tcp_keep_alive="1s")
    return {"log": {"level": "warn"},
            "inbounds": [{"type": "socks", "tag": "in", "listen": "127.0.0.1", "listen_port": SOCKS_PORT}],
            "outbounds": [outbound]}


def server_conf(inbound):
    inbound = dict(inbound, tag="in", listen=SERVER_IP, listen_port=SERVER_PORT)
    return {"log": {"level": "warn"}, "inbounds": [inbound],
            "outbounds": [{"type": "direct", "tag": "direct"}]}


def protocols(sluice, workdir, quic_peer):
    kp = os.path.join(workdir, "tls")
    out = subprocess.run([sluice, "generate", "tls-keypair", "secret.test", "-o", kp],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    pin = re.search(r"^certificate_sha256: (\S+)", out, re.M).group(1)
    stls = {"enabled": True, "server_name": "secret.test",
            "certificate_path": kp + "/cert.pem", "key_path": kp + "/key.pem"}
    ctls = {"enabled": True, "server_name": "secret.test", "certificate_sha256": [pin]}
    uuid = "0d6b6a4e-5f0c-4f55-9a3e-2b7d1c9e8f41"
    rows = [
        Protocol("socks5", server_conf({"type": "socks"}),
                 lambda host, port: socks_client({"type": "socks", "tag": "up", "server": host,
                                                  "server_port": port})),
        Protocol("trojan+tls",
                 server_conf({"type": "trojan", "users": [{"name": "f", "password": "faults pw"}],
                              "tls": stls}),
                 lambda host, port: socks_client({"type": "trojan", "tag": "up", "server": host,
                                                  "server_port": port, "password": "faults pw",
                                                  "tls": ctls})),
    ]
    for name, flow in (("vless+tls", ""), ("vless+vision", "xtls-rprx-vision")):
        rows.append(Protocol(
            name,
            server_conf({"type": "vless", "users": [{"name": "f", "uuid": uuid, "flow": flow}],
                         "tls": stls}),
            (lambda flow: lambda host, port: socks_client(
                {"type": "vless", "tag": "up", "server": host, "server_port": port, "uuid": uuid,
                 "flow": flow, "tls": ctls}))(flow)))
    if quic_peer:
        # dark_bound: quic_peer's 8 s QUIC idle timeout, plus slack.
        rows.append(Protocol("hysteria2", None, None, dark_bound=20, quic=(quic_peer, "hy2", kp, pin)))
        rows.append(Protocol("tuic", None, None, dark_bound=20, quic=(quic_peer, "tuic", kp, pin)))
        rows.append(Protocol("hysteria1", None, None, dark_bound=20, quic=(quic_peer, "hy1", kp, pin)))
        # Raw QUIC (lib/quic with no proxy protocol): streams as a port
        # forward to the target, and DATAGRAM frames echoed by the server.
        rows.append(Protocol("quic streams", None, None, dark_bound=20,
                             quic=(quic_peer, "quic", kp, pin), raw=True))
        rows.append(Protocol("quic datagrams", None, None, dark_bound=20,
                             quic=(quic_peer, "quic", kp, pin), raw=True, datagrams=True))
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if sshd and shutil.which("ssh-keygen"):
        d = os.path.join(workdir, "ssh")
        os.makedirs(d, exist_ok=True)
        for k in ("host", "user"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "faults", "-f",
                            "%s/%s" % (d, k)], check=True)
        with open(d + "/sshd_config", "w") as f:
            f.write("Port %d\nListenAddress %s\nHostKey %s/host\nPidFile %s/sshd.pid\n"
                    "AuthorizedKeysFile %s/user.pub\nUsePAM no\nStrictModes no\nPermitRootLogin yes\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "AllowTcpForwarding yes\nMaxStartups 100\nLogLevel ERROR\n"
                    % (SERVER_PORT, SERVER_IP, d, d, d))
        os.makedirs("/run/sshd", exist_ok=True)
        host_key = " ".join(open(d + "/host.pub").read().split()[:2])
        user = os.environ.get("USER") or "root"
        import pwd
        user = pwd.getpwuid(os.geteuid()).pw_name
        rows.append(Protocol(
            "ssh (OpenSSH)", None,
            lambda host, port: socks_client({"type": "ssh", "tag": "up", "server": host,
                                             "server_port": port, "user": user,
                                             "private_key_path": d + "/user",
                                             "host_key": [host_key]}),
            external=[sshd, "-D", "-e", "-f", d + "/sshd_config"],
            # The SSH session sends keepalive@openssh.com every 7.5 s, so TCP
            # keep-alive never starts; its own bound is 15 s x 3 missed.
            dark_bound=60))
    return rows


# ---------------------------------------------------------------- cases
class Result:
    def __init__(self, proto, cond, status, detail="", size=0, secs=0.0):
        self.proto, self.cond, self.status, self.detail = proto, cond, status, detail
        self.size, self.secs = size, secs

    def rate(self):
        if self.status != "ok" or not self.secs or not self.size:
            return ""
        return "%.2f MB/s" % (self.size / self.secs / 1e6) if self.size / self.secs > 1e6 else \
            "%.0f KB/s" % (self.size / self.secs / 1e3)


LIVE = set()  # topologies in use, destroyed by main() when interrupted
LOCK = threading.Lock()


class Runner:
    def __init__(self, args, caps):
        self.args, self.caps = args, caps
        self.results = []

    def record(self, r):
        line = "  %-14s %-22s %-7s %9s %7s  %s" % (
            r.proto, r.cond, r.status.upper(), r.rate(), ("%.2fs" % r.secs) if r.secs else "",
            r.detail)
        with LOCK:
            self.results.append(r)
            print(line, flush=True)

    def gen(self, topo, mode, size, timeout):
        p = sh(PY, TRAFFIC, "gen", topo.entry, TARGET_PORT, mode, size, timeout, ns=topo.cns,
               check=False, timeout=timeout + 15)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"ok": False, "error": "generator failed: " + p.stderr.strip()[-300:]}

    def start_server(self, topo, proto):
        if proto.quic:
            prog, kind, kp, _ = proto.quic
            log = "server%d.log" % len(topo.procs)
            p = topo.spawn(topo.sns, [prog, kind + "-server", SERVER_IP, SERVER_PORT,
                                      kp + "/cert.pem", kp + "/key.pem"]
                           + ([TARGET_PORT] if proto.raw else []), log)
            end = time.monotonic() + 10
            while "ready" not in self.log(topo, log) and time.monotonic() < end and p.poll() is None:
                time.sleep(0.05)
            if "ready" not in self.log(topo, log):
                raise RuntimeError("server did not start: " + self.log(topo, log))
            return p
        if proto.external:
            p = topo.spawn(topo.sns, proto.external, "server.log")
        else:
            path = os.path.join(topo.dir, "server.json")
            with open(path, "w") as f:
                json.dump(proto.server, f)
            p = topo.spawn(topo.sns, [self.args.sluice, "run", "-c", path], "server.log")
        if not topo.wait_port(topo.sns, SERVER_IP, SERVER_PORT):
            raise RuntimeError("server did not listen: " + self.log(topo, "server.log"))
        return p

    def start_client(self, topo, proto, via_relay):
        host, port = ("127.0.0.1", RELAY_PORT) if via_relay else (SERVER_IP, SERVER_PORT)
        if proto.quic:
            prog, kind, _, pin = proto.quic
            p = topo.spawn(topo.cns, [prog, kind + "-client", host, port, SOCKS_PORT, pin],
                           "client.log")
        else:
            path = os.path.join(topo.dir, "client%s.json" % ("_relay" if via_relay else ""))
            with open(path, "w") as f:
                json.dump(proto.client(host, port), f)
            p = topo.spawn(topo.cns, [self.args.sluice, "run", "-c", path], "client.log")
        if not topo.wait_port(topo.cns, "127.0.0.1", SOCKS_PORT):
            raise RuntimeError("client did not listen: " + self.log(topo, "client.log"))
        return p

    @staticmethod
    def log(topo, name, whole=False):
        try:
            text = open(os.path.join(topo.dir, name), errors="replace").read()
            return text if whole else text[-600:]
        except OSError:
            return "" if whole else "(no log)"

    def transfer(self, topo, proto, cond, mode, size, timeout, drops=False, retries=0):
        r = self.gen(topo, mode, size, timeout)
        note = ""
        # At heavy random loss a handshake can outlast a deadline the
        # protocol enforces (the VLESS header's 4 s, the 10 s open deadline),
        # which a real client answers by trying again: one retry, reported.
        if not r.get("ok") and retries > 0:
            note = "; retried after: %s" % r.get("error")
            r = self.gen(topo, mode, size, timeout)
        if drops:
            seen, dropped = topo.drop_stats()
            note += "; dropped %d of %d packets (%.1f%%)" % (dropped, seen, 100.0 * dropped / max(seen, 1))
        if r.get("setup_s") and r.get("setup_s") > 0.05:
            note += "; setup %.2fs" % r["setup_s"]
        if r.get("ok"):
            self.record(Result(proto.name, cond, "ok", "%s %s%s" % (mode, human(size), note), size,
                               r.get("transfer_s", 0)))
        else:
            self.record(Result(proto.name, cond, "fail", "%s %s: %s%s" % (
                mode, human(size), r.get("error"), note)))
            for name in ("client.log", "server.log"):
                print("    %s: %s" % (name, self.log(topo, name)[-400:].replace("\n", "\n      ")))

    def run_protocol(self, proto):
        topo = Topology(re.sub(r"\W", "", proto.name))
        topo.entry = ("raw:%d" % SOCKS_PORT) if proto.raw else SOCKS_PORT
        q = self.args.quick
        with LOCK:
            LIVE.add(topo)
        try:
            topo.create()
            topo.spawn(topo.sns, [PY, TRAFFIC, "target", TARGET_PORT,
                                  os.path.join(topo.dir, "target.events")], "target.log")
            if not topo.wait_port(topo.sns, "127.0.0.1", TARGET_PORT):
                raise RuntimeError("target did not start")
            server = self.start_server(topo, proto)
            client = self.start_client(topo, proto, False)
            if proto.datagrams:
                self.datagram_rows(topo, proto, client)
                return

            # The matrix: condition, how to set it, mode, size, timeout.
            matrix = [
                ("clean", None, "down", 4 * MiB, 30),
                ("clean", None, "up", 4 * MiB, 30),
                ("loss 1%", ("drop", 1), "down", (1 if q else 4) * MiB, 60),
                ("loss 5%", ("drop", 5), "down", 1 * MiB, 60),
                ("loss 20%", ("drop", 20), "down", 64 * KiB, 90),
                ("1 Mbit/s", ("rate", "1mbit"), "down", 256 * KiB, 30),
                ("1 Mbit/s", ("rate", "1mbit"), "up", 256 * KiB, 30),
            ]
            for cond, how, mode, size, timeout in matrix:
                if how and how[0] == "drop" and not self.caps.nft:
                    self.record(Result(proto.name, cond, "skipped", self.caps.why.get("nft", "")))
                    continue
                if how and how[0] == "rate" and not self.caps.htb:
                    self.record(Result(proto.name, cond, "skipped", self.caps.why.get("htb", "")))
                    continue
                topo.clear()
                if how and how[0] == "drop":
                    topo.drop(how[1])
                elif how:
                    topo.bottleneck(how[1])
                self.transfer(topo, proto, cond, mode, size, timeout,
                              drops=bool(how and how[0] == "drop"),
                              retries=1 if how == ("drop", 20) else 0)
            topo.clear()

            # Delay and jitter through the userspace relay (no netem here).
            cond = "100ms +-20ms"
            if proto.quic:
                relays = [(cond, [100, 20, 0]), ("reordering 25%", [5, 0, 25])]
            else:
                relays = [(cond, [100, 20])]
            for cond, shape in relays:
                kind = "udprelay" if proto.quic else "relay"
                relay = topo.spawn(topo.cns, [PY, TRAFFIC, kind, RELAY_PORT, SERVER_IP, SERVER_PORT]
                                   + shape, "relay.log")
                if not proto.quic:
                    topo.wait_port(topo.cns, "127.0.0.1", RELAY_PORT)
                else:
                    time.sleep(0.3)
                topo.stop(client)
                client = self.start_client(topo, proto, True)
                self.transfer(topo, proto, cond, "down", 1 * MiB, 60)
                self.transfer(topo, proto, cond, "up", 1 * MiB, 60)
                topo.stop(client)
                topo.stop(relay)
            client = self.start_client(topo, proto, False)
            if not proto.quic:
                self.record(Result(proto.name, "reordering", "skipped",
                                   "TCP carrier: no netem on this kernel, and a userspace relay "
                                   "cannot reorder TCP segments"))
            else:
                # A connection made on a 1280-byte path ...
                topo.mtu(1280)
                topo.stop(client)
                client = self.start_client(topo, proto, False)
                self.transfer(topo, proto, "MTU 1280", "down", 4 * MiB, 30)
                self.transfer(topo, proto, "MTU 1280", "up", 1 * MiB, 30)
                # ... and one made at 1500 whose path drops to 1280 under it.
                topo.clear()
                topo.stop(client)
                client = self.start_client(topo, proto, False)
                self.transfer(topo, proto, "MTU 1500", "down", 1 * MiB, 30)
                topo.mtu(1280)
                # The connection's packets are 1452 bytes now; the path takes
                # 1252. lib/quic's black-hole recovery (third_party/ngtcp2/
                # sluice_pmtu.h) must bring the size back to 1200 and let
                # PMTUD find 1232, within a few PTOs. Each direction has its
                # own sender, so each must recover on its own.
                for mode in ("down", "up"):
                    r = self.gen(topo, mode, 1 * MiB, 20)
                    self.record(Result(
                        proto.name, "MTU 1500->1280 live", "ok" if r.get("ok") else "fail",
                        "%s 1 MiB on the connection made at 1500%s" % (
                            mode, "" if r.get("ok") else ": " + str(r.get("error"))),
                        1 * MiB, r.get("transfer_s", 0)))
                topo.clear()
                topo.stop(client)  # a fresh connection for the breaks below
                client = self.start_client(topo, proto, False)
            self.breaks(topo, proto, server, client)
        except Exception as e:
            self.record(Result(proto.name, "setup", "fail", str(e)[:300]))
        finally:
            topo.destroy()
            shutil.rmtree(topo.dir, ignore_errors=True)
            with LOCK:
                LIVE.discard(topo)

    def dgram_row(self, topo, proto, cond, count, timeout, loss=0, size=1000, window=32):
        """One datagram row: |count| datagrams of |size| bytes out and back.
        Besides intact echoes, at least half of what the drop rules let
        through both ways ((1 - loss)^2) must come back: a connection that
        stops sending after losing DATAGRAM-only packets (ngtcp2 0.12.1
        without the fix in third_party/ngtcp2/sluice_ext.h) echoes a few
        percent."""
        drops = loss > 0
        p = sh(PY, TRAFFIC, "dgram", SOCKS_PORT, count, size, window, timeout, ns=topo.cns,
               check=False, timeout=timeout + 15)
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            r = {"ok": False, "error": "generator failed: " + p.stderr.strip()[-300:]}
        note = "%d x %d B: %d echoed intact (%.1f%%)%s" % (
            count, size, r.get("echoed", 0), 100.0 * r.get("echoed", 0) / count,
            ", %d late" % r["late"] if r.get("late") else "")
        if drops:
            seen, dropped = topo.drop_stats()
            note += "; dropped %d of %d packets (%.1f%%)" % (dropped, seen, 100.0 * dropped / max(seen, 1))
        floor = 0.5 * (1 - loss / 100.0) ** 2
        if r.get("ok") and r.get("echoed", 0) < floor * count:
            r["ok"] = False
            r["error"] = "fewer than %.0f%% came back" % (100 * floor)
        if r.get("ok"):
            self.record(Result(proto.name, cond, "ok", note, r.get("bytes", 0), r.get("transfer_s", 0)))
        else:
            self.record(Result(proto.name, cond, "fail", "%s: %s" % (note, r.get("error"))))
            for name in ("client.log", "server1.log"):
                print("    %s: %s" % (name, self.log(topo, name)[-400:].replace("\n", "\n      ")))

    def datagram_rows(self, topo, proto, client):
        """The conditions for QUIC DATAGRAM frames (RFC 9221): unreliable, so
        a row checks that every echo is intact and counts how many came
        back; throughput is echoed bytes over the time to the last echo.
        The breaks are the stream row's: the same connection code."""
        matrix = [("clean", None, 4000, 30), ("loss 1%", ("drop", 1), 2000, 30),
                  ("loss 5%", ("drop", 5), 2000, 30), ("loss 20%", ("drop", 20), 500, 30),
                  ("1 Mbit/s", ("rate", "1mbit"), 300, 30)]
        for cond, how, count, timeout in matrix:
            if how and how[0] == "drop" and not self.caps.nft:
                self.record(Result(proto.name, cond, "skipped", self.caps.why.get("nft", "")))
                continue
            if how and how[0] == "rate" and not self.caps.htb:
                self.record(Result(proto.name, cond, "skipped", self.caps.why.get("htb", "")))
                continue
            topo.clear()
            if how and how[0] == "drop":
                topo.drop(how[1])
            elif how:
                topo.bottleneck(how[1])
            self.dgram_row(topo, proto, cond, count, timeout,
                           loss=how[1] if how and how[0] == "drop" else 0)
        topo.clear()
        for cond, shape in (("100ms +-20ms", [100, 20, 0]), ("reordering 25%", [5, 0, 25])):
            relay = topo.spawn(topo.cns, [PY, TRAFFIC, "udprelay", RELAY_PORT, SERVER_IP, SERVER_PORT]
                               + shape, "relay.log")
            time.sleep(0.3)
            topo.stop(client)
            client = self.start_client(topo, proto, True)
            self.dgram_row(topo, proto, cond, 500, 30)
            topo.stop(client)
            topo.stop(relay)
        topo.mtu(1280)
        client = self.start_client(topo, proto, False)
        self.dgram_row(topo, proto, "MTU 1280", 1000, 30)
        topo.clear()

    def breaks(self, topo, proto, server, client):
        """Broken paths and peers; each bounded, each a row."""
        n = proto.name
        # Peer RST mid-stream: the flow must end (not hang) short of the full size.
        r = self.gen(topo, "rst", 2 * MiB, 20)
        short = not r.get("ok") and r.get("end") in ("eof", "reset") and r.get("bytes", 0) < 2 * MiB
        self.record(Result(n, "break: target RST", "ok" if short else "fail",
                           "flow ended by %s after %s of 2 MiB in %.1fs%s" % (
                               r.get("end"), human(r.get("bytes", 0)), r.get("total_s", 0),
                               " (the reset reached the client as a clean EOF)"
                               if r.get("end") == "eof" else "")))
        # Half-close, client -> server: our FIN, the answer still arrives.
        r = self.gen(topo, "halfup", 0, 20)
        self.record(Result(n, "break: half-close up", "ok" if r.get("ok") else "fail",
                           r.get("error", "")))
        # Half-close, server -> client: the target's FIN, our data still reaches it.
        events = os.path.join(topo.dir, "target.events")
        r = self.gen(topo, "halfdown", 64 * KiB, 20)
        time.sleep(0.5)
        rx = re.findall(r"halfdown-rx (\d+)", open(events).read()) if os.path.exists(events) else []
        ok = r.get("ok") and rx and rx[-1] == "9000"
        self.record(Result(n, "break: half-close down", "ok" if ok else "fail",
                           "target got %s bytes after its FIN%s" % (
                               rx[-1] if rx else "no", "" if r.get("ok") else "; " + str(r.get("error")))))
        # Server killed mid-flow (SIGKILL) and restarted.
        if self.caps.htb:
            topo.bottleneck("1mbit")  # keeps the 1 MiB flow in flight for ~8 s
            box = {}
            t = threading.Thread(target=lambda: box.update(
                self.gen(topo, "down", 1 * MiB, proto.dark_bound + 10)))
            t.start()
            time.sleep(1.5)
            logmark = len(self.log(topo, "client.log", whole=True))
            topo.kill_server(server)
            time.sleep(0.5)
            server = self.start_server(topo, proto)  # back at once, on the same port
            topo.clear()
            # New flows: the first ones may fail while the client still holds
            # the dead connection (QUIC: until its idle timeout); retry.
            t0 = time.monotonic()
            tries, r2 = 0, {}
            while time.monotonic() - t0 < proto.dark_bound + 10:
                tries += 1
                r2 = self.gen(topo, "down", 256 * KiB, 15)
                if r2.get("ok"):
                    break
                time.sleep(0.5)
            back = time.monotonic() - t0
            t.join(proto.dark_bound + 30)
            r = box
            ended = (r and not r.get("ok") and r.get("end") != "timeout"
                     and r.get("total_s", 999) < proto.dark_bound)
            # QUIC: what ended the client's connection, as its log says: the
            # idle timeout, or a stateless reset from the restarted server
            # (which only ends it if the new server derives the same reset
            # tokens as the old one).
            why = ""
            if proto.quic:
                lines = [ln.strip() for ln in
                         self.log(topo, "client.log", whole=True)[logmark:].splitlines()
                         if re.search(r"idle timeout|stateless reset|connection closed|connection lost", ln)]
                why = "; the client's connection: %s" % (
                    lines[0][-110:] if lines else "no end logged")
            self.record(Result(n, "break: server killed", "ok" if ended and r2.get("ok") else "fail",
                               "in flight: %s after %s in %.1fs%s; new flows: %s" % (
                                   r.get("end"), human(r.get("bytes", 0)), r.get("total_s", 0),
                                   " (a clean EOF: truncation invisible)" if r.get("end") == "eof"
                                   else "",
                                   ("ok after %.1fs, %d tries" % (back, tries)) if r2.get("ok")
                                   else r2.get("error")) + why))
        else:
            self.record(Result(n, "break: server killed", "skipped", self.caps.why.get("htb")))
        # Blackhole: all traffic dropped silently; a new flow must fail in bounded time.
        if self.caps.nft:
            before = rss_kib(client.pid)
            topo.drop(100)
            r = self.gen(topo, "down", 64 * KiB, 45)
            bounded = not r.get("ok") and r.get("total_s", 99) < 40 and r.get("end") != "timeout"
            topo.clear()
            after = rss_kib(client.pid)
            r2 = self.gen(topo, "down", 64 * KiB, 30)
            self.record(Result(n, "break: blackhole", "ok" if bounded and r2.get("ok") else "fail",
                               "new flow failed after %.1fs: %s; client RSS %d -> %d KiB; "
                               "after: %s" % (r.get("total_s", 0), r.get("error"), before, after,
                                              "ok" if r2.get("ok") else r2.get("error"))))
            # An established, idle flow when the path goes dark: keep-alive ends it.
            # The path goes dark only once the target has answered the flow's
            # IDLE (a loaded machine can take longer than any fixed sleep to
            # set the tunnel up, and a setup byte still in flight would wait
            # out TCP's retransmissions instead of its keep-alive).
            events = os.path.join(topo.dir, "target.events")
            count = lambda: (open(events).read().count("idle-ready")
                             if os.path.exists(events) else 0)
            before_ready = count()
            box = {}
            t = threading.Thread(target=lambda: box.update(self.gen(topo, "idle", 0, proto.dark_bound + 40)))
            t0 = time.monotonic()
            t.start()
            while count() == before_ready and time.monotonic() - t0 < 30 and t.is_alive():
                time.sleep(0.05)
            time.sleep(0.3)  # the answer crosses back
            dark_at = time.monotonic() - t0
            topo.drop(100)
            t.join(proto.dark_bound + 60)
            topo.clear()
            r = box
            dark_s = r.get("total_s", 999) - dark_at
            bounded = (r.get("end") in ("eof", "reset", "error") and "ready_s" in r and
                       dark_s < proto.dark_bound)
            self.record(Result(n, "break: dark in flight", "ok" if bounded else "fail",
                               "idle flow ended by %s after %.1fs dark (set up in %.1fs)%s" % (
                                   r.get("end"), dark_s, r.get("ready_s", -1),
                                   "" if bounded else ": " + str(r.get("error")))))
            if proto.quic:
                return  # no TCP handshake to starve: the blackhole rows cover QUIC
            # TCP connects but the protocol's handshake is dropped.
            topo.drop_payload()
            r = self.gen(topo, "down", 64 * KiB, 45)
            bounded = not r.get("ok") and r.get("end") != "timeout" and r.get("total_s", 99) < 40
            topo.clear()
            self.record(Result(n, "break: handshake dark", "ok" if bounded else "fail",
                               "flow failed after %.1fs: %s" % (r.get("total_s", 0), r.get("error"))))
        else:
            for c in ("break: blackhole", "break: dark in flight", "break: handshake dark"):
                self.record(Result(n, c, "skipped", self.caps.why.get("nft")))


def markdown_table(results):
    """protocol x condition: each cell the row's results in order ("ok" and
    the throughput, "FAIL", "skipped", "known"), "/" between a condition's
    transfers (down / up), "—" where the condition does not apply."""
    protos, conds, cells = [], [], {}
    for r in results:
        if r.proto not in protos:
            protos.append(r.proto)
        if r.cond not in conds:
            conds.append(r.cond)
        word = {"ok": "ok", "fail": "FAIL"}.get(r.status, r.status)
        cells.setdefault((r.proto, r.cond), []).append(
            (word + " " + r.rate()).strip() if r.status == "ok" else word)
    out = ["| condition | " + " | ".join(protos) + " |",
           "|---" * (len(protos) + 1) + "|"]
    for c in conds:
        out.append("| %s | %s |" % (c, " | ".join(
            " / ".join(cells[(p, c)]) if (p, c) in cells else "—" for p in protos)))
    return "\n".join(out) + "\n"


def human(n):
    return "%d MiB" % (n // MiB) if n >= MiB and n % MiB == 0 else "%d KiB" % (n // KiB)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--quic-peer", default="", help="tests/faults/quic_peer.cpp's program")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=3, help="protocols run at once")
    ap.add_argument("--json", default="")
    ap.add_argument("--table", default="", help="write the protocol x condition table "
                    "(Markdown, as in docs/reliability-faults.md) to this file")
    args = ap.parse_args()

    caps = Caps().probe()
    if not caps.netns:
        print("SKIP: cannot create network namespaces here (%s); the fault tests need root "
              "or CAP_NET_ADMIN" % caps.why.get("netns"))
        return 77
    # meson's timeout sends SIGTERM: turn it into an exception so `finally` cleans up.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print("kernel: nftables drop %s, tc htb %s, netem %s" % (
        "yes" if caps.nft else "no (%s)" % caps.why.get("nft"),
        "yes" if caps.htb else "no (%s)" % caps.why.get("htb"),
        "yes" if getattr(caps, "netem", False) else "no (delay/jitter by the userspace relay)"))
    work = tempfile.mkdtemp(prefix="sluice_faults_")
    runner = Runner(args, caps)
    t0 = time.monotonic()
    # Protocols run in parallel (--jobs): each has its own namespaces and
    # most of a row's time is a timeout that must fire, not CPU.
    todo = [p for p in protocols(args.sluice, work, args.quic_peer)
            if not args.only or re.search(args.only, p.name)]

    def worker():
        while True:
            with LOCK:
                if not todo:
                    return
                proto = todo.pop(0)
            print("== %s" % proto.name, flush=True)
            began = time.monotonic()
            runner.run_protocol(proto)
            print("== %s done in %.0f s" % (proto.name, time.monotonic() - began), flush=True)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, args.jobs))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except KeyboardInterrupt:
        print("interrupted: cleaning up")
        with LOCK:
            live = list(LIVE)
        for topo in live:
            topo.destroy()
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    order = {n: i for i, n in enumerate(
        ["socks5", "trojan+tls", "vless+tls", "vless+vision", "hysteria2", "hysteria1", "tuic",
         "quic streams",
         "quic datagrams", "ssh (OpenSSH)"])}
    runner.results.sort(key=lambda r: order.get(r.proto, 99))  # stable: rows keep their order
    if not args.quic_peer:
        for name in ("hysteria2", "hysteria1", "tuic", "quic streams", "quic datagrams"):
            runner.results.append(Result(name, "all", "skipped",
                                         "built without ngtcp2: no faults_quic_peer"))
    print("\n%-16s %-24s %-8s %10s %8s" % ("protocol", "condition", "result", "throughput", "time"))
    for r in runner.results:
        print("%-16s %-24s %-8s %10s %8s" % (r.proto, r.cond, r.status, r.rate(),
                                              ("%.2fs" % r.secs) if r.secs else ""))
    failed = [r for r in runner.results if r.status == "fail"]
    print("\nfaults: %d ok, %d failed, %d known limitations, %d skipped in %.0f s" % (
        sum(r.status == "ok" for r in runner.results), len(failed),
        sum(r.status == "known" for r in runner.results),
        sum(r.status == "skipped" for r in runner.results), time.monotonic() - t0))
    if args.table:
        with open(args.table, "w") as f:
            f.write(markdown_table(runner.results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.__dict__ for r in runner.results], f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

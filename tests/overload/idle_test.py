#!/usr/bin/env python3
"""idle_test.py SLUICE [--count N] [--quic-count N] [--rows trojan,tuic,...]

Many concurrent idle tunnels through one client and one server `sluice run`
process (a mixed inbound on the client, the row's protocol between them, a
direct outbound on the server to an echo target): every tunnel is opened and
proves itself with one echoed byte, then all stay open and idle together.
Reported: each process's RSS per tunnel. After they close, both processes'
RSS must return to within 10 % of the baseline (the processes after a
warm-up of a few tunnels); the pool trim waits for two quiet 5 s samples, so
this is a bounded poll. --count defaults to 1000 (the suite's size, a few
seconds per row); `--count 10000` is the issue's size (docs/reliability.md
has its numbers). --quic-count sets the QUIC rows' count apart (default:
--count); either is capped at the server's stream limit on a QUIC row.
Rows: trojan (TLS over TCP), vless (TLS over TCP), tuic and hysteria2
(streams of one QUIC connection); the suite runs trojan at 1,000 and tuic at
4,096, where a connection's freed stream memory used to stay."""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("sluice")
ap.add_argument("--count", type=int, default=1000)
ap.add_argument("--quic-count", type=int, default=None)
ap.add_argument("--rows", default="trojan,tuic")
args = ap.parse_args()
checks = harness.Checks()
with tempfile.TemporaryDirectory() as tmp:
    stls, ctls = harness.keypair(args.sluice, tmp)
    table = harness.rows(stls, ctls)
    # A tunnel costs each sluice process two descriptors on TCP rows (inbound
    # and outbound), one on QUIC rows (the streams share one UDP socket), and
    # this process one; 40 more cover listeners, the loop and logs.
    quic_count = args.count if args.quic_count is None else args.quic_count
    need = max(min(quic_count, harness.QUIC_STREAM_LIMIT[r]) if table[r][2] else 2 * args.count
               for r in args.rows.split(","))
    harness.raise_nofile(need + 40)
    target = harness.EchoTarget()
    for name in args.rows.split(","):
        inbound, outbound, quic = table[name]
        count = quic_count if quic else args.count
        if quic and count > harness.QUIC_STREAM_LIMIT[name]:
            count = harness.QUIC_STREAM_LIMIT[name]
            print("     %s: %d tunnels, not %d: one QUIC connection carries at most %d "
                  "streams at once (the server's stream limit)" % (name, count, quic_count, count))
        t_row = time.monotonic()
        server = harness.Sluice(args.sluice, tmp, name + "-server",
                                harness.server_config([dict(inbound, tag="in")]))
        client = harness.Sluice(args.sluice, tmp, name + "-client",
                                harness.client_config(outbound, server.ports["in"]))
        procs = [server, client]
        try:
            warm, failed = harness.open_tunnels(client.ports["in"], target.port, 16, 20)
            checks.check(len(warm) == 16 and failed == 0, "%s: warm-up tunnels work" % name)
            for s in warm:
                s.close()
            time.sleep(1.0)
            base = {p.name: p.rss() for p in procs}
            t0 = time.monotonic()
            socks, failed = harness.open_tunnels(client.ports["in"], target.port, count, 45)
            took = time.monotonic() - t0
            checks.check(len(socks) == count and failed == 0,
                         "%s: %d concurrent tunnels open and echo (%d failed) in %.1f s" %
                         (name, len(socks), failed, took))
            time.sleep(1.0)
            active = {p.name: p.stats()["streams_active"] for p in procs}
            peak = {p.name: p.rss() for p in procs}
            for p in procs:
                per = (peak[p.name] - base[p.name]) / max(1, len(socks))
                print("     %s: RSS %.1f MiB before, %.1f MiB with %d idle tunnels "
                      "(%.1f KiB per tunnel), %d streams active" %
                      (p.name, base[p.name] / 1024, peak[p.name] / 1024, len(socks), per,
                       active[p.name]), flush=True)
            checks.check(active[server.name] >= len(socks) and active[client.name] >= len(socks),
                         "%s: both processes hold every tunnel at once" % name)
            for s in socks:
                s.close()
            t0 = time.monotonic()
            while time.monotonic() - t0 < 20 and any(p.stats()["streams_active"] for p in procs):
                time.sleep(0.25)
            checks.check(all(p.stats()["streams_active"] == 0 for p in procs),
                         "%s: every stream ends when the clients close (%.1f s)" %
                         (name, time.monotonic() - t0))
            after, waited = harness.settle_rss(procs, base, 1.10, 30)
            for p in procs:
                print("     %s: RSS %.1f MiB %.0f s after the close (baseline %.1f MiB, "
                      "peak %.1f MiB)" % (p.name, after[p.name] / 1024, waited,
                                          base[p.name] / 1024, peak[p.name] / 1024), flush=True)
                checks.check(after[p.name] <= base[p.name] * 1.10,
                             "%s: %s memory back within 10 %% of the baseline" % (name, p.name))
            checks.check(all(p.alive() for p in procs), "%s: both processes stay up" % name)
        finally:
            for p in procs:
                p.stop()
        print("     %s row took %.1f s" % (name, time.monotonic() - t_row), flush=True)
    target.stop()

checks.exit()

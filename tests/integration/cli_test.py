#!/usr/bin/env python3
"""End to end through the `sluice` program: `check` on good and bad
configurations, then `run` with a mixed inbound and a direct outbound, an
HTTP page fetched through it as a proxy, and a graceful SIGTERM; then
`generate tls-keypair` material serving a `sluice run` Trojan server that a
`sluice run` client trusts (by CA file, and by the printed pin)."""
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


def start_run(config, tmp, name, tag):
    """Starts `sluice run` on |config|; returns (process, port of inbound |tag|)."""
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    proc = subprocess.Popen([sluice, "run", "-c", path], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"inbound %s listening on port (\d+)" % re.escape(tag), line)
        if m:
            # Keep draining stderr so the process never blocks on a full pipe.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, int(m.group(1))
    proc.kill()
    proc.wait()
    return None, None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config, tmp, name, port):
    """Starts `sluice run` on |config| (listening on |port|) and waits until it accepts."""
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(config, f)
    proc = subprocess.Popen([sluice, "run", "-c", path], stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None


def stop_run(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def fetch_via(proxy_port, url):
    proxy = urllib.request.ProxyHandler({"http": "http://127.0.0.1:%d" % proxy_port})
    try:
        return urllib.request.build_opener(proxy).open(url, timeout=10).read()
    except OSError as e:
        return repr(e).encode()


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

    # Paths that are not configuration files fail at once with a reason
    # (a FIFO would block a plain open; /dev/zero never ends).
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    big = os.path.join(tmp, "big.json")
    with open(big, "w") as f:
        f.write("{}" + " " * (4 << 20))
    for path, reason in (("/dev/zero", "not a regular file (a character device)"),
                         (fifo, "not a regular file (a FIFO)"),
                         (tmp, "not a regular file (a directory)"),
                         (big, "larger than 4 MiB")):
        for cmd in ("check", "run"):
            try:
                r = subprocess.run([sluice, cmd, "-c", path], capture_output=True, text=True,
                                   timeout=10)
                check(r.returncode == 1 and reason in r.stderr,
                      "%s -c %s fails promptly: %s" % (cmd, path, r.stderr.strip()))
            except subprocess.TimeoutExpired:
                check(False, "%s -c %s fails promptly (it hung)" % (cmd, path))

    # An outbound whose server is the configuration's own inbound would open
    # connections through itself without end: check and run refuse it.
    for listen, server in (("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"),
                           ("127.0.0.1", "localhost")):
        loop_port = free_port()
        loop_cfg = {"inbounds": [{"type": "mixed", "tag": "local", "listen": listen,
                                  "listen_port": loop_port}],
                    "outbounds": [{"type": "socks", "tag": "self", "server": server,
                                   "server_port": loop_port}]}
        loop_path = os.path.join(tmp, "loop.json")
        with open(loop_path, "w") as f:
            json.dump(loop_cfg, f)
        for cmd in ("check", "run"):
            r = subprocess.run([sluice, cmd, "-c", loop_path], capture_output=True, text=True,
                               timeout=10)
            check(r.returncode == 1 and "own inbound local" in r.stderr and "loop" in r.stderr,
                  "%s refuses an outbound %s:%d dialing its own inbound on %s: %s" %
                  (cmd, server, loop_port, listen, r.stderr.strip()))

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

    # generate tls-keypair: files a Trojan server and its clients use as is.
    keydir = os.path.join(tmp, "keys")
    r = subprocess.run([sluice, "generate", "tls-keypair", "localhost", "-o", keydir, "--days", "30"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "generate tls-keypair -o writes its files: " + r.stderr.strip())
    files = {n: os.path.join(keydir, n) for n in ("ca.pem", "cert.pem", "key.pem")}
    check(all(os.path.exists(p) for p in files.values()), "ca.pem, cert.pem and key.pem exist")
    check(os.path.exists(files["key.pem"]) and os.stat(files["key.pem"]).st_mode & 0o777 == 0o600,
          "key.pem is mode 0600")
    check("PRIVATE KEY" not in r.stdout and "CERTIFICATE" not in r.stdout,
          "no key or certificate on stdout")
    pin = re.search(r"certificate_public_key_sha256: (\S+)", r.stdout)
    check(pin is not None, "the public-key pin is printed")
    if os.path.exists(files["key.pem"]):
        with open(files["key.pem"]) as f:
            check("PRIVATE KEY" in f.read(), "key.pem holds the private key")
    r2 = subprocess.run([sluice, "generate", "tls-keypair", "localhost", "-o", keydir],
                        capture_output=True, text=True)
    check(r2.returncode != 0 and "exists" in r2.stderr, "existing files are not overwritten")
    r2 = subprocess.run([sluice, "generate", "tls-keypair", "localhost"], capture_output=True, text=True)
    check(r2.returncode != 0 and "-o" in r2.stderr, "tls-keypair without -o is refused")

    # `check` loads what `run` loads: every broken certificate, key or CA file
    # fails check with the same reason run gives, and a good one passes.
    other = os.path.join(tmp, "mismatch")
    subprocess.run([sluice, "generate", "tls-keypair", "localhost", "-o", other],
                   capture_output=True, text=True)
    material = {}

    def write(name, data, mode="w"):
        p = os.path.join(tmp, name)
        with open(p, mode) as f:
            f.write(data)
        material[name] = p
        return p

    write("empty.pem", "")
    write("garbage.pem", "this is not a certificate\n")
    der = subprocess.run(["openssl", "x509", "-in", files["cert.pem"], "-outform", "DER"],
                         capture_output=True)
    have_openssl = der.returncode == 0
    if have_openssl:
        write("cert.der", der.stdout, "wb")
        enc = subprocess.run(["openssl", "pkey", "-in", files["key.pem"], "-aes256", "-passout",
                              "pass:secret"], capture_output=True, text=True)
        write("enc_key.pem", enc.stdout)
    cert_fifo = os.path.join(tmp, "cert_fifo")
    os.mkfifo(cert_fifo)
    bad_tls = [
        ("a missing certificate", {"certificate_path": os.path.join(tmp, "nope.pem")}),
        ("an empty certificate", {"certificate_path": material["empty.pem"]}),
        ("a garbage certificate", {"certificate_path": material["garbage.pem"]}),
        ("a directory as the certificate", {"certificate_path": tmp}),
        ("a FIFO as the certificate", {"certificate_path": cert_fifo}),
        ("a FIFO as the key", {"key_path": cert_fifo}),
        ("a mismatched key", {"key_path": os.path.join(other, "key.pem")}),
    ]
    if have_openssl:
        bad_tls += [("a DER certificate", {"certificate_path": material["cert.der"]}),
                    ("an encrypted key", {"key_path": material["enc_key.pem"]})]
    for what, override in bad_tls:
        for kind in ("trojan", "vless"):
            tls = {"enabled": True, "certificate_path": files["cert.pem"],
                   "key_path": files["key.pem"]}
            tls.update(override)
            inbound = {"type": kind, "tag": "in", "listen": "127.0.0.1", "listen_port": 0, "tls": tls}
            if kind == "trojan":
                inbound["users"] = [{"name": "u", "password": "p"}]
            else:
                inbound["users"] = [{"name": "u", "uuid": "b831381d-6324-4d53-ad4f-8cda48b30811"}]
            cfg_path = os.path.join(tmp, "tls_%s.json" % kind)
            with open(cfg_path, "w") as f:
                json.dump({"inbounds": [inbound]}, f)
            results = {}
            for cmd in ("check", "run"):
                try:
                    results[cmd] = subprocess.run([sluice, cmd, "-c", cfg_path], capture_output=True,
                                                  text=True, timeout=10)
                except subprocess.TimeoutExpired:
                    results[cmd] = None
            c, rr = results["check"], results["run"]
            check(c is not None and c.returncode == 1 and "tls" in c.stderr,
                  "check rejects a %s inbound with %s: %s" % (kind, what, c.stderr.strip() if c else "hung"))
            check(rr is not None and rr.returncode == 1,
                  "run rejects a %s inbound with %s too" % (kind, what))
    client_bad = {"outbounds": [{"type": "trojan", "tag": "t", "server": "127.0.0.1", "server_port": 1,
                                 "password": "p", "tls": {"enabled": True,
                                 "certificate_path": os.path.join(tmp, "missing_ca.pem")}}]}
    cfg_path = os.path.join(tmp, "missing_ca.json")
    with open(cfg_path, "w") as f:
        json.dump(client_bad, f)
    r = subprocess.run([sluice, "check", "-c", cfg_path], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1 and "missing_ca.pem" in r.stderr,
          "check rejects an outbound whose CA file is missing: " + r.stderr.strip())
    # A port already taken: run could not bind it, check must not try.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    good_tls = {"inbounds": [{"type": "trojan", "tag": "in", "listen": "127.0.0.1",
                              "listen_port": taken.getsockname()[1],
                              "users": [{"name": "u", "password": "p"}],
                              "tls": {"enabled": True, "certificate_path": files["cert.pem"],
                                      "key_path": files["key.pem"]}}],
                "outbounds": [{"type": "trojan", "tag": "t", "server": "127.0.0.1", "server_port": 1,
                               "password": "p", "tls": {"enabled": True,
                               "certificate_path": files["ca.pem"]}}]}
    with open(cfg_path, "w") as f:
        json.dump(good_tls, f)
    r = subprocess.run([sluice, "check", "-c", cfg_path], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, "check accepts good TLS material without binding: " + r.stderr.strip())
    r = subprocess.run([sluice, "run", "-c", cfg_path], capture_output=True, text=True, timeout=10)
    check(r.returncode == 1, "run of the same file fails on the taken port: " + r.stderr.strip())
    taken.close()

    server_cfg = {
        "log": {"level": "info"},
        "inbounds": [{"type": "trojan", "tag": "tj", "listen": "127.0.0.1", "listen_port": 0,
                      "users": [{"name": "u", "password": "generated"}],
                      "tls": {"enabled": True, "certificate_path": files["cert.pem"],
                              "key_path": files["key.pem"]}}],
        "outbounds": [{"type": "direct", "tag": "direct"}],
    }
    # `run` logs the ports of proxy inbounds only, so the server gets a fixed free port.
    tj_port = free_port()
    server_cfg["inbounds"][0]["listen_port"] = tj_port
    server = start_server(server_cfg, tmp, "trojan_server", tj_port)
    check(server is not None, "a Trojan server runs with the generated certificate and key")
    if server:
        trusts = [("the generated CA file", {"certificate_path": files["ca.pem"]})]
        if pin:
            trusts.append(("the printed pin", {"certificate_public_key_sha256": [pin.group(1)]}))
        for what, trust in trusts:
            tls = {"enabled": True, "server_name": "localhost"}
            tls.update(trust)
            client_cfg = {
                "log": {"level": "info"},
                "inbounds": [{"type": "mixed", "tag": "local", "listen": "127.0.0.1", "listen_port": 0}],
                "outbounds": [{"type": "trojan", "tag": "tj", "server": "127.0.0.1",
                               "server_port": tj_port, "password": "generated", "tls": tls}],
            }
            client, cport = start_run(client_cfg, tmp, "trojan_client", "local")
            check(client is not None, "a Trojan client runs trusting " + what)
            if client:
                body = fetch_via(cport, "http://127.0.0.1:%d/page.txt" % web_port)
                check(body == page, "a page fetched through Trojan, trusting %s, is intact" % what)
                check(stop_run(client) == 0, "the client exits 0")
        # A client that trusts another CA is refused: the files are not just accepted blindly.
        otherdir = os.path.join(tmp, "other")
        subprocess.run([sluice, "generate", "tls-keypair", "localhost", "-o", otherdir],
                       capture_output=True, text=True)
        client_cfg["outbounds"][0]["tls"] = {"enabled": True, "server_name": "localhost",
                                             "certificate_path": os.path.join(otherdir, "ca.pem")}
        client, cport = start_run(client_cfg, tmp, "trojan_client_other", "local")
        if client:
            body = fetch_via(cport, "http://127.0.0.1:%d/page.txt" % web_port)
            check(body != page, "a client trusting another generated CA gets no page")
            stop_run(client)
        check(stop_run(server) == 0, "the Trojan server exits 0")
    web.shutdown()

print("%d failed" % len(failures))
sys.exit(1 if failures else 0)

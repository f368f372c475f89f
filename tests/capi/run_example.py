#!/usr/bin/env python3
"""run_example.py [--lib LIBSLUICE] -- COMMAND...

Serves a temporary directory holding a known page with `python3 -m
http.server` on 127.0.0.1 (ephemeral port), runs COMMAND 127.0.0.1 PORT
/page.html (with SLUICE_LIB set to LIBSLUICE when given), and passes if
the command exits 0 and its output holds the page's content.
"""
import os
import re
import subprocess
import sys
import tempfile

TOKEN = "sluice-example-page-7f3c9d"


def main():
    args = sys.argv[1:]
    env = dict(os.environ)
    if args[:1] == ["--lib"]:
        env["SLUICE_LIB"] = args[1]
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "page.html"), "w") as f:
            f.write("<html><body>%s</body></html>\n" % TOKEN)
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
             "--directory", root],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            m = re.search(r"port (\d+)", line)
            if not m:
                print("http.server did not report its port: %r" % line, file=sys.stderr)
                return 1
            port = m.group(1)
            run = subprocess.run(args + ["127.0.0.1", port, "/page.html"], env=env,
                                 capture_output=True, text=True, timeout=30)
        finally:
            server.terminate()
            server.wait()
    sys.stderr.write(run.stderr)
    print(run.stdout)
    if run.returncode != 0:
        print("example exited with %d" % run.returncode, file=sys.stderr)
        return 1
    if TOKEN not in run.stdout or "200" not in run.stdout.splitlines()[0]:
        print("the page did not come back through sluice", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

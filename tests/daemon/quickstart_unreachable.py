#!/usr/bin/env python3
"""scripts/quickstart with no server reachable (suite e2e).

Plays the quick start against a closed local port, reusing the binaries of
this build (WAMD_QUICKSTART_NO_BUILD=1, WA_BUILD = this build), and checks
what a new user sees: within 5 s the reason (host, step) is in wamd's log, in
connectionState's wamdReason and in wamctl pair's output on the quick start's
own stdout; wamd keeps retrying; the data folder and log are owner-only; and
Ctrl-C (SIGINT to the process group, as a terminal sends it) ends the quick
start with status 0.
env: WAMD_BIN (the real wamd of this build)."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()  # nothing listens there now: connect() is refused at once
    return p


def unix_get(sock, path):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(sock)
    c.sendall(("GET %s HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    if b"chunked" in data.split(b"\r\n\r\n", 1)[0].lower():
        out, rest = b"", body
        while rest:
            n, rest = rest.split(b"\r\n", 1)
            n = int(n, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return json.loads(body)


def main():
    wamd = os.environ["WAMD_BIN"]
    build = os.path.dirname(os.path.dirname(os.path.abspath(wamd)))
    tmp = tempfile.mkdtemp(prefix="wamd-quickstart-")
    data = os.path.join(tmp, "data")
    port = closed_port()
    env = dict(os.environ, WAMD_DATA=data, WA_BUILD=build, WAMD_QUICKSTART_NO_BUILD="1")
    env.pop("WAMD_SOCKET", None)
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(ROOT, "scripts", "quickstart"), "--",
                          "--wa-url", "ws://127.0.0.1:%d/ws/chat" % port],
                         cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    os.set_blocking(p.stdout.fileno(), False)
    out = b""
    log_path = os.path.join(data, "wamd.log")
    sock = os.path.join(data, "wamd.sock")
    want = "TCP: cannot connect to 127.0.0.1:%d" % port
    seen = {}
    while time.monotonic() - t0 < 5 and len(seen) < 3:
        time.sleep(0.1)
        try:
            out += p.stdout.read() or b""
        except (BlockingIOError, TypeError):
            pass
        if "log" not in seen and os.path.exists(log_path) and want in open(log_path).read():
            seen["log"] = time.monotonic() - t0
        if "api" not in seen and os.path.exists(sock):
            try:
                st = unix_get(sock, "/instance/connectionState/default")
                r = st["instance"].get("wamdReason") or {}
                if want in (r.get("message") or "") and r.get("retrying") is True:
                    seen["api"] = time.monotonic() - t0
                    check(st["instance"]["state"] in ("close", "connecting"),
                          "Evolution's state field unchanged beside wamdReason: %s" % st)
            except (OSError, ValueError, KeyError, IndexError):
                pass
        if "wamctl" not in seen and ("WhatsApp cannot be reached: " + want).encode() in out:
            seen["wamctl"] = time.monotonic() - t0
    for where in ("log", "api", "wamctl"):
        check(where in seen, "reason (%s) in the %s within 5 s%s" % (
            want, where, " (%.1f s)" % seen[where] if where in seen else ""))
    # keeps retrying with the backoff (1 s, 2 s, ...): a second attempt ~1 s later
    end = time.monotonic() + 4
    log = ""
    while time.monotonic() < end:
        log = open(log_path).read() if os.path.exists(log_path) else ""
        if log.count(want) >= 2:
            break
        time.sleep(0.1)
    check(log.count(want) >= 2, "wamd retries (%d failed attempts logged)" % log.count(want))
    check(b"installing" not in out and b"building" not in out, "no build with WAMD_QUICKSTART_NO_BUILD=1")
    check(stat.S_IMODE(os.stat(data).st_mode) == 0o700, "data folder is 0700 (%o)" % stat.S_IMODE(os.stat(data).st_mode))
    check(stat.S_IMODE(os.stat(log_path).st_mode) == 0o600, "log is 0600 (%o)" % stat.S_IMODE(os.stat(log_path).st_mode))
    # Ctrl-C: the terminal signals the whole foreground process group
    os.killpg(p.pid, signal.SIGINT)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = "timeout"
    try:
        out += p.stdout.read() or b""
    except (BlockingIOError, TypeError):
        pass
    check(rc == 0, "Ctrl-C ends the quick start with status 0 (got %s)" % rc)
    time.sleep(0.3)
    check(not os.path.exists(sock), "wamd stopped (socket removed)")
    if failures:
        sys.stdout.write("--- quickstart output\n" + out.decode(errors="replace") + "\n--- wamd.log\n" + log[-4000:])
    print("%d check(s) failed" % failures if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

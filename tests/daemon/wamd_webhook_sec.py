#!/usr/bin/env python3
"""wamd webhook delivery against hostile receivers and targets (suite e2e),
on the fake session engine like wamd_e2e.py (whose helpers it uses).

  redirect  every 3xx is a failed attempt, retried, logged with its Location;
            the Location's server never sees a connection
  ssrf      numeric spellings of refused addresses are 400 at webhook/set and
            refused in the config; a name resolving to loopback is refused
            after the lookup with no TCP connection to its port
  timeout   webhook_timeout_ms bounds each attempt, above and below 5 s

usage: wamd_webhook_sec.py redirect|ssrf|timeout"""
import http.server
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wamd_e2e import ADMIN, DIRS, FAILS, Daemon, check, create, free_port, wait_for, wait_open  # noqa: E402


class Sentinel:
    """Listens on a port (every address, IPv4 and IPv6) and counts accept()s."""

    def __init__(self, port=0):
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port))
        except OSError:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
        s.listen(16)
        s.settimeout(0.2)
        self.sock = s
        self.port = s.getsockname()[1]
        self.accepts = 0
        self.stop_ = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepts += 1
            c.close()

    def close(self):
        self.stop_ = True
        self.t.join()
        self.sock.close()


class Hook:
    """Webhook receiver on addr; handler(h, body) answers each POST (h is the
    BaseHTTPRequestHandler). Records (arrival time, event id, path, headers)."""

    def __init__(self, handler, addr="127.0.0.1"):
        self.hits = []
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.hits.append({"t": time.time(), "id": self.headers.get("x-wamd-event-id"),
                                       "path": self.path, "host": self.headers.get("host"), "body": body})
                try:
                    handler(self, body)
                except OSError:
                    pass  # wamd gave up on the attempt and closed

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer((addr, 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return list(self.hits)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def answer(h, code, headers=(), body=b""):
    h.send_response(code)
    for k, v in headers:
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def log_text(d):
    try:
        return open(os.path.join(d.data, "wamd.log"), errors="replace").read()
    except OSError:
        return ""


def send_one(d, name, text):
    st, rec = d.req("POST", "/message/sendText/" + name, {"number": "5511988887777", "text": text}, key=ADMIN)
    check(st == 201, "sendText %s (%s)" % (text, st))
    return rec["key"]["id"] if st == 201 else None


def paired(d, name, url, **wh):
    webhook = {"url": url, "enabled": True, "events": ["SEND_MESSAGE"]}
    webhook.update(wh)
    st, body = create(d, name, qrcode=True, webhook=webhook)
    check(st == 201, "create %s with webhook %s (%s %s)" % (name, url, st, body))
    check(wait_open(d, name), "%s open (autopair)" % name)


# ---------------------------------------------------------------- redirect

CODES = [301, 302, 303, 307, 308]


def test_redirect():
    away = Sentinel()
    location = "http://127.0.0.1:%d/stolen" % away.port
    seen = []

    def redirector(h, body):
        code = CODES[len(seen) % len(CODES)]
        seen.append(code)
        answer(h, code, [("Location", location)])

    rx = Hook(redirector)
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback", "--webhook-initial-delay-ms", "100",
                     "--webhook-max-delay-ms", "200", "--webhook-max-attempts", str(len(CODES))],
               env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        paired(d, "rd", "http://127.0.0.1:%d/hook" % rx.port)
        send_one(d, "rd", "redirect me")
        done = wait_for(lambda: "gave up after %d attempts" % len(CODES) in log_text(d), timeout=20)
        check(done, "the event is given up after %d failed attempts" % len(CODES))
        time.sleep(0.5)
        hits = rx.snapshot()
        ids = {h["id"] for h in hits}
        check(len(hits) == len(CODES) and len(ids) == 1,
              "one event, %d attempts at the receiver (got %d, ids %s)" % (len(CODES), len(hits), ids))
        check(seen == CODES, "each of %s answered once (%s)" % (CODES, seen))
        check(away.accepts == 0, "no connection to the Location's server (%d)" % away.accepts)
        log = log_text(d)
        for code in CODES:
            check(re.search(r"attempt \d+ failed \(HTTP %d, redirect to %s not followed\)|"
                            r"gave up after \d+ attempts \(HTTP %d, redirect to %s not followed\)"
                            % (code, re.escape(location), code, re.escape(location)), log),
                  "HTTP %d logged as a failed attempt with its Location" % code)
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        rx.close()
        away.close()
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- ssrf

REFUSED_SPELLINGS = [
    "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0", "0x7f.1", "127.0.1", "[::1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:0:0:1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]",
    "localhost.", "LOCALHOST", "api.localhost.", "0x0a000001", "0300.0250.0.1", "[fe80::1]",
    "127.0.0.1.", "1.2.3.999", "0x08080808", "134744072", "host%2f@x", "a b",
]


def loopback_name():
    """A host name (not localhost or *.localhost, which wamd refuses by
    name) whose every address is loopback: the machine's own name, or
    another /etc/hosts entry."""
    cands = [socket.gethostname()]
    try:
        for line in open("/etc/hosts"):
            f = line.split("#", 1)[0].split()
            cands += f[1:]
    except OSError:
        pass
    for n in cands:
        low = n.lower().rstrip(".")
        if low == "localhost" or low.endswith(".localhost") or not re.match(r"^[a-z0-9._-]+$", low):
            continue
        try:
            addrs = {ai[4][0] for ai in socket.getaddrinfo(n, None, 0, socket.SOCK_STREAM)}
        except OSError:
            continue
        if addrs and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
            return n, sorted(addrs)
    return None, []


def test_ssrf():
    # the global webhook URL is checked at startup: a refusal is a clear error
    for url, why in [("http://127.1:9/g", "loopback addresses are refused"),
                     ("http://0x08080808/g", "write the address 0x08080808 as 8.8.8.8")]:
        d0 = Daemon(args=["--webhook-global-url", url])
        try:
            rc = d0.start(tcp=False, expect_fail=True)
        except subprocess.TimeoutExpired:
            rc = "still running"
            d0.stop()
        check(rc == 2 and "webhook_global_url" in log_text(d0) and why in log_text(d0),
              "wamd refuses to start with webhook_global_url %s (rc %s): %s" % (url, rc, log_text(d0)[-300:]))

    name, addrs = loopback_name()
    check(name is not None, "a host name resolving only to loopback exists here (/etc/hosts, own name)")
    away = Sentinel()
    d = Daemon(args=["--api-key", ADMIN, "--webhook-initial-delay-ms", "100", "--webhook-max-delay-ms", "200",
                     "--webhook-max-attempts", "3"], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        st, body = create(d, "ss", qrcode=True)
        check(st == 201 and wait_open(d, "ss"), "instance ss open")
        for host in REFUSED_SPELLINGS:
            url = "http://%s:%d/hook" % (host, away.port)
            for unix in (False, True):
                st, body = d.req("POST", "/webhook/set/ss", {"webhook": {"enabled": True, "url": url}}, key=ADMIN,
                                 unix=unix)
                check(st == 400, "webhook/set %s over %s -> 400 (%s %s)" % (url, "unix" if unix else "TCP", st,
                                                                             body))
        st, wf = d.req("GET", "/webhook/find/ss", key=ADMIN)
        check(st == 200 and wf is None, "no refused URL was stored (%s)" % wf)
        # a public address in canonical form, and a name, are accepted
        for url in ["http://8.8.8.8/h", "http://[2001:db8::1]:8080/h", "https://crm.example.com/h"]:
            st, body = d.req("POST", "/webhook/set/ss", {"webhook": {"enabled": True, "url": url,
                                                                     "events": ["LOGOUT_INSTANCE"]}}, key=ADMIN)
            check(st == 201, "webhook/set %s -> 201 (%s %s)" % (url, st, body))
        if name:
            url = "http://%s:%d/hook" % (name, away.port)
            st, body = d.req("POST", "/webhook/set/ss", {"webhook": {"enabled": True, "url": url,
                                                                     "events": ["SEND_MESSAGE"]}}, key=ADMIN)
            check(st == 201, "a name is accepted at set time: %s (%s %s)" % (url, st, body))
            send_one(d, "ss", "ssrf")
            pat = r"attempt [12] failed \(%s resolves to [0-9a-f.:]+: loopback addresses are refused|" \
                  r"gave up after 3 attempts \(%s resolves to" % (re.escape(name), re.escape(name))
            done = wait_for(lambda: "gave up after 3 attempts" in log_text(d), timeout=15)
            check(done and len(re.findall(pat, log_text(d))) == 3,
                  "each of 3 attempts is refused after the lookup (%r)" % pat)
            time.sleep(0.3)
            check(away.accepts == 0, "no TCP connection to %s:%d was ever made (%d)" % (name, away.port,
                                                                                     away.accepts))
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        away.close()
        if FAILS:
            d.dump_log()
    if not name:
        return
    # with loopback allowed, the same name is delivered to: connected to the
    # checked address, Host header still the name
    rx = Hook(lambda h, b: answer(h, 200, body=b"ok"), addr=addrs[0])
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback"], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        paired(d, "ok", "http://%s:%d/hook" % (name, rx.port))
        kid = send_one(d, "ok", "by name")
        got = wait_for(lambda: rx.snapshot(), timeout=10)
        check(got and json.loads(got[0]["body"])["data"]["key"]["id"] == kid
              and got[0]["host"].split(":")[0] == name,
              "delivered by name with loopback allowed, Host %s" % (got[0]["host"] if got else None))
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        rx.close()
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- timeout

def slow(seconds):
    def h(handler, body):
        time.sleep(seconds)
        answer(handler, 200, body=b"ok")
    return h


def test_timeout():
    # longer than lws' own 5 s: an 8 s receiver gets the event once
    rx = Hook(slow(8))
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback", "--webhook-timeout-ms", "12000",
                     "--webhook-initial-delay-ms", "100", "--webhook-max-delay-ms", "200"],
               env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        paired(d, "tl", "http://127.0.0.1:%d/hook" % rx.port)
        send_one(d, "tl", "slow receiver")
        t0 = time.time()
        done = wait_for(lambda: re.search(r"webhook \d+ delivered", log_text(d)), timeout=20)
        took = time.time() - t0
        time.sleep(1.5)  # a retry would come 100-200 ms after a failure
        hits = rx.snapshot()
        check(done and len(hits) == 1, "an 8 s receiver with webhook_timeout_ms=12000 gets the event exactly once "
                                       "(%d requests, delivered after %.1f s)" % (len(hits), took))
        check("timed out" not in log_text(d) and "attempt 1 failed" not in log_text(d), "no failed attempt")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        rx.close()
        if FAILS:
            d.dump_log()
    # shorter: each attempt ends at 1 s
    rx = Hook(slow(8))
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback", "--webhook-timeout-ms", "1000",
                     "--webhook-initial-delay-ms", "100", "--webhook-max-delay-ms", "100",
                     "--webhook-max-attempts", "3"], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        paired(d, "ts", "http://127.0.0.1:%d/hook" % rx.port)
        send_one(d, "ts", "too slow")
        wait_for(lambda: "gave up after 3 attempts" in log_text(d), timeout=20)
        hits = rx.snapshot()
        gaps = [b["t"] - a["t"] for a, b in zip(hits, hits[1:])]
        # attempt k+1 arrives timeout (1 s) + retry delay (100 ms +-20 %) after attempt k
        check(len(hits) == 3 and len({h["id"] for h in hits}) == 1 and all(0.9 <= g <= 1.7 for g in gaps),
              "3 attempts of one event, each cut at ~1 s (gaps %s)" % ["%.2f" % g for g in gaps])
        check(log_text(d).count("timed out after 1000 ms") == 3, "each attempt logged as timed out after 1000 ms")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        rx.close()
        if FAILS:
            d.dump_log()


def main():
    {"redirect": test_redirect, "ssrf": test_ssrf, "timeout": test_timeout}[sys.argv[1]]()
    for d in DIRS:
        shutil.rmtree(d, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

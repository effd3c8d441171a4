#!/usr/bin/env python3
"""Hostile HTTP clients against wamd's local API (suite e2e), each over TCP
and over the unix socket, with raw sockets and timeouts. After every input
another client's request must be answered, the daemon must not be burning
CPU, and at the end it must still stop on SIGTERM.

- pipelined: two requests in one packet, the second with a body (this froze
  wamd at 100% CPU inside lws), and other pipelined mixes: every request is
  answered in order or the connection is closed after an answer, never left
  hanging.
- framing: chunked bodies (411), Content-Length with Transfer-Encoding,
  differing duplicates, negative, non-digit, empty or huge lengths (400/413),
  each answered and then closed; POST without a length is answered and
  closed; a body split into 1-byte writes still works.
- malformed: request heads lws' parser could not end or would read its own
  way (a line without a colon, NUL, obs-fold, CR-only or bare-LF line
  endings, whitespace before a colon, a broken request line; a head over
  4 KiB or with over 64 header lines): each answered 400 (431 for the sizes)
  with connection: close within 1 s, also when the head is never finished.
  Valid heads at the limits still work, and so do heads whose last field
  name is a strict prefix of one lws knows ("Acc", "Hos", "X-A": lws alone
  never ended those); 100 connections holding half-sent heads do not delay
  another client.

usage: wamd_http_hostile.py pipelined|framing|malformed"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wamd_e2e import ADMIN, DIRS, FAILS, Daemon, check  # noqa: E402

TIMEOUT = 5.0


def connect(d, unix):
    if unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(d.sock)
    else:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=TIMEOUT)
    return s


def parse_responses(buf):
    """Complete responses in buf as [(status, headers, body)]."""
    out = []
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out
        lines = buf[:end].split(b"\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError):
            return out
        h = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            h[k.strip().lower().decode()] = v.strip().decode()
        n = int(h.get("content-length", "0"))
        if len(buf) < end + 4 + n:
            return out
        out.append((status, h, buf[end + 4:end + 4 + n]))
        buf = buf[end + 4 + n:]


def exchange(d, unix, pieces, pause=0.0, wait=TIMEOUT):
    """Sends pieces (pausing between them), then reads until the daemon
    closes or `wait` seconds pass. Returns (responses, closed)."""
    s = connect(d, unix)
    buf = b""
    closed = False
    try:
        for p in pieces:
            s.sendall(p)
            if pause:
                time.sleep(pause)
        end = time.time() + wait
        while time.time() < end:
            s.settimeout(max(0.05, end - time.time()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            buf += b
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    finally:
        s.close()
    return parse_responses(buf), closed


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def healthy(d, what):
    """Another client is answered on both transports; no CPU burnt while idle."""
    for unix in (False, True):
        r, _ = exchange(d, unix, [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], wait=TIMEOUT)
        check(r and r[0][0] == 200, "%s: another client answered over %s" % (what, "unix" if unix else "tcp"))
    # a spinning loop burns the whole window (the freeze this guards against
    # took 100% of a core); 20% allows for the answers above still settling
    c0 = cpu_seconds(d.proc.pid)
    time.sleep(0.5)
    used = cpu_seconds(d.proc.pid) - c0
    check(used < 0.1, "%s: daemon idle afterwards (%.2f CPU-s in 0.5 s)" % (what, used))


def transports():
    return ((False, "tcp"), (True, "unix"))


def head(method, path, extra=b"", key=True):
    h = b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path)
    if key:
        h += b"apikey: " + ADMIN.encode() + b"\r\n"
    return h + extra


def test_pipelined(d):
    get = head(b"GET", b"/") + b"\r\n"
    post = head(b"POST", b"/instance/create", b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n") + b"{}"
    cases = [
        # the 80-byte freeze: a GET, then a POST with a body, in one packet
        ("get+post", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"]),
        ("get+post(key)", [get + post]),
        ("post+post", [post + post]),
        ("post+get+post", [post + get + post]),
        ("get*3", [get * 3]),
        ("post+get split", [post + get[:10], get[10:]]),
        ("post+partial", [post + b"POST /x HTTP/1.1\r\nContent-Len"]),
        ("post+bigger body", [post + b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{\"a\":"]),
    ]
    for unix, tn in transports():
        for name, pieces in cases:
            what = "%s over %s" % (name, tn)
            r, closed = exchange(d, unix, pieces)
            check(len(r) >= 1, "%s: first request answered (%s)" % (what, [x[0] for x in r]))
            check(closed, "%s: connection closed after the answers, not left hanging" % what)
            if r:
                first = r[0][0]
                want = 200 if pieces[0].startswith(b"GET") else 400
                check(first == want, "%s: first answer is the first request's (%s)" % (what, first))
            healthy(d, what)


def test_framing(d):
    ck = b"Content-Type: application/json\r\n"
    body = b'{"instanceName":"fr1","integration":"WHATSAPP-BAILEYS"}'
    cases = [
        # (name, raw request, expected status)
        ("chunked", head(b"POST", b"/instance/create", ck + b"Transfer-Encoding: chunked\r\n\r\n")
         + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n", 411),
        ("chunked+length", head(b"POST", b"/instance/create", ck + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n"
                                % len(body)) + body, 400),
        ("length+te identity", head(b"POST", b"/instance/create", ck + b"Content-Length: %d\r\nTransfer-Encoding: identity\r\n\r\n"
                                    % len(body)) + body, 400),
        ("differing lengths", head(b"POST", b"/instance/create", ck + b"Content-Length: %d\r\nContent-Length: 5\r\n\r\n"
                                   % len(body)) + body, 400),
        ("length list", head(b"POST", b"/instance/create", ck + b"Content-Length: %d, 7\r\n\r\n" % len(body)) + body, 400),
        ("negative length", head(b"POST", b"/instance/create", ck + b"Content-Length: -1\r\n\r\n") + body, 400),
        ("garbage length", head(b"POST", b"/instance/create", ck + b"Content-Length: abc\r\n\r\n") + body, 400),
        ("hex length", head(b"POST", b"/instance/create", ck + b"Content-Length: 0x10\r\n\r\n") + body, 400),
        ("plus length", head(b"POST", b"/instance/create", ck + b"Content-Length: +%d\r\n\r\n" % len(body)) + body, 400),
        ("trailing junk", head(b"POST", b"/instance/create", ck + b"Content-Length: %dx\r\n\r\n" % len(body)) + body, 400),
        ("empty length", head(b"POST", b"/instance/create", ck + b"Content-Length:\r\n\r\n") + body, 400),
        ("31-char length", head(b"POST", b"/instance/create", ck + b"Content-Length: %031d\r\n\r\n" % len(body)) + body,
         400),
        ("overflow length", head(b"POST", b"/instance/create", ck + b"Content-Length: 99999999999999999999999\r\n\r\n")
         + body, 413),
        ("too large, sent", head(b"POST", b"/instance/create", ck + b"Content-Length: 1048577\r\n\r\n")
         + b"{" + b" " * 1048575 + b"}", 413),
        ("far too large", head(b"POST", b"/instance/create", ck + b"Content-Length: 9000000\r\n\r\n") + body, 413),
        ("GET chunked", head(b"GET", b"/instance/fetchInstances", b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 411),
    ]
    for unix, tn in transports():
        for name, raw, want in cases:
            what = "%s over %s" % (name, tn)
            r, closed = exchange(d, unix, [raw])
            check(len(r) == 1 and r[0][0] == want, "%s: answered %s (%s)" % (what, want, [x[0] for x in r]))
            check(closed, "%s: connection closed after the refusal" % what)
            if r:
                check(r[0][1].get("connection") == "close", "%s: says connection: close" % what)
            healthy(d, what)
        # identical duplicates agree: accepted; the instance is really created
        name = "dup%s" % tn
        b2 = b'{"instanceName":"%s","integration":"WHATSAPP-BAILEYS"}' % name.encode()
        r, closed = exchange(d, unix, [head(b"POST", b"/instance/create", ck + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n"
                                            % (len(b2), len(b2))) + b2])
        check(len(r) == 1 and r[0][0] == 201 and closed, "identical duplicate lengths accepted over %s (%s)"
              % (tn, [x[0] for x in r]))
        # POST without a length: no body; answered, then closed (lws would
        # otherwise wait for a body that never comes)
        r, closed = exchange(d, unix, [head(b"POST", b"/instance/create", b"\r\n")])
        check(len(r) == 1 and r[0][0] == 400 and closed, "POST without length answered and closed over %s (%s, %s)"
              % (tn, [x[0] for x in r], closed))
        # a valid body split into 1-byte writes
        name = "split%s" % tn
        b3 = b'{"instanceName":"%s","integration":"WHATSAPP-BAILEYS"}' % name.encode()
        raw = head(b"POST", b"/instance/create", ck + b"Content-Length: %d\r\n\r\n" % len(b3)) + b3
        r, closed = exchange(d, unix, [raw[i:i + 1] for i in range(len(raw))], pause=0.002)
        check(len(r) == 1 and r[0][0] == 201 and closed, "1-byte writes: created over %s (%s)" % (tn, [x[0] for x in r]))
        healthy(d, "framing over %s" % tn)


def test_malformed(d):
    g = b"GET /instance/fetchInstances HTTP/1.1\r\nHost: x\r\napikey: " + ADMIN.encode() + b"\r\n"
    cases = [
        # (name, raw request, expected status)
        ("no colon", g + b"NoColonHere\r\n\r\n", 400),
        ("no colon, then a header", g + b"NoColon\r\nX-A: b\r\n\r\n", 400),
        ("no colon, head unfinished", g + b"NoColon\r\n", 400),
        ("NUL in a value", g + b"X-A: a\x00b\r\n\r\n", 400),
        ("NUL in a name", g + b"X-\x00A: b\r\n\r\n", 400),
        ("NUL, head unfinished", g + b"X-A: a\x00", 400),
        ("obs-fold", g + b"X-A: a\r\n  folded\r\n\r\n", 400),
        ("obs-fold tab", g + b"X-A: a\r\n\tfolded\r\n\r\n", 400),
        ("blank before first header", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
        ("CR-only lines", b"GET / HTTP/1.1\rHost: x\r\r", 400),
        ("CR-only, head unfinished", b"GET / HTTP/1.1\rHost: x", 400),
        ("bare LF lines", b"GET / HTTP/1.1\nHost: x\n\n", 400),
        ("bare LF after CRLF lines", g + b"X-A: b\n\r\n", 400),
        ("space before colon", g + b"X-A : b\r\n\r\n", 400),
        ("empty name", g + b": b\r\n\r\n", 400),
        ("control byte in a value", g + b"X-A: a\x01b\r\n\r\n", 400),
        ("DEL in a value", g + b"X-A: a\x7fb\r\n\r\n", 400),
        ("request line without version", b"GET /\r\nHost: x\r\n\r\n", 400),
        ("request line double space", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("request line HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400),
        ("empty first line", b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("over-long header line", g + b"X-A: " + b"a" * 5000 + b"\r\n\r\n", 431),
        ("over-long, never ended", g + b"X-A: " + b"a" * 5000, 431),
        ("65 header lines", b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 65 + b"\r\n", 431),
    ]
    for unix, tn in transports():
        for name, raw, want in cases:
            what = "%s over %s" % (name, tn)
            t0 = time.time()
            r, closed = exchange(d, unix, [raw], wait=1.0)
            took = time.time() - t0
            check(len(r) == 1 and r[0][0] == want, "%s: answered %s within 1 s (%s)" % (what, want, [x[0] for x in r]))
            check(closed and took < 1.0, "%s: connection closed after the answer (%.2f s)" % (what, took))
            if r:
                check(r[0][1].get("connection") == "close", "%s: says connection: close" % what)
                check(b'"status":%d' % want in r[0][2], "%s: Evolution's error envelope (%r)" % (what, r[0][2][:80]))
        healthy(d, "malformed heads over %s" % tn)
        # valid heads at the limits: 64 header lines; a 4 KiB head; obs-text in a value; 1-byte writes
        pad = 4096 - len(g) - len(b"X-Pad: \r\n\r\n")
        valid = [
            ("64 header lines", g + b"X-A: b\r\n" * 62 + b"\r\n"),
            ("4 KiB head", g + b"X-Pad: " + b"p" * pad + b"\r\n\r\n"),
            ("obs-text value", g + "X-Name: Ã§Ã£o ✓".encode() + b"\r\n\r\n"),
            ("tab in a value", g + b"X-Q: a\tb \r\n\r\n"),
            # lws 4.1.6 alone never ends a head whose last name is a strict
            # prefix of one it knows (no answer, ever)
            ("last name 'Acc'", g + b"Acc: x\r\n\r\n"),
            ("last name 'Hos'", g + b"Hos: x\r\n\r\n"),
            ("last name 'X-A'", g + b"Foo: c\r\nX-A: b\r\n\r\n"),
        ]
        for name, raw in valid:
            r, closed = exchange(d, unix, [raw], wait=TIMEOUT)
            check(len(r) == 1 and r[0][0] == 200 and closed, "%s over %s: 200 (%s)" % (name, tn, [x[0] for x in r]))
        raw = valid[0][1]
        r, closed = exchange(d, unix, [raw[i:i + 1] for i in range(len(raw))], pause=0.0005)
        check(len(r) == 1 and r[0][0] == 200 and closed, "1-byte writes of a head over %s: 200 (%s)"
              % (tn, [x[0] for x in r]))
        # 100 connections holding half-sent heads: another client is answered at once
        held = []
        for i in range(100):
            s = connect(d, unix)
            s.sendall(g[:20 + i % 20])
            held.append(s)
        t0 = time.time()
        r, _ = exchange(d, unix, [g + b"\r\n"], wait=TIMEOUT)
        took = time.time() - t0
        check(r and r[0][0] == 200 and took < 1.0, "100 half-open heads over %s: another client answered in %.2f s"
              % (tn, took))
        for s in held:
            s.close()
        healthy(d, "half-open heads over %s" % tn)
    # lws picks a vhost by Host header among those of a port: whatever the
    # Host, a TCP client is never the (trusted) unix socket's
    for host in (b"unix", b"api", b"localhost", b"tcp"):
        r, _ = exchange(d, False, [b"GET /instance/fetchInstances HTTP/1.1\r\nHost: %s\r\n\r\n" % host])
        check(r and r[0][0] == 401, "no key over tcp with Host: %s -> 401 (%s)" % (host.decode(), [x[0] for x in r]))
    r, _ = exchange(d, True, [b"GET /instance/fetchInstances HTTP/1.1\r\nHost: x\r\n\r\n"])
    check(r and r[0][0] == 200, "no key over the trusted unix socket -> 200 (%s)" % [x[0] for x in r])


def main():
    which = sys.argv[1]
    d = Daemon(args=["--api-key", ADMIN])
    d.start()
    try:
        {"pipelined": test_pipelined, "framing": test_framing, "malformed": test_malformed}[which](d)
    finally:
        t0 = time.time()
        rc = d.stop()
        check(rc == 0 and time.time() - t0 < 10, "daemon stops on SIGTERM (rc %s after %.1f s)" % (rc, time.time() - t0))
        if FAILS:
            d.dump_log()
    for x in DIRS:
        import shutil
        shutil.rmtree(x, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

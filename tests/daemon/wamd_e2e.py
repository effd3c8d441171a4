#!/usr/bin/env python3
"""wamd end-to-end tests (suite e2e). Each test starts its own daemon on a
private data folder (unix socket; TCP on 127.0.0.1 with an OS-chosen free
port), drives it over HTTP and checks the answers, the webhooks a local
receiver gets and the /ws/events stream. The session engine is the
TEST-ONLY fake linked into wamd_fakesession (tests/daemon/fake_session.c).

usage: wamd_e2e.py api|webhooks|restart|wamctl|proxy|authz"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import re
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time

ADMIN = "e2e-admin-key-5f1c9a7b3d"
FAILS = []
DIRS = []


def record(method, path, status, body):
    """With WAMD_E2E_RECORD=FILE, every JSON answer is appended to FILE (one
    JSON line: method, path, status, body) for the OpenAPI contract test."""
    out = os.environ.get("WAMD_E2E_RECORD")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"method": method, "path": path, "status": status, "body": body}) + "\n")


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=15)
        self.path_ = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(self.path_)
        self.sock = s


class Daemon:
    def __init__(self, binary=None, args=(), env=None, data=None):
        self.data = data or tempfile.mkdtemp(prefix="wamd-e2e-")
        DIRS.append(self.data)
        self.sock = os.path.join(self.data, "wamd.sock")
        self.port = None
        self.binary = binary or os.environ["WAMD_FAKE_BIN"]
        self.args = list(args)
        self.env = dict(os.environ)
        self.env["WAMD_FAKE_DIR"] = self.data
        self.env.update(env or {})
        self.proc = None

    def start(self, tcp=True, expect_fail=False):
        args = [self.binary, "--data", self.data, "--log-level", "debug"] + self.args
        if tcp:
            self.port = self.port or free_port()
            args += ["--listen", "127.0.0.1:%d" % self.port]
        self.log = open(os.path.join(self.data, "wamd.log"), "ab")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=self.log)
        if expect_fail:
            return self.proc.wait(timeout=10)
        for _ in range(200):
            if os.path.exists(self.sock) and (not tcp or self._tcp_up()):
                return 0
            if self.proc.poll() is not None:
                raise RuntimeError("wamd exited: %s" % self.proc.returncode)
            time.sleep(0.05)
        raise RuntimeError("wamd did not come up")

    def _tcp_up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def req(self, method, path, body=None, key=None, unix=False, raw=None):
        c = UnixConn(self.sock) if unix else http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        h = {"Content-Type": "application/json"}
        if key is not None:
            h["apikey"] = key
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        txt = r.read()
        c.close()
        try:
            parsed = json.loads(txt) if txt else None
        except ValueError:
            return r.status, txt
        record(method, path, r.status, parsed)
        return r.status, parsed

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.log.close()
            return rc
        return self.proc.returncode if self.proc else None

    def dump_log(self):
        try:
            sys.stderr.write(open(os.path.join(self.data, "wamd.log")).read()[-6000:])
        except OSError:
            pass


class Receiver:
    """Webhook receiver on 127.0.0.1; stop()/start() on the same port."""

    def __init__(self):
        self.port = free_port()
        self.events = []
        self.lock = threading.Lock()
        self.srv = None

    def start(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.events.append({"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def parsed(self):
        with self.lock:
            return [dict(e, json=json.loads(e["body"])) for e in self.events]


def wait_for(fn, timeout=10, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def ws_connect(port, path, key):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    k = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\napikey: %s\r\n\r\n" % (path, k, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head.split(b"\r\n")[0]


def ws_read(s, timeout=5):
    s.settimeout(timeout)
    try:
        b0, b1 = s.recv(1), s.recv(1)
        if not b0 or not b1:
            return None
        n = b1[0] & 0x7F
        if n == 126:
            n = struct.unpack(">H", s.recv(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", s.recv(8))[0]
        data = b""
        while len(data) < n:
            data += s.recv(n - len(data))
        return json.loads(data)
    except (socket.timeout, OSError):
        return None


def create(d, name, **extra):
    body = {"instanceName": name, "integration": "WHATSAPP-BAILEYS"}
    body.update(extra)
    return d.req("POST", "/instance/create", body, key=ADMIN)


def wait_open(d, name, key=ADMIN):
    return wait_for(lambda: d.req("GET", "/instance/connectionState/" + name, key=key)[1]
                    .get("instance", {}).get("state") == "open", timeout=10)


# ---------------------------------------------------------------- api

def test_api():
    # weak or empty key on TCP: refused at startup
    for bad in ([], ["--api-key", "changeme"]):
        d0 = Daemon(args=bad)
        rc = d0.start(expect_fail=True)
        check(rc == 2, "wamd refuses TCP with key %r (rc %s)" % (bad, rc))
    d = Daemon(args=["--api-key", ADMIN])
    d.start()
    try:
        mode = stat.S_IMODE(os.stat(d.sock).st_mode)
        check(mode == 0o660, "socket mode 0660, got %o" % mode)
        db_mode = stat.S_IMODE(os.stat(os.path.join(d.data, "wamd.db")).st_mode)
        check(db_mode & 0o077 == 0, "store file private, got %o" % db_mode)
        st, body = d.req("GET", "/")
        check(st == 200 and "Welcome" in body["message"] and body["version"].startswith("2.3.6"), "GET /")
        # no key / wrong key: 401 with Evolution's envelope (message is a string)
        st, body = d.req("POST", "/instance/create", {"instanceName": "x", "integration": "WHATSAPP-BAILEYS"})
        check(st == 401 and body == {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}},
              "no key -> 401 envelope: %s %s" % (st, body))
        st, _ = d.req("GET", "/instance/fetchInstances", key="wrong-key")
        check(st == 401, "wrong key -> 401")
        # unix socket is trusted (file mode guards it)
        st, body = d.req("GET", "/instance/fetchInstances", unix=True)
        check(st == 200 and body == [], "unix socket trusted, empty list")
        # create
        st, a = create(d, "alpha")
        check(st == 201 and isinstance(a["hash"], str) and a["instance"]["status"] == "close", "create alpha")
        st, b = create(d, "beta", token="BETA-7f3a9c2e51d84b06a1e5c9d2f8b47e3a")
        check(st == 201 and b["hash"] == "BETA-7f3a9c2e51d84b06a1e5c9d2f8b47e3a", "create beta with own token")
        st, body = create(d, "alpha")
        check(st == 403 and body["response"]["message"] == ['This name "alpha" is already in use.'], "dup name 403")
        st, body = d.req("POST", "/instance/create", {"integration": "WHATSAPP-BAILEYS"}, key=ADMIN)
        check(st == 400 and body["response"]["message"] == [['instance requires property "instanceName"']],
              "missing name 400 nested array")
        st, body = create(d, "gamma", integration="WHATSAPP-BUSINESS")
        check(st == 400 and body["response"]["message"] == ["Invalid integration"], "bad integration")
        ta = a["hash"]
        # the token only touches its own instance
        st, _ = d.req("GET", "/instance/connectionState/alpha", key=ta)
        check(st == 200, "token reads own instance")
        st, _ = d.req("GET", "/instance/connectionState/beta", key=ta)
        check(st == 401, "token cannot read another instance")
        st, _ = d.req("POST", "/message/sendText/beta", {"number": "5511988887777", "text": "x"}, key=ta)
        check(st == 401, "token cannot send on another instance")
        st, body = d.req("GET", "/instance/fetchInstances", key=ta)
        check(st == 200 and [i["name"] for i in body] == ["alpha"], "token lists only its instance")
        st, _ = d.req("POST", "/instance/create", {"instanceName": "z", "integration": "WHATSAPP-BAILEYS"}, key=ta)
        check(st == 401, "token cannot create")
        st, _ = d.req("GET", "/instance/connectionState/nope", key=ta)
        check(st == 401, "token on unknown instance -> 401")
        st, body = d.req("GET", "/instance/connectionState/nope", key=ADMIN)
        check(st == 404 and body["response"]["message"] == ['The "nope" instance does not exist'], "404 shape")
        # scoped tokens
        st, rt = d.req("POST", "/wamd/token/alpha", {"scopes": ["read"]}, key=ta)
        check(st == 201 and rt["scopes"] == ["read"], "read token created")
        st, wt = d.req("POST", "/wamd/token/alpha", {"scopes": ["write"]}, key=ADMIN)
        st2, _ = d.req("POST", "/wamd/token/alpha", {"scopes": ["manage"]}, key=rt["token"])
        check(st2 == 403, "read token cannot mint tokens")
        st, _ = d.req("GET", "/instance/connectionState/alpha", key=rt["token"])
        check(st == 200, "read scope reads")
        st, body = d.req("POST", "/message/sendText/alpha", {"number": "5511988887777", "text": "x"}, key=rt["token"])
        check(st == 403 and body["error"] == "Forbidden", "read scope cannot send")
        st, _ = d.req("GET", "/instance/connect/alpha", key=wt["token"])
        check(st == 403, "write scope cannot connect")
        st, _ = d.req("GET", "/instance/connectionState/alpha", key=wt["token"])
        check(st == 403, "write scope cannot read")
        st, sc = create(d, "scoped", tokenScopes=["read"])
        st, _ = d.req("DELETE", "/instance/delete/scoped", key=sc["hash"])
        check(st == 403, "create-time tokenScopes enforced")
        # connect: QR + PNG
        st, q = d.req("GET", "/instance/connect/alpha", key=ta)
        check(st == 200 and q.get("code", "").startswith("2@") and q.get("count", 0) >= 1, "connect gives QR %s" % q)
        png = base64.b64decode(q.get("base64", "data:image/png;base64,").split(",", 1)[1] or "")
        check(png[:8] == b"\x89PNG\r\n\x1a\n", "QR base64 is a PNG")
        # the older route answers as connect
        st, q2 = d.req("GET", "/instance/qrcode/alpha", key=ta)
        check(st == 200 and q2.get("code", "").startswith("2@") and "base64" in q2, "qrcode alias %s" % q2)
        st, s = d.req("GET", "/instance/connectionState/alpha", key=ta)
        check(s["instance"]["state"] == "connecting", "connecting while showing QR")
        check(set(s["instance"]) == {"instanceName", "state", "wamdReason"} and s["instance"]["wamdReason"] is None,
              "connectionState: Evolution's fields, wamdReason beside them %s" % s)
        # pairing code on beta
        st, q = d.req("GET", "/instance/connect/beta?number=5511977776666", key="BETA-7f3a9c2e51d84b06a1e5c9d2f8b47e3a")
        check(st == 200 and q.get("pairingCode") == "FAKECODE", "pairing code via ?number= %s" % q)
        check(wait_open(d, "beta"), "beta open after pairing code")
        st, body = d.req("GET", "/instance/fetchInstances?instanceName=beta", key=ADMIN)
        check(body[0]["ownerJid"] == "5511977776666@s.whatsapp.net" and body[0]["connectionStatus"] == "open",
              "fetchInstances shows owner")
        # send on a closed (unpaired) instance: 500 Connection Closed
        st, body = d.req("POST", "/message/sendText/alpha", {"number": "5511988887777", "text": "hi"}, key=ta)
        check(st == 500 and body["response"]["message"] == "Connection Closed", "send while closed")
        # send on beta
        tb = "BETA-7f3a9c2e51d84b06a1e5c9d2f8b47e3a"
        st, body = d.req("POST", "/message/sendText/beta", {"number": "+55 11 98888-7777", "text": "  "}, key=tb)
        check(st == 400 and body["response"]["message"] == ["Text is required"], "blank text")
        st, rec = d.req("POST", "/message/sendText/beta", {"number": "+55 11 98888-7777", "text": "Olá"}, key=tb)
        check(st == 201 and rec["key"]["remoteJid"] == "5511988887777@s.whatsapp.net" and rec["key"]["fromMe"]
              and rec["status"] == "PENDING" and rec["pushName"] == "Você" and rec["messageType"] == "conversation"
              and rec["message"] == {"conversation": "Olá"} and isinstance(rec["messageTimestamp"], int)
              and rec["source"] == "web", "sendText record %s" % rec)
        kid = rec["key"]["id"]
        ok = wait_for(lambda: d.req("POST", "/chat/findMessages/beta", {"where": {"key": {"id": kid}}}, key=tb)[1]
                      ["messages"]["records"][0]["status"] == "READ", timeout=5)
        check(ok, "findMessages shows READ after receipts")
        d.req("POST", "/message/sendText/beta", {"number": "5511988887777", "text": "echo pong"}, key=tb)
        ok = wait_for(lambda: d.req("POST", "/chat/findMessages/beta",
                                    {"where": {"key": {"remoteJid": "11223344@lid", "fromMe": False}}}, key=tb)[1]
                      ["messages"]["total"] == 1, timeout=5)
        check(ok, "incoming message findable by its LID")
        st, fm = d.req("POST", "/chat/findMessages/beta", {"where": {"key": {"remoteJid": "5511988887777"}},
                                                            "page": 1, "offset": 2}, key=tb)
        check(st == 200 and fm["messages"]["total"] == 3 and fm["messages"]["pages"] == 2
              and len(fm["messages"]["records"]) == 2, "findMessages paging %s" % fm)
        inc = fm["messages"]["records"][0]
        check(inc["key"]["fromMe"] is False and inc["key"]["remoteJidAlt"] == "11223344@lid"
              and inc["key"]["remoteJid"] == "5511988887777@s.whatsapp.net" and inc["pushName"] == "Echo Peer",
              "newest first; PN remoteJid with LID beside it")
        st, chats = d.req("POST", "/chat/findChats/beta", {}, key=tb)
        check(st == 200 and len(chats) == 1 and chats[0]["remoteJid"] == "5511988887777@s.whatsapp.net"
              and chats[0]["unreadCount"] == 1, "findChats %s" % chats)
        st, body = d.req("POST", "/chat/markMessageAsRead/beta",
                         {"readMessages": [{"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": False,
                                            "id": inc["key"]["id"]}]}, key=tb)
        check(st == 201 and body == {"message": "Read messages", "read": "success"}, "markMessageAsRead")
        st, nums = d.req("POST", "/chat/whatsappNumbers/beta", {"numbers": ["5511988887777", "5511900000000"]},
                         key=tb)
        check(st == 200 and [n["exists"] for n in nums] == [True, False] and nums[0]["lid"] == "11223344@lid",
              "whatsappNumbers %s" % nums)
        # presence: both body forms
        st, _ = d.req("POST", "/chat/sendPresence/beta", {"number": "5511988887777", "presence": "composing",
                                                          "delay": 1000}, key=tb)
        st2, _ = d.req("POST", "/chat/sendPresence/beta", {"number": "5511988887777",
                                                           "options": {"presence": "paused", "delay": 10}}, key=tb)
        check(st == 201 and st2 == 201, "sendPresence top-level and options forms")
        # webhook set: nested, flat, snake; loopback refused by default
        st, body = d.req("POST", "/webhook/set/beta", {"webhook": {"enabled": True, "url": "http://127.0.0.1:9/h"}},
                         key=tb)
        check(st == 400, "loopback webhook refused by default")
        st, body = d.req("POST", "/webhook/set/beta", {"webhook": {"enabled": True, "url": "http://10.0.0.1/h"}},
                         key=tb)
        check(st == 400, "private webhook refused by default")
        st, w1 = d.req("POST", "/webhook/set/beta", {"webhook": {"enabled": True, "url": "https://crm.example.com/h",
                                                                 "byEvents": True, "events": ["MESSAGES_UPSERT",
                                                                                              "NEW_JWT_TOKEN"]}},
                       key=tb)
        check(st == 201 and w1["webhookByEvents"] and w1["events"] == ["MESSAGES_UPSERT"] and w1["secret"],
              "nested webhook/set %s" % w1)
        st, w2 = d.req("POST", "/webhook/set/beta", {"enabled": True, "url": "https://crm.example.com/f",
                                                     "webhookByEvents": False, "events": []}, key=tb)
        check(st == 201 and w2["url"].endswith("/f") and not w2["webhookByEvents"] and w2["secret"] == w1["secret"],
              "flat webhook/set keeps the secret")
        st, w3 = d.req("POST", "/webhook/set/beta", {"url": "https://crm.example.com/s", "webhook_by_events": True},
                       key=tb)
        check(st == 201 and w3["webhookByEvents"], "snake_case webhook/set")
        st, wf = d.req("GET", "/webhook/find/beta", key=tb)
        check(st == 200 and wf["url"] == "https://crm.example.com/s", "webhook/find")
        st, wf = d.req("GET", "/webhook/find/alpha", key=ta)
        check(st == 200 and wf is None, "webhook/find null when unset")
        # restart: both verbs
        st, body = d.req("POST", "/instance/restart/beta", key=tb)
        st2, body2 = d.req("PUT", "/instance/restart/beta", key=tb)
        check(st == 200 and st2 == 200 and "instance" in body2, "restart POST and PUT")
        check(wait_open(d, "beta"), "beta open after restart")
        # body limit
        st, _ = d.req("POST", "/message/sendText/beta", raw=b"{" + b" " * (1024 * 1024 + 10) + b"}", key=tb)
        check(st == 413, "body over 1 MiB -> 413")
        st, body = d.req("GET", "/nope/x", key=ADMIN)
        check(st == 404 and body["response"]["message"][0] == "Cannot GET /nope/x", "unknown route")
        # an older integration's near miss: Evolution's envelope, the closest route named
        st, body = d.req("GET", "/instance/conect/beta", key=ADMIN)
        check(st == 404 and body["response"]["message"][0] == "Cannot GET /instance/conect/beta"
              and "GET /instance/connect/{instance}" in body["response"]["message"][1], "closest route %r" % (body,))
        # /docs lists the routes, with no key (as Evolution's Swagger page)
        st, body = d.req("GET", "/docs", key=None)
        paths = [r["path"] for r in body["routes"]] if st == 200 else []
        check(st == 200 and "/instance/qrcode/{instance}" in paths and "/message/sendText/{instance}" in paths,
              "/docs lists the routes")
        # websocket stream, filtered by instance
        s, status = ws_connect(d.port, "/ws/events?instance=beta", tb)
        check(b"101" in status, "ws upgrade %r" % status)
        s2, status2 = ws_connect(d.port, "/ws/events?instance=beta", ta)
        check(b"101" not in status2, "ws refuses another instance's token")
        s2.close()
        d.req("POST", "/message/sendText/beta", {"number": "5511988887777", "text": "ws"}, key=tb)
        ev = ws_read(s)
        check(ev is not None and ev["event"] == "send.message" and ev["instance"] == "beta", "ws event %s" % ev)
        s.close()
        # logout / delete
        st, body = d.req("DELETE", "/instance/logout/alpha", key=ta)
        check(st == 400 or st == 200, "logout alpha (connecting)")
        st, body = d.req("DELETE", "/instance/logout/beta", key=tb)
        check(st == 200 and body["response"]["message"] == "Instance logged out", "logout beta")
        st, body = d.req("DELETE", "/instance/logout/beta", key=tb)
        check(st == 400 and body["response"]["message"] == ['The "beta" instance is not connected'],
              "logout when closed -> 400")
        st, body = d.req("DELETE", "/instance/delete/beta", key=tb)
        check(st == 200 and body["response"]["message"] == "Instance deleted", "delete")
        st, _ = d.req("GET", "/instance/connectionState/beta", key=ADMIN)
        check(st == 404, "deleted instance gone")
        # SIGHUP re-reads <data>/wamd.conf: loopback webhooks become allowed
        st, _ = d.req("POST", "/webhook/set/alpha", {"url": "http://127.0.0.1:9/h"}, key=ta)
        check(st == 400, "loopback refused before reload")
        with open(os.path.join(d.data, "wamd.conf"), "w") as f:
            f.write("webhook_allow_loopback = true\n")
        d.proc.send_signal(signal.SIGHUP)
        ok = wait_for(lambda: d.req("POST", "/webhook/set/alpha", {"url": "http://127.0.0.1:9/h"}, key=ta)[0] == 201,
                      timeout=5)
        check(ok, "SIGHUP reloaded the webhook policy")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit on SIGTERM (rc %s; sanitizers quiet)" % rc)
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- webhooks

def verify_sig(e, secret):
    sig = e["headers"].get("x-wamd-signature")
    if not sig:
        return False
    parts = dict(p.split("=", 1) for p in sig.split(","))
    mac = hmac.new(secret.encode(), (parts["t"] + ".").encode() + e["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


def test_webhooks():
    rx = Receiver()
    rx.start()
    glob = Receiver()
    glob.start()
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback", "--webhook-initial-delay-ms", "100",
                     "--webhook-max-delay-ms", "400", "--webhook-global-url", "http://127.0.0.1:%d/g" % glob.port,
                     "--webhook-global-events", "CONNECTION_UPDATE", "--webhook-global-secret", "gsecret"],
               env={"WAMD_FAKE_AUTOPAIR_MS": "150"})
    d.start()
    try:
        st, a = create(d, "wh1", qrcode=True, webhook={"url": rx.url(), "enabled": True, "secret": "s3cret",
                                                       "headers": {"x-tenant": "42"},
                                                       "events": ["QRCODE_UPDATED", "CONNECTION_UPDATE",
                                                                  "SEND_MESSAGE", "MESSAGES_UPDATE",
                                                                  "MESSAGES_UPSERT"]})
        check(st == 201 and a.get("qrcode", {}).get("code", "").startswith("2@"), "create with qrcode:true")
        check(wait_open(d, "wh1"), "wh1 open (autopair)")
        st, b = create(d, "wh2", webhook={"url": rx.url(), "byEvents": True, "events": ["INSTANCE_CREATE",
                                                                                         "QRCODE_UPDATED"]})
        d.req("GET", "/instance/connect/wh2", key=ADMIN)
        ids = []
        for i in range(5):
            st, rec = d.req("POST", "/message/sendText/wh1", {"number": "5511988887777", "text": "m%d" % i}, key=ADMIN)
            ids.append(rec["key"]["id"])
        wait_for(lambda: len([e for e in rx.parsed() if e["json"]["event"] == "messages.update"]) >= 15, 10)
        rx.stop()  # receiver down
        time.sleep(0.3)
        for i in range(5, 10):
            st, rec = d.req("POST", "/message/sendText/wh1", {"number": "5511988887777", "text": "m%d" % i}, key=ADMIN)
            ids.append(rec["key"]["id"])
        d.req("POST", "/message/sendText/wh1", {"number": "5511988887777", "text": "echo back"}, key=ADMIN)
        time.sleep(2.5)  # several failed attempts with backoff
        rx.start()  # receiver back
        want = 11 * 4 + 1  # each send: SEND_MESSAGE + 3 updates; plus the echo's upsert
        got = wait_for(lambda: len([e for e in rx.parsed() if e["path"] == "/hook"
                                    and e["json"]["event"] in ("send.message", "messages.update",
                                                               "messages.upsert")]) >= want, 20)
        evs = [e for e in rx.parsed() if e["path"] == "/hook" and e["json"]["instance"] == "wh1"]
        msg_evs = [e for e in evs if e["json"]["event"] in ("send.message", "messages.update", "messages.upsert")]
        check(got and len(msg_evs) == want, "all %d message events delivered after outage, got %d" % (want,
                                                                                                   len(msg_evs)))
        # per instance order: event ids strictly increasing, and per message SEND then SERVER_ACK..READ
        eids = [int(e["headers"]["x-wamd-event-id"]) for e in evs]
        check(eids == sorted(eids) and len(set(eids)) == len(eids), "in order, no duplicates %s" % eids)
        seq = {}
        for e in msg_evs:
            j = e["json"]
            if j["event"] == "send.message":
                seq.setdefault(j["data"]["key"]["id"], []).append("SEND")
            elif j["event"] == "messages.update":
                seq.setdefault(j["data"]["keyId"], []).append(j["data"]["status"])
        check(all(seq.get(i) == ["SEND", "SERVER_ACK", "DELIVERY_ACK", "READ"] for i in ids),
              "per message: SEND_MESSAGE then SERVER_ACK, DELIVERY_ACK, READ")
        check(all(verify_sig(e, "s3cret") for e in evs), "every delivery carries a valid HMAC signature")
        check(all(e["headers"].get("x-tenant") == "42" for e in evs), "custom headers sent")
        ups = [e["json"] for e in msg_evs if e["json"]["event"] == "messages.upsert"]
        check(ups and ups[0]["data"]["key"]["remoteJid"] == "5511988887777@s.whatsapp.net"
              and ups[0]["data"]["key"]["previousRemoteJid"] == "11223344@lid"
              and ups[0]["data"]["message"]["conversation"] == "back", "MESSAGES_UPSERT PN+LID (2.3.4 form)")
        env = evs[0]["json"]
        check(set(env) >= {"event", "instance", "data", "destination", "date_time", "server_url", "apikey"}
              and env["apikey"] is None and env["date_time"].endswith("Z"), "envelope fields, no token")
        conn = [e["json"]["data"]["state"] for e in evs if e["json"]["event"] == "connection.update"]
        check(conn[-1:] == ["open"], "CONNECTION_UPDATE open %s" % conn)
        qr = [e for e in evs if e["json"]["event"] == "qrcode.updated"]
        check(qr and qr[0]["json"]["data"]["qrcode"]["base64"].startswith("data:image/png;base64,"),
              "QRCODE_UPDATED with PNG")
        # byEvents suffixes on wh2
        paths = {e["path"] for e in rx.parsed() if e["json"]["instance"] == "wh2"}
        check("/hook/qrcode-updated" in paths, "byEvents suffix %s" % paths)
        # global webhook: only subscribed events, signed with its own secret
        gev = glob.parsed()
        check(gev and all(e["json"]["event"] == "connection.update" for e in gev)
              and all(e["path"] == "/g" for e in gev) and all(verify_sig(e, "gsecret") for e in gev),
              "global webhook filtered and signed")
        # a message given up: ERROR with libwa's error and reason in wamdError;
        # the other updates carry no wamdError
        check(all("wamdError" not in e["json"]["data"] for e in msg_evs if e["json"]["event"] == "messages.update"),
              "no wamdError on SERVER_ACK/DELIVERY_ACK/READ")
        st, rec = d.req("POST", "/message/sendText/wh1", {"number": "5511988881234", "text": "fail please"}, key=ADMIN)
        fid = rec["key"]["id"]
        err = wait_for(lambda: [e["json"]["data"] for e in rx.parsed() if e["json"]["event"] == "messages.update"
                                and e["json"]["data"]["keyId"] == fid], 10)
        check(err and err[0]["status"] == "ERROR"
              and err[0].get("wamdError") == {"error": "WA_ENOTFOUND", "reason": "not on WhatsApp"}
              and err[0]["remoteJid"] == "5511988881234@s.whatsapp.net" and err[0]["messageId"] == fid
              and err[0]["fromMe"] is True, "MESSAGES_UPDATE ERROR carries wamdError %s" % (err[:1],))
    finally:
        rx.stop()
        glob.stop()
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- restart

def test_restart():
    rx = Receiver()  # not started yet: receiver down
    d = Daemon(args=["--api-key", ADMIN, "--webhook-allow-loopback", "--webhook-initial-delay-ms", "100",
                     "--webhook-max-delay-ms", "300"], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        create(d, "r1", qrcode=True, webhook={"url": rx.url(), "events": ["SEND_MESSAGE", "MESSAGES_UPDATE",
                                                                          "CONNECTION_UPDATE"]})
        check(wait_open(d, "r1"), "r1 open")
        ids = []
        for i in range(6):
            st, rec = d.req("POST", "/message/sendText/r1", {"number": "5511988887777", "text": "k%d" % i}, key=ADMIN)
            ids.append(rec["key"]["id"])
        time.sleep(0.5)
        d.stop(signal.SIGKILL)  # crash with everything still queued
        rx.start()
        d.start()
        check(wait_open(d, "r1"), "instance back and open after restart")
        want_ids = set(ids)
        got = wait_for(lambda: {e["json"]["data"]["keyId"] for e in rx.parsed()
                                if e["json"]["event"] == "messages.update" and e["json"]["data"]["status"] == "READ"}
                       >= want_ids, 15)
        check(got, "every READ update queued before the kill is delivered after restart")
        sends = [e["json"]["data"]["key"]["id"] for e in rx.parsed() if e["json"]["event"] == "send.message"]
        check(sends == ids, "SEND_MESSAGE events complete and in order after restart")
        eids = [int(e["headers"]["x-wamd-event-id"]) for e in rx.parsed()]
        check(eids == sorted(eids), "order kept across the restart")
        st, body = d.req("GET", "/instance/fetchInstances", key=ADMIN)
        check([i["name"] for i in body] == ["r1"], "instance persisted")
    finally:
        rx.stop()
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- wamctl

def test_wamctl():
    ctl = os.environ["WAMCTL_BIN"]
    d = Daemon(env={"WAMD_FAKE_AUTOPAIR_MS": "600"})

    def run(*args, timeout=20):
        p = subprocess.run([ctl, "--socket", d.sock] + list(args), capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    rc, out, err = run("instance", "list")
    check(rc != 0 and "not running" in err, "clear error without daemon: %r" % err)
    d.start(tcp=False)
    try:
        rc, out, err = run("instance", "create", "c1")
        check(rc == 0 and "c1" in out, "wamctl instance create %r %r" % (out, err))
        rc, out, err = run("instance", "list")
        check(rc == 0 and "c1" in out, "wamctl instance list")
        png = os.path.join(d.data, "qr.png")
        rc, out, err = run("qr", "c1", "--png", png)
        check(rc == 0 and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "wamctl qr --png %r" % err)
        rc, out, err = run("pair", "c1")
        check(rc == 0 and "connected" in out, "wamctl pair returns when connected %r" % err)
        rc, out, err = run("send", "c1", "5511988887777", "hello")
        check(rc == 0 and "3EB0" in out, "wamctl send %r %r" % (out, err))
        p = subprocess.Popen([ctl, "--socket", d.sock, "events", "c1"], stdout=subprocess.PIPE)
        time.sleep(0.3)
        run("send", "c1", "5511988887777", "again")
        lines = [p.stdout.readline() for _ in range(4)]
        p.kill()
        p.wait()
        check(any(b'"event":"send.message"' in ln for ln in lines), "wamctl events streams %r" % lines)
        rc, out, err = run("instance", "logout", "c1")
        check(rc == 0, "wamctl instance logout")
        rc, out, err = run("instance", "delete", "c1")
        check(rc == 0, "wamctl instance delete")
        rc, out, err = run("instance", "list")
        check("c1" not in out, "deleted")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()
    # wamctl pair on a terminal redraws a rotated QR in place (cursor up, clear
    # below) and counts down its validity; piped, it prints each code once
    import pty
    d = Daemon(env={"WAMD_FAKE_AUTOPAIR_MS": "2500"})
    d.start(tcp=False)
    try:
        run("instance", "create", "t1")
        run("instance", "create", "t2")
        master, slave = pty.openpty()
        p = subprocess.Popen([ctl, "--socket", d.sock, "pair", "t1"], stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        out = b""
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:
                break
            if not b:
                break
            out += b
        rc = p.wait(timeout=20)
        os.close(master)
        check(rc == 0 and b"connected" in out, "wamctl pair on a tty returns when connected")
        check(re.search(rb"\x1b\[\d+A\x1b\[J", out) is not None, "a rotated QR is drawn over the old one")
        check(b"this code is valid for" in out, "the validity is shown")
        check(out.count(b"Scan with WhatsApp") >= 2, "more than one code shown")
        # Evolution's QRCODE_LIMIT (its own variable name): after 2 codes the
        # unpaired instance stops instead of showing more; connect starts over
        d2 = Daemon(env={"WAMD_FAKE_AUTOPAIR_MS": "60000", "QRCODE_LIMIT": "2"})
        d2.start(tcp=False)
        try:
            d2.req("POST", "/instance/create", {"instanceName": "q1"}, unix=True)
            st, q = d2.req("GET", "/instance/connect/q1", unix=True)
            check(st == 200 and q.get("count") == 1, "first code %s" % q)
            time.sleep(2.0)  # codes every 0.4 s: the third would be due by now
            st, s2 = d2.req("GET", "/instance/connectionState/q1", unix=True)
            check(s2["instance"]["state"] == "close", "stopped after QRCODE_LIMIT codes %s" % s2)
            st, q = d2.req("GET", "/instance/connect/q1", unix=True)
            check(st == 200 and q.get("count") == 1 and q.get("code"), "connect starts over %s" % q)
            check("QR code limit (2) reached" in open(os.path.join(d2.data, "wamd.log")).read(), "the log says why")
        finally:
            check(d2.stop() == 0, "clean exit")
        rc, out2, err = run("pair", "t2")
        check(rc == 0 and re.search(r"\x1b\[\d+A", out2) is None and out2.count("Scan with WhatsApp") >= 2 and "valid for" in out2,
              "piped: each code printed once, with its validity, no cursor movement %r" % out2[-300:])
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()


# ---------------------------------------------------------------- proxy (P)

PROXY_PASS = "s3cr:t@x"


def fake_proxies(d):
    """What the fake session engine was last given, per instance (password masked)."""
    out = {}
    for f in os.listdir(d.data):
        if f.startswith("proxy-"):
            out[f] = open(os.path.join(d.data, f)).read().strip()
    return out


def test_proxy():
    key_hex = "11" * 32
    env = {"WAMD_MASTER_KEY": key_hex, "WAMD_FAKE_AUTOPAIR_MS": "100"}
    d = Daemon(args=["--api-key", ADMIN], env=env)
    d.start()
    try:
        good = {"proxyHost": "127.0.0.1", "proxyPort": "3128", "proxyProtocol": "http",
                "proxyUsername": "bob", "proxyPassword": PROXY_PASS}
        bad_cases = [
            ("protocol ftp", dict(good, proxyProtocol="ftp"), "protocol must be"),
            ("port 0", dict(good, proxyPort="0"), "port"),
            ("port 70000", dict(good, proxyPort=70000), "port"),
            ("port abc", dict(good, proxyPort="80a"), "port"),
            ("missing port", {k: v for k, v in good.items() if k != "proxyPort"}, "port"),
            ("host with a space", dict(good, proxyHost="a b"), "host"),
            ("IPv6 host", dict(good, proxyHost="::1"), "host"),
            ("https", dict(good, proxyProtocol="https"), "use http, socks5 or socks4"),
            ("socks4 with a password", dict(good, proxyProtocol="socks4"), "no password"),
            ("password without user", dict(good, proxyUsername=""), "needs a username"),
            ("':' in user", dict(good, proxyUsername="a:b"), "':'"),
            ("credentials over 90 bytes", dict(good, proxyUsername="u" * 50, proxyPassword="p" * 50), "90 bytes"),
            ("control byte in password", dict(good, proxyPassword="a\r\nb"), "printable"),
        ]
        for i, (what, extra, reason) in enumerate(bad_cases):
            st, body = create(d, "bad%d" % i, **extra)
            msg = body.get("response", {}).get("message", []) if isinstance(body, dict) else []
            check(st == 400 and body.get("error") == "Bad Request" and msg[:1] == ["Invalid proxy"]
                  and reason in (msg[1] if len(msg) > 1 else ""),
                  "create with %s -> 400 Invalid proxy (%s %r)" % (what, st, body))
        st, body = d.req("GET", "/instance/fetchInstances", key=ADMIN)
        check(body == [], "no instance created by a refused proxy (%r)" % body)

        st, body = create(d, "s1", **dict(good, proxyProtocol="socks5", proxyPort=1080))
        check(st == 201, "create with a socks5 proxy (%s %r)" % (st, body))
        st, px = d.req("GET", "/proxy/find/s1", key=ADMIN)
        check(px.get("protocol") == "socks5" and px.get("port") == "1080", "socks5 proxy stored %r" % px)
        st, body = d.req("DELETE", "/instance/delete/s1", key=ADMIN)
        check(st == 200, "s1 deleted")
        st, body = create(d, "s4", qrcode=True, **dict(good, proxyProtocol="socks4", proxyPassword=""))
        check(st == 201, "create with a socks4 proxy and a user id (%s %r)" % (st, body))
        check(wait_for(lambda: "socks4://bob:@127.0.0.1:3128" in fake_proxies(d).values()),
              "the session got socks4://bob:@127.0.0.1:3128 (%r)" % fake_proxies(d))
        st, body = d.req("DELETE", "/instance/delete/s4", key=ADMIN)
        check(st == 200, "s4 deleted")

        st, body = create(d, "p1", qrcode=True, **good)
        check(st == 201, "create with an http proxy (%s %r)" % (st, body))
        check(wait_for(lambda: "http://bob:***@127.0.0.1:3128" in fake_proxies(d).values()),
              "the session got http://bob:<pw>@127.0.0.1:3128 (%r)" % fake_proxies(d))
        check(wait_open(d, "p1"), "p1 open")
        st, px = d.req("GET", "/proxy/find/p1", key=ADMIN)
        check(st == 200 and px.get("enabled") is True and px.get("host") == "127.0.0.1" and px.get("port") == "3128"
              and px.get("protocol") == "http" and px.get("username") == "bob" and px.get("password") is None
              and px.get("instanceId"), "proxy/find: the proxy, password hidden (%r)" % px)
        st, body = d.req("GET", "/instance/fetchInstances?instanceName=p1", key=ADMIN)
        P = body[0].get("Proxy") or {}
        check(P.get("host") == "127.0.0.1" and P.get("password") is None, "fetchInstances Proxy, password hidden %r" % P)

        # find -> edit -> set keeps the hidden password; the session restarts with the new proxy
        px["port"] = 8080
        st, body = d.req("POST", "/proxy/set/p1", px, key=ADMIN)
        inner = (body or {}).get("proxy", {})
        check(st == 201 and inner.get("instanceName") == "p1" and inner.get("proxy", {}).get("port") == "8080"
              and inner.get("proxy", {}).get("password") is None, "proxy/set answers 201 (%s %r)" % (st, body))
        check(wait_for(lambda: "http://bob:***@127.0.0.1:8080" in fake_proxies(d).values()),
              "proxy/set restarted the session with the new proxy (%r)" % fake_proxies(d))
        check(wait_open(d, "p1"), "p1 open again after the proxy change")
        for what, b in [("protocol https", dict(px, protocol="https")), ("port -1", dict(px, port=-1)),
                        ("enabled not boolean", dict(px, enabled="yes"))]:
            st, body = d.req("POST", "/proxy/set/p1", b, key=ADMIN)
            check(st == 400, "proxy/set with %s -> 400 (%s %r)" % (what, st, body))
        st, body = d.req("POST", "/proxy/set/p1", {"host": "h"}, key=ADMIN)
        check(st == 400, "proxy/set without enabled -> 400")
        st, body = d.req("POST", "/proxy/set/nope", px, key=ADMIN)
        check(st == 404, "proxy/set on an unknown instance -> 404 (%s)" % st)
        st, tok = d.req("POST", "/wamd/token/p1", {"scopes": ["read"]}, key=ADMIN)
        st, body = d.req("GET", "/proxy/find/p1", key=tok["token"])
        check(st in (401, 403), "proxy/find needs the manage scope (%s)" % st)

        # nothing in clear on disk (master key) or in the log
        blobs = b""
        for root, _, files in os.walk(d.data):
            for f in files:
                fp = os.path.join(root, f)
                if stat.S_ISREG(os.stat(fp).st_mode):
                    blobs += open(fp, "rb").read()
        check(PROXY_PASS.encode() not in blobs and b"s3cr%3At%40x" not in blobs,
              "the proxy password is in no file of the data folder (sealed doc, log)")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
    # persistence across a restart; with expose_token the password is shown
    d2 = Daemon(args=["--api-key", ADMIN, "--expose-token"], env=env, data=d.data)
    d2.start()
    try:
        st, px = d2.req("GET", "/proxy/find/p1", key=ADMIN)
        check(st == 200 and px.get("port") == "8080" and px.get("username") == "bob" and px.get("password") == PROXY_PASS,
              "proxy persisted across a restart; expose_token shows the kept password (%r)" %
              {k: v for k, v in (px or {}).items() if k != "password"})
        check(wait_for(lambda: "http://bob:***@127.0.0.1:8080" in fake_proxies(d2).values()),
              "after the restart the session starts with the stored proxy")

        # wamctl proxy: show, set (password from the environment), refuse
        def ctl(*args, env=None):
            e = dict(os.environ)
            e.update(env or {})
            p = subprocess.run([os.environ["WAMCTL_BIN"], "--socket", d2.sock, "proxy"] + list(args),
                               capture_output=True, timeout=20, env=e)
            return p.returncode, p.stdout.decode(), p.stderr.decode()
        rc, out, err = ctl("p1")
        check(rc == 0 and out.strip() == "http://bob@127.0.0.1:8080", "wamctl proxy shows it %r %r" % (out, err))
        rc, out, err = ctl("p1", "socks5://alice@127.0.0.1:1080", env={"WAMD_PROXY_PASSWORD": "S0cks!pw"})
        st, px = d2.req("GET", "/proxy/find/p1", key=ADMIN)
        check(rc == 0 and px.get("protocol") == "socks5" and px.get("username") == "alice"
              and px.get("password") == "S0cks!pw", "wamctl proxy sets socks5, password from the env %r" % err)
        check(wait_for(lambda: "socks5://alice:***@127.0.0.1:1080" in fake_proxies(d2).values()),
              "wamctl proxy restarted the session with it")
        rc, out, err = ctl("p1", "ftp://h:1")
        check(rc == 1 and "Invalid proxy" in err, "wamctl proxy passes the 400 on %r" % err)
        st, body = d2.req("POST", "/proxy/set/p1", {"enabled": False}, key=ADMIN)
        check(st == 201 and body["proxy"]["proxy"]["enabled"] is False and body["proxy"]["proxy"]["host"] == "",
              "proxy/set enabled:false (%r)" % body)
        check(wait_for(lambda: not any("8080" in v for v in fake_proxies(d2).values())),
              "session restarted without a proxy")
        st, px = d2.req("GET", "/proxy/find/p1", key=ADMIN)
        check(px.get("enabled") is False, "disabled proxy stored")
    finally:
        rc = d2.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d2.dump_log()


# ---------------------------------------------------------------- authz

STRONG = "4f9c2a7e-b13d-4e58-9a06-c7d2e1f3b845"  # a caller-chosen token as strong as a generated one


def ws_frame(s, timeout=3):
    """One WebSocket frame: (opcode, payload bytes); ("eof", b"") when the
    connection ended; None on timeout."""
    s.settimeout(timeout)

    def need(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data
    try:
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", need(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", need(8))[0]
        return b0 & 0x0F, need(n)
    except EOFError:
        return "eof", b""
    except (socket.timeout, ConnectionResetError):
        return None


def ws_drain(s, timeout=3):
    """Frames until a close frame, EOF or a quiet timeout: (texts, close reason or None, ended)."""
    texts, reason = [], None
    while True:
        f = ws_frame(s, timeout)
        if f is None:
            return texts, reason, False
        op, payload = f
        if op == "eof":
            return texts, reason, True
        if op == 8:
            reason = payload[2:].decode(errors="replace") if len(payload) >= 2 else ""
            continue
        if op == 1:
            texts.append(payload)


def rss_kib(pid):
    for ln in open("/proc/%d/status" % pid):
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1])
    return 0


def test_authz():
    d = Daemon(args=["--api-key", ADMIN, "--expose-token", "--webhook-allow-loopback"],
               env={"WAMD_FAKE_AUTOPAIR_MS": "300"})
    rx_admin, rx_mgr = Receiver(), Receiver()
    rx_admin.start()
    rx_mgr.start()
    d.start()
    try:
        # -- names a path normaliser would change, or that no route can reach
        for bad in [".", "..", "a/b", "a\\b", "a%2e", "a?b", "a#b", " lead", "trail ", "in side", "tab\t",
                    "nl\n", "a+b", "x" * 128, ""]:
            st, body = create(d, bad)
            check(st == 400, "instance name %r refused (%s)" % (bad, st))
        st, body = d.req("GET", "/instance/fetchInstances", key=ADMIN)
        check(body == [], "no instance created by a refused name (%r)" % body)
        st, _ = create(d, "ok-Name_1.x@y")
        check(st == 201, "a name from the allowed set is created (%s)" % st)
        st, _ = d.req("DELETE", "/instance/delete/ok-Name_1.x@y", key=ADMIN)
        check(st == 200, "and deleted by its name (%s)" % st)

        # -- caller-chosen tokens: as strong as generated ones
        for bad_tok, why in [("short-token-123", "32"), ("a" * 40, "entropy"), ("ab" * 20, "entropy"),
                             ("0123456789abcdef0123456789abcdef ", "printable")]:
            st, body = create(d, "weak", token=bad_tok)
            msg = json.dumps(body)
            check(st == 400 and why in msg, "token %r refused with a clear message (%s %s)" % (bad_tok, st, msg))
        st, body = create(d, "strong", token=STRONG)
        check(st == 201 and body["hash"] == STRONG, "a strong caller-chosen token is accepted (%s)" % st)
        st, _ = d.req("GET", "/instance/connectionState/strong", key=STRONG)
        check(st == 200, "and it works")
        st, _ = d.req("DELETE", "/instance/delete/strong", key=ADMIN)

        # -- scopes: exact names; a token mints only a subset of its own
        st, a = create(d, "sc")
        full = a["hash"]
        st, m = d.req("POST", "/wamd/token/sc", {"scopes": ["manage"]}, key=ADMIN)
        mgr = m["token"]
        st, body = d.req("POST", "/wamd/token/sc", {"scopes": ["read", "write", "manage"]}, key=mgr)
        check(st == 403, "manage-only token cannot mint read+write+manage (%s %s)" % (st, body))
        st, body = d.req("POST", "/wamd/token/sc", {"scopes": ["write"]}, key=mgr)
        check(st == 403, "manage-only token cannot mint write (%s)" % st)
        st, body = d.req("POST", "/wamd/token/sc", {"scopes": ["manage"]}, key=mgr)
        check(st == 201 and body["scopes"] == ["manage"], "manage-only token mints manage (%s)" % st)
        for bad in ["readwritemanage", "read,writes", "Read", "read,", "", ["read", "root"], ["readwrite"], [],
                    [" read"], 7]:
            st, body = d.req("POST", "/wamd/token/sc", {"scopes": bad}, key=ADMIN)
            check(st == 400, "scopes %r -> 400 (%s)" % (bad, st))
        st, body = d.req("POST", "/wamd/token/sc", {"scopes": "read,write"}, key=full)
        check(st == 201 and body["scopes"] == ["read", "write"], "\"read,write\" string form (%s %s)" % (st, body))
        st, body = create(d, "sc2", tokenScopes="readwritemanage")
        check(st == 400, "tokenScopes \"readwritemanage\" -> 400 (%s)" % st)
        st, r = d.req("POST", "/wamd/token/sc", {"scopes": ["read"]}, key=ADMIN)
        st, body = d.req("DELETE", "/wamd/token/sc", {"token": full}, key=mgr)
        check(st == 403, "manage-only token cannot revoke the full token (%s)" % st)
        st, _ = d.req("GET", "/instance/connectionState/sc", key=full)
        check(st == 200, "the full token still works")

        # -- a stream for a deleted instance closes and never sees its successor
        st, a = create(d, "foo")
        tok_a = a["hash"]
        s_a, status = ws_connect(d.port, "/ws/events?instance=foo", tok_a)
        check(b"101" in status, "stream opened with token A (%r)" % status)
        st, _ = d.req("DELETE", "/instance/delete/foo", key=ADMIN)
        check(st == 200, "foo deleted by the admin")
        st, b = create(d, "foo", qrcode=True)
        tok_b = b["hash"]
        st, _ = d.req("GET", "/instance/connectionState/foo", key=tok_a)
        check(st == 401, "token A gets 401 on the new foo (%s)" % st)
        texts, reason, ended = ws_drain(s_a, timeout=3)
        events = [json.loads(t)["event"] for t in texts]
        check(reason == "instance deleted", "the stream got a close frame 'instance deleted' (%r)" % reason)
        check(ended, "the stale stream was closed")
        new_id = b["instance"]["instanceId"]
        check(not any(new_id.encode() in t or b"qrcode.updated" in t or b"instance.create" in t for t in texts),
              "the stale stream never saw the new foo's events (%r)" % events)
        s_a.close()
        s_none, status = ws_connect(d.port, "/ws/events?instance=nosuch", ADMIN)
        check(b"101" not in status, "no stream for an instance that does not exist (%r)" % status)
        s_none.close()

        # -- logout closes the instance's streams
        check(wait_open(d, "foo", key=tok_b), "new foo open")
        s_b, status = ws_connect(d.port, "/ws/events?instance=foo", tok_b)
        check(b"101" in status, "stream on the new foo")
        st, _ = d.req("DELETE", "/instance/logout/foo", key=tok_b)
        check(st == 200, "foo logged out (%s)" % st)
        texts, reason, ended = ws_drain(s_b, timeout=3)
        check(reason == "instance logged out" and ended, "logout closed the stream (%r %s)" % (reason, ended))
        s_b.close()

        # -- revocation closes the streams of that token only
        st, rv = create(d, "rv")
        tok_f = rv["hash"]
        st, r = d.req("POST", "/wamd/token/rv", {"scopes": ["read"]}, key=tok_f)
        rtok = r["token"]
        s_r, st_r = ws_connect(d.port, "/ws/events?instance=rv", rtok)
        s_f, st_f = ws_connect(d.port, "/ws/events?instance=rv", tok_f)
        check(b"101" in st_r and b"101" in st_f, "streams with the read token and the full token")
        st, body = d.req("DELETE", "/wamd/token/rv", {"token": rtok}, key=tok_f)
        check(st == 200 and body.get("revoked") is True, "read token revoked (%s %s)" % (st, body))
        st, _ = d.req("GET", "/instance/connectionState/rv", key=rtok)
        check(st == 401, "the revoked token gets 401 (%s)" % st)
        st, body = d.req("DELETE", "/wamd/token/rv", {"token": rtok}, key=tok_f)
        check(st == 404, "revoking it again: 404 (%s)" % st)
        texts, reason, ended = ws_drain(s_r, timeout=3)
        check(reason == "token revoked" and ended, "revocation closed its stream (%r %s)" % (reason, ended))
        st, _ = d.req("GET", "/instance/connect/rv", key=tok_f)  # QR events from now on
        f = ws_frame(s_f, 5)
        check(f is not None and f[0] == 1, "the full token's stream stays open and gets events (%r)" % (f,))
        s_r.close()
        s_f.close()

        # -- expose_token: the creation token goes only to who holds all it grants
        st, e = create(d, "ex", qrcode=True, webhook={"url": rx_admin.url(), "enabled": True})
        ftok = e["hash"]
        check(wait_open(d, "ex", key=ftok), "ex open")
        st, rd = d.req("POST", "/wamd/token/ex", {"scopes": ["read"]}, key=ADMIN)
        st, mg = d.req("POST", "/wamd/token/ex", {"scopes": ["manage"]}, key=ADMIN)
        s_rd, status = ws_connect(d.port, "/ws/events?instance=ex", rd["token"])
        s_ad, status2 = ws_connect(d.port, "/ws/events", ADMIN)
        check(b"101" in status and b"101" in status2, "read-token and admin streams open")
        d.req("POST", "/message/sendText/ex", {"number": "5511988887777", "text": "leak?"}, key=ftok)
        time.sleep(0.5)
        # a manage-only token points a webhook at its own receiver
        st, _ = d.req("POST", "/webhook/set/ex", {"webhook": {"url": rx_mgr.url(), "enabled": True}}, key=mg["token"])
        check(st == 201, "manage token sets a webhook (%s)" % st)
        d.req("POST", "/message/sendText/ex", {"number": "5511988887777", "text": "leak again?"}, key=ftok)
        texts, _, _ = ws_drain(s_rd, timeout=1.5)
        atexts, _, _ = ws_drain(s_ad, timeout=0.5)
        check(len(texts) >= 3, "the read-token stream got events (%d)" % len(texts))
        check(all(json.loads(t)["apikey"] is None and ftok.encode() not in t for t in texts + atexts),
              "no stream frame carries the instance token")
        check(wait_for(lambda: len(rx_mgr.parsed()) >= 2), "the manage token's receiver got events")
        check(all(ev["json"]["apikey"] is None and ftok.encode() not in ev["body"] for ev in rx_mgr.parsed()),
              "a webhook set by a manage-only token never gets the full token")
        adm = rx_admin.parsed()
        check(adm and all(ev["json"]["apikey"] == ftok for ev in adm),
              "the admin-set webhook gets apikey as with Evolution (%d)" % len(adm))
        st, body = d.req("GET", "/instance/fetchInstances?instanceName=ex", key=rd["token"])
        check(st == 200 and body[0]["token"] is None, "fetchInstances hides the token from a read token")
        st, body = d.req("GET", "/instance/fetchInstances?instanceName=ex", key=ADMIN)
        check(st == 200 and body[0]["token"] == ftok, "fetchInstances shows it to the admin")
        s_rd.close()
        s_ad.close()
    finally:
        rx_admin.stop()
        rx_mgr.stop()
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()
    test_authz_slow_reader()
    test_authz_startup()


def test_authz_slow_reader():
    """A stream that stops reading is dropped once its backlog passes the
    byte bound; the daemon's memory stays bounded."""
    env = {"WAMD_FAKE_AUTOPAIR_MS": "100",
           # freed blocks leave the process: RSS then measures what is held
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64"}
    d = Daemon(args=["--api-key", ADMIN, "--log-level", "info"], env=env)
    d.start()
    try:
        create(d, "big", qrcode=True)
        check(wait_open(d, "big"), "big open")
        s = socket.socket()
        s.connect(("127.0.0.1", d.port))
        k = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /ws/events?instance=big HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\napikey: %s\r\n\r\n" % (k, ADMIN)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        check(b"101" in head.split(b"\r\n")[0], "slow stream opened")
        text = "x" * (200 * 1024)
        d.req("POST", "/message/sendText/big", {"number": "5511988887777", "text": "warm"}, key=ADMIN)
        time.sleep(0.3)
        base = rss_kib(d.proc.pid)
        n = 200
        for i in range(n):
            st, _ = d.req("POST", "/message/sendText/big", {"number": "5511988887777", "text": text}, key=ADMIN)
            if st != 201:
                check(False, "large send %d answered %s" % (i, st))
                break
        time.sleep(0.5)
        grown = (rss_kib(d.proc.pid) - base) // 1024
        print("slow reader: %d events of 200 KiB; RSS grew %d MiB" % (n, grown))
        check(grown < 24, "daemon RSS stays bounded with a stalled reader (grew %d MiB for %d MiB of events)"
              % (grown, n * 200 // 1024))
        texts, _, ended = ws_drain(s, timeout=5)
        check(ended and len(texts) < n, "the stalled stream was dropped (%d of %d events, ended %s)"
              % (len(texts), n, ended))
        s.close()
        check(b"events client dropped" in open(os.path.join(d.data, "wamd.log"), "rb").read(), "drop logged")
        st, _ = d.req("GET", "/instance/connectionState/big", key=ADMIN)
        check(st == 200, "daemon still answers")
    finally:
        rc = d.stop()
        check(rc == 0, "clean exit (rc %s)" % rc)
        if FAILS:
            d.dump_log()


def test_authz_startup():
    """The config file's mode, and what is at the socket path."""
    def start_fail(d, what, *needles):
        try:
            rc = d.start(expect_fail=True)
        except subprocess.TimeoutExpired:
            d.proc.kill()  # it started: not refused
            rc = d.proc.wait()
        log = open(os.path.join(d.data, "wamd.log"), "rb").read().decode(errors="replace")
        check(rc == 2 and all(n in log for n in needles), "%s: refused (rc %s) saying %r: %r"
              % (what, rc, needles, log[-400:]))

    # config file with the admin key, readable by others
    d = Daemon()
    conf = os.path.join(d.data, "wamd.conf")
    with open(conf, "w") as f:
        f.write("api_key = %s\n" % ADMIN)
    os.chmod(conf, 0o644)
    start_fail(d, "config with api_key mode 0644", conf, "0644", "api_key")
    with open(conf, "w") as f:
        f.write('{"webhook_global_secret": "s3cret-s3cret"}\n')
    os.chmod(conf, 0o640)
    start_fail(d, "config with a webhook secret mode 0640", conf, "0640", "webhook_global_secret")
    with open(conf, "w") as f:
        f.write("log_level = info\n")
    os.chmod(conf, 0o666)
    start_fail(d, "config writable by others", conf, "0666", "writable")
    os.chmod(conf, 0o620)
    start_fail(d, "config writable by group", conf, "0620", "writable")
    with open(conf, "w") as f:
        f.write("api_key = %s\n" % ADMIN)
    os.chmod(conf, 0o600)
    d.start()
    st, _ = d.req("GET", "/instance/fetchInstances", key=ADMIN)
    check(st == 200, "config mode 0600 with the key: starts")
    d.stop()
    os.unlink(conf)

    # a regular file at the socket path: kept, refused
    d = Daemon(args=["--api-key", ADMIN])
    with open(d.sock, "w") as f:
        f.write("precious")
    start_fail(d, "regular file at the socket path", d.sock, "not a socket", "regular file")
    check(open(d.sock).read() == "precious", "the file at the socket path is intact")
    os.unlink(d.sock)
    os.mkdir(d.sock)
    start_fail(d, "folder at the socket path", d.sock, "a folder")
    check(os.path.isdir(d.sock), "the folder is intact")
    os.rmdir(d.sock)
    # a live socket of another process: refused, still served
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(d.sock)
    other.listen(1)
    start_fail(d, "live socket at the socket path", d.sock, "another process is listening")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(d.sock)
    check(True, "the other process still has its socket")
    c.close()
    other.close()
    # a stale socket (nobody listens): replaced
    check(os.path.exists(d.sock), "stale socket left behind")
    import grp
    gname = grp.getgrgid(os.getgid()).gr_name
    d.args += ["--socket-group", gname]
    d.start()
    check(os.stat(d.sock).st_gid == os.getgid(), "socket_group %s owns the socket" % gname)
    st, _ = d.req("GET", "/instance/fetchInstances", unix=True)
    check(st == 200, "a stale socket is replaced and served")
    d.stop()
    d2 = Daemon(args=["--api-key", ADMIN, "--socket-group", "no-such-group-wamd"])
    start_fail(d2, "unknown socket_group", "no-such-group-wamd")


def main():
    which = sys.argv[1]
    {"api": test_api, "webhooks": test_webhooks, "restart": test_restart, "wamctl": test_wamctl,
     "proxy": test_proxy, "authz": test_authz}[which]()
    for d in DIRS:
        shutil.rmtree(d, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

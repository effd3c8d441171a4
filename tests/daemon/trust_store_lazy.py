#!/usr/bin/env python3
"""wamd's lazy trust store (suite e2e). With the system's trust store (the
SSL_CERT_* variables unset) wamd does not parse the CA bundle at start (its
debug log says so) and still verifies: a server signed by an unknown CA
fails at TLS. A CA directory the user names (SSL_CERT_DIR) is honoured: a
server whose CA is there gets past TLS (wamd then reports the WebSocket
upgrade step, as the test server speaks plain HTTPS).
env: WAMD_BIN (the real wamd)."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures += 1


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def unix_req(sock, method, path, body=b""):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(10)
    c.connect(sock)
    hdr = "%s %s HTTP/1.1\r\nHost: l\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    c.sendall((hdr % (method, path, len(body))).encode() + body)
    while c.recv(65536):
        pass
    c.close()


def attempt(wamd, cert_dir, port, tmp):
    data = tempfile.mkdtemp(dir=tmp)
    env = dict(os.environ)
    env.pop("SSL_CERT_FILE", None)
    env.pop("SSL_CERT_DIR", None)
    if cert_dir:
        env["SSL_CERT_DIR"] = cert_dir
    log = os.path.join(data, "log")
    p = subprocess.Popen([wamd, "--data", data, "--wa-url", "wss://127.0.0.1:%d/ws/chat" % port,
                          "--log-level", "debug"],
                         env=env, stderr=open(log, "w"))
    sock = os.path.join(data, "wamd.sock")
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    unix_req(sock, "POST", "/instance/create", b'{"instanceName":"x"}')
    unix_req(sock, "GET", "/instance/connect/x")
    text = ""
    for _ in range(100):
        text = open(log).read()
        if "WARN" in text:
            break
        time.sleep(0.05)
    p.terminate()
    p.wait()
    return text


def main():
    wamd = os.environ["WAMD_BIN"]
    if not shutil.which("openssl"):
        print("openssl command not found")
        return 1
    tmp = tempfile.mkdtemp(prefix="wamd-trust-")
    os.chdir(tmp)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=wamd test CA"])
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"])
    open("ext", "w").write("subjectAltName=IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "srv.pem", "-days", "2", "-extfile", "ext"])
    os.mkdir("with")
    shutil.copy("ca.pem", "with/ca.pem")
    run(["openssl", "rehash", "with"])
    port = free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-cert", "srv.pem", "-key", "srv.key",
                            "-www", "-quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        bad = attempt(wamd, None, port, tmp)
        check("CA bundle not parsed at start" in bad, "system trust store: the bundle is not parsed at start")
        check("TLS: the TLS handshake with 127.0.0.1:%d failed" % port in bad,
              "and an unknown CA is still refused")
        ok = attempt(wamd, os.path.join(tmp, "with"), port, tmp)
        check("CA bundle not parsed" not in ok, "a directory the user names is left alone")
        check("WebSocket upgrade: 127.0.0.1:%d" % port in ok, "and the CA in it verifies the server")
        if failures:
            print(ok[-2000:], bad[-2000:])
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d check(s) failed" % failures if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""First QR after start, as a user measures it: from launching wamd on a
fresh data folder to the QR being available through the API (the answer of
POST /instance/create with qrcode:true), against wasim on loopback over
wss:// (TLS, so the trust store is loaded as it is for WhatsApp).

usage: tests/bench/first_qr.py WAMD WASIM [RUNS]   (prints the median and range)
Run it in a release build: tests/bench/first_qr.py build/release/daemon/wamd build/release/tests/sim/wasim
"""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def main():
    wamd, wasim = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    sim = subprocess.Popen([wasim, "--port", "0", "--tls-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    info = json.loads(sim.stdout.readline())
    url = "wss://127.0.0.1:%d/ws/chat" % info["tls_port"] if info.get("tls_port") else "ws://127.0.0.1:%d/ws/chat" % info["port"]
    times, sock_times = [], []
    try:
        for _ in range(runs):
            data = tempfile.mkdtemp(prefix="wamd-firstqr-")
            sock = os.path.join(data, "wamd.sock")
            t0 = time.monotonic()
            p = subprocess.Popen([wamd, "--data", data, "--wa-url", url, "--wa-trust-root", info["root"],
                                  "--wa-tls-insecure"], stderr=subprocess.DEVNULL)
            while not os.path.exists(sock):
                time.sleep(0.001)
            sock_times.append((time.monotonic() - t0) * 1000)
            while True:
                try:
                    c = UnixConn(sock)
                    c.request("POST", "/instance/create", body=json.dumps({"instanceName": "default", "qrcode": True}),
                              headers={"Content-Type": "application/json"})
                    r = json.loads(c.getresponse().read())
                    break
                except (ConnectionRefusedError, FileNotFoundError):
                    time.sleep(0.001)
            t = time.monotonic() - t0
            code = (r.get("qrcode") or {}).get("code")
            if not code:
                print("no QR in the answer: %s" % json.dumps(r)[:200], file=sys.stderr)
                return 1
            times.append(t * 1000)
            p.terminate()
            p.wait()
            shutil.rmtree(data, ignore_errors=True)
    finally:
        sim.terminate()
        sim.wait()
    print("first QR through the API after launch (fresh data folder, %d runs): median %.0f ms, min %.0f, max %.0f"
          % (runs, statistics.median(times), min(times), max(times)))
    print("  of which launch -> API socket bound: median %.0f ms" % statistics.median(sock_times))
    return 0


if __name__ == "__main__":
    sys.exit(main())

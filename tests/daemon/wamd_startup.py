#!/usr/bin/env python3
"""wamd start-up on many stored instances (suite e2e, TEST-ONLY fake engine).

N paired instances are stored, then wamd is restarted with the fake's
session creation slowed down (WAMD_FAKE_NEW_MS: a store slow to read each
instance's credentials) so that starting them all takes seconds. Checked:
the API answers while instances are still starting (GET /wamd/metrics
counts them in instances.starting), every stored instance is listed from
the first answer and none reads "close"; a request naming an instance not
started yet starts it at once; all end open; SIGTERM in the middle of the
start-up exits 0 promptly, and the next start has every instance back.

usage: wamd_startup.py"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wamd_e2e as e  # noqa: E402  (Daemon, check, wait_for, create)

N = 200
NEW_MS = 25  # N * NEW_MS = 5 s of session creation


def metrics(d):
    try:
        st, m = d.req("GET", "/wamd/metrics", key=e.ADMIN, unix=True)
    except OSError:
        return None
    return m["instances"] if st == 200 else None


def first_answer(d, timeout=60):
    """Polls the unix socket from the spawn; the first metrics answer and the
    seconds it took."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        m = metrics(d)
        if m is not None:
            return m, time.time() - t0
        time.sleep(0.02)
    return None, timeout


def spawn(d):
    """Starts wamd without waiting for anything (Daemon.start waits)."""
    import subprocess
    d.log = open(os.path.join(d.data, "wamd.log"), "ab")
    d.proc = subprocess.Popen([d.binary, "--data", d.data, "--log-level", "info"] + d.args, env=d.env,
                              stdout=d.log, stderr=d.log)


def main():
    d = e.Daemon(args=["--api-key", e.ADMIN], env={"WAMD_FAKE_AUTOPAIR_MS": "50"})
    names = ["s%03d" % i for i in range(N)]
    d.start(tcp=False)
    try:
        for n in names:
            st, _ = d.req("POST", "/instance/create", {"instanceName": n, "integration": "WHATSAPP-BAILEYS",
                                                       "qrcode": True}, key=e.ADMIN, unix=True)
            if not e.check(st == 201, "create %s: %s" % (n, st)):
                return
        e.check(e.wait_for(lambda: (metrics(d) or {}).get("open") == N, 60), "all %d paired and open" % N)
    finally:
        e.check(d.stop() == 0, "first run: clean exit")

    # restart with a slow session creation
    d.env["WAMD_FAKE_NEW_MS"] = str(NEW_MS)
    spawn(d)
    m, took = first_answer(d)
    print("first answer after %.2f s: %s" % (took, m))
    e.check(m is not None and m["total"] == N, "every stored instance counted in the first answer: %s" % m)
    e.check(m is not None and m.get("starting", 0) > 0,
            "the API answers while instances are still starting (first answer after %.2f s: %s)" % (took, m))
    st, lst = d.req("GET", "/instance/fetchInstances", key=e.ADMIN, unix=True)
    states = [i["connectionStatus"] for i in lst] if st == 200 else []
    e.check([i["name"] for i in lst] == names, "fetchInstances lists every stored instance, in order")
    e.check(states and all(s in ("connecting", "open") for s in states),
            "no instance reads close while it waits for its start: %s" % sorted(set(states)))
    last = names[-1]
    st, cs = d.req("GET", "/instance/connectionState/" + last, key=e.ADMIN, unix=True)
    e.check(st == 200 and cs["instance"]["state"] in ("connecting", "open"), "the last instance: %s %s" % (st, cs))
    # named by a request, it started at once: open long before the walk reaches it
    opened = e.wait_for(lambda: d.req("GET", "/instance/connectionState/" + last, key=e.ADMIN, unix=True)[1]
                        ["instance"]["state"] == "open", 30)
    left = (metrics(d) or {}).get("starting", 0)
    e.check(opened and left > 0, "an instance a request names starts before the others (open: %s, %s still "
            "starting)" % (opened, left))
    done = e.wait_for(lambda: (lambda x: x and x.get("starting") == 0 and x.get("open") == N)(metrics(d)), 90, 0.2)
    e.check(done, "all %d started and open: %s" % (N, metrics(d)))
    e.check(d.stop() == 0, "second run: clean exit")

    # SIGTERM while instances are still starting
    spawn(d)
    m, _ = first_answer(d)
    e.check(m is not None and m.get("starting", 0) > 0, "third run answers while starting: %s" % m)
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(timeout=20)
    except Exception:
        d.proc.kill()
        rc = d.proc.wait()
    took = time.time() - t0
    d.log.close()
    e.check(rc == 0 and took < 5, "SIGTERM during start-up: exit %s after %.2f s" % (rc, took))

    # nothing forgotten: all back, all open
    del d.env["WAMD_FAKE_NEW_MS"]
    d.start(tcp=False)
    try:
        st, lst = d.req("GET", "/instance/fetchInstances", key=e.ADMIN, unix=True)
        e.check([i["name"] for i in lst] == names, "every instance stored after the interrupted start")
        e.check(e.wait_for(lambda: (metrics(d) or {}).get("open") == N, 60), "all open again: %s" % metrics(d))
    finally:
        e.check(d.stop() == 0, "last run: clean exit")
        if e.FAILS:
            d.dump_log()


if __name__ == "__main__":
    try:
        main()
    finally:
        for x in e.DIRS:
            import shutil
            shutil.rmtree(x, ignore_errors=True)
    if e.FAILS:
        print("%d check(s) failed" % len(e.FAILS), file=sys.stderr)
        sys.exit(1)
    print("ok")

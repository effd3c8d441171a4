#!/usr/bin/env python3
"""Operations surface of wamd (suite e2e):
  metrics  GET /metrics: auth (admin key, metrics_token as Bearer or apikey,
           nothing else), a strict parse of the text format, the counters
           moving with traffic (sessions, messages, statuses, send latency,
           webhook queue and failures), the series count independent of the
           instance count unless metrics_per_instance is on; /health/*; the
           JSON /wamd/metrics still answers.
  notify   READY=1 on $NOTIFY_SOCKET only once both listeners accept, and
           STOPPING=1 on SIGTERM (path and abstract socket names).
  install  wamd/wamctl --version; `meson install --destdir` lays out the
           expected files; systemd-analyze verify accepts the unit; the
           example config names every setting of `wamd --help` and, with
           every line uncommented, starts wamd.
usage: wamd_ops.py metrics|notify|install"""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wamd_e2e import ADMIN, DIRS, FAILS, Daemon, Receiver, UnixConn, check, create, wait_for, wait_open  # noqa: E402

ROOT = os.environ.get("WA_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("WA_BUILD_ROOT")
MTOKEN = "metrics-token-8c1f0e5a9b2d47"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|\+Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """Strict parse of the exposition format: {(name, frozenset(labels)): value}
    and {family: type}. Every sample belongs to a declared family."""
    types, samples = {}, {}
    check(text.endswith("\n"), "exposition ends with a newline")
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            check(typ in ("counter", "gauge", "histogram"), "type of %s: %s" % (fam, typ))
            check(fam not in types, "family declared once: " + fam)
            types[fam] = typ
            continue
        m = SAMPLE.match(line)
        if not check(m is not None, "sample line parses: %r" % line):
            continue
        name, labels = m.group(1), {}
        if m.group(3):
            rest = m.group(3)
            while rest:
                lm = LABEL.match(rest)
                if not check(lm is not None, "labels parse: %r" % line):
                    break
                labels[lm.group(1)] = lm.group(2)
                rest = rest[lm.end():]
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        check(fam in types, "sample %s has a # TYPE" % name)
        if types.get(fam) == "counter":
            check(name.endswith("_total"), "counter name ends in _total: " + name)
        key = (name, frozenset(labels.items()))
        check(key not in samples, "sample once: %r" % line)
        samples[key] = float(m.group(4).replace("+Inf", "inf"))
    return types, samples


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def get_metrics(d, **kw):
    st, text = d.req("GET", "/metrics", **kw)
    return st, text.decode() if isinstance(text, bytes) else text


def raw_get(d, path, headers):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=15)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    body = r.read()
    ctype = r.getheader("content-type")
    c.close()
    return r.status, ctype, body


# ---------------------------------------------------------------- metrics

def test_metrics():
    rcv = Receiver()  # never started: webhook attempts fail and are retried
    d = Daemon(args=["--api-key", ADMIN, "--metrics-token", MTOKEN, "--webhook-allow-loopback",
                     "--webhook-initial-delay-ms", "100", "--webhook-max-delay-ms", "200"],
               env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        # auth: nothing, a wrong key, an instance token -> 401
        st, _ = get_metrics(d)
        check(st == 401, "GET /metrics without a key -> 401 (%s)" % st)
        st, _ = get_metrics(d, key="not-the-key-000000000")
        check(st == 401, "GET /metrics with a wrong key -> 401")
        st, a = create(d, "alpha", webhook={"url": "http://127.0.0.1:%d/hook" % rcv.port, "enabled": True})
        check(st == 201, "create alpha")
        st, _ = get_metrics(d, key=a["hash"])
        check(st == 401, "an instance token is not a metrics key")
        st, ctype, body = raw_get(d, "/metrics", {"Authorization": "Bearer " + MTOKEN})
        check(st == 200 and ctype.startswith("text/plain; version=0.0.4"), "Bearer metrics_token -> 200 text/plain")
        st, _, _ = raw_get(d, "/metrics", {"Authorization": "Bearer wrong" + MTOKEN})
        check(st == 401, "wrong Bearer -> 401")
        st, _ = get_metrics(d, key=MTOKEN)
        check(st == 200, "metrics_token as apikey -> 200")
        st, _, _ = raw_get(d, "/instance/fetchInstances", {"Authorization": "Bearer " + MTOKEN})
        check(st == 401, "the metrics token opens nothing else (Bearer)")
        st, _ = d.req("GET", "/instance/fetchInstances", key=MTOKEN)
        check(st == 401, "the metrics token opens nothing else (apikey)")
        st, _ = d.req("GET", "/metrics", unix=True)
        check(st == 200, "trusted unix socket reads /metrics")

        d.req("GET", "/instance/connect/alpha", key=ADMIN)
        check(wait_open(d, "alpha"), "alpha open")
        st, r = d.req("POST", "/message/sendText/alpha", {"number": "5511988887777", "text": "echo hello"}, key=ADMIN)
        check(st == 201, "sendText")

        def settled():
            _, text = get_metrics(d, key=ADMIN)
            _, s = parse(text)
            return (val(s, "wamd_message_status_total", direction="out", status="READ") == 1 and
                    val(s, "wamd_messages_total", direction="in", kind="conversation") == 1 and
                    (val(s, "wamd_webhook_attempt_failures_total") or 0) >= 2)
        check(wait_for(settled, timeout=10), "statuses, the echo and webhook failures counted")
        st, text = get_metrics(d, key=ADMIN)
        types, s = parse(text)
        check(types.get("wamd_send_latency_seconds") == "histogram", "latency is a histogram")
        check(val(s, "wamd_sessions", state="ready") == 1, "one session ready")
        check(sum(v for (n, _), v in s.items() if n == "wamd_sessions") == 1, "sessions by state sum to 1")
        check(val(s, "wamd_messages_total", direction="out", kind="conversation") == 1, "one message out")
        check(val(s, "wamd_messages_total", direction="in", kind="other") == 0, "no other kind in")
        for status in ("SERVER_ACK", "DELIVERY_ACK", "READ"):
            check(val(s, "wamd_message_status_total", direction="out", status=status) == 1, "status " + status)
        check(val(s, "wamd_message_status_total", direction="out", status="ERROR") == 0, "no ERROR status")
        # the histogram: cumulative, +Inf = count, one send of ~30 ms (the fake's wire mark)
        buckets = sorted(((float(dict(k[1])["le"].replace("+Inf", "inf")), v)
                          for k, v in s.items() if k[0] == "wamd_send_latency_seconds_bucket"))
        check(len(buckets) >= 10 and buckets[-1][0] == float("inf"), "latency buckets up to +Inf")
        check(all(buckets[i][1] <= buckets[i + 1][1] for i in range(len(buckets) - 1)), "buckets cumulative")
        count = val(s, "wamd_send_latency_seconds_count")
        check(count == 1 and buckets[-1][1] == count, "latency count 1 (%s)" % count)
        total = val(s, "wamd_send_latency_seconds_sum")
        check(total is not None and 0.02 <= total < 10, "latency sum plausible: %s" % total)
        below = [v for le, v in buckets if le < 0.025]
        check(all(v == 0 for v in below), "no send faster than the fake's 30 ms")
        check(val(s, "wamd_webhook_queue_depth") >= 1, "webhook events queued")
        check(val(s, "wamd_webhook_delivered_total") == 0, "nothing delivered")
        check(val(s, "wamd_handshakes_max") == 32, "handshake gate max")
        # (the fake engine takes no handshake slots: the gate's counters are the JSON's, 0 here)
        for g in ("active", "waiting", "peak"):
            check(val(s, "wamd_handshakes_" + g) == 0, "handshakes " + g)
        check(val(s, "wamd_store_size_bytes") > 4096, "store size")
        check(val(s, "process_resident_memory_bytes") > 1 << 20, "RSS")
        check(not any("instance" in dict(k[1]) for k in s), "no per-instance series by default")
        # the JSON metrics still answer, with the same count
        st, j = d.req("GET", "/wamd/metrics", key=ADMIN)
        check(st == 200 and j["send_latency"]["count"] == 1 and j["instances"]["open"] == 1, "/wamd/metrics JSON")

        # the receiver comes up: the queue drains, deliveries counted
        rcv.start()

        def drained():
            _, s2 = parse(get_metrics(d, key=ADMIN)[1])
            return val(s2, "wamd_webhook_queue_depth") == 0 and val(s2, "wamd_webhook_delivered_total") >= 1
        check(wait_for(drained, timeout=15), "webhook queue drained and counted")

        # series count: independent of how many instances there are
        n1 = len(parse(get_metrics(d, key=ADMIN)[1])[1])
        for i in range(40):
            create(d, "bulk%d" % i)
        n41 = len(parse(get_metrics(d, key=ADMIN)[1])[1])
        check(n1 == n41, "series count does not grow with instances (%d vs %d)" % (n1, n41))

        # health: no key; ready says why
        for path in ("/health/live", "/health/ready"):
            st, body = d.req("GET", path)
            check(st == 200 and isinstance(body, dict), "%s without a key -> 200 (%s %s)" % (path, st, body))
        st, body = d.req("GET", "/health/ready")
        check(body == {"status": "ready", "store": True, "listeners": True, "started": True, "stopping": False},
              "ready body: %s" % body)
    finally:
        rc = d.stop()
        rcv.stop()
    check(rc == 0, "wamd stops with 0")

    # per-instance series, opted in
    d = Daemon(args=["--api-key", ADMIN, "--metrics-per-instance"], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        for n in ("one", "two"):
            create(d, n)
            d.req("GET", "/instance/connect/" + n, key=ADMIN)
        check(wait_open(d, "one") and wait_open(d, "two"), "both open")
        d.req("POST", "/message/sendText/one", {"number": "5511988887777", "text": "echo x"}, key=ADMIN)

        def counted():
            _, s = parse(get_metrics(d, key=ADMIN)[1])
            return val(s, "wamd_instance_messages_total", instance="one", direction="in") == 1
        check(wait_for(counted, timeout=10), "per-instance messages counted")
        _, s = parse(get_metrics(d, key=ADMIN)[1])
        check(val(s, "wamd_instance_state", instance="one", state="ready") == 1, "per-instance state")
        check(val(s, "wamd_instance_messages_total", instance="one", direction="out") == 1, "per-instance out")
        check(val(s, "wamd_instance_messages_total", instance="two", direction="out") == 0, "other instance 0")
        check(val(s, "wamd_instance_webhook_queue_depth", instance="two") == 0, "per-instance queue depth")
    finally:
        d.stop()


# ---------------------------------------------------------------- notify

def notify_run(addr_name, bind_addr):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(bind_addr)
    s.settimeout(20)
    from wamd_e2e import free_port
    d = Daemon(binary=os.environ["WAMD_BIN"], env={"NOTIFY_SOCKET": addr_name})
    d.port = free_port()
    args = [d.binary, "--data", d.data, "--log-level", "debug", "--api-key", ADMIN,
            "--listen", "127.0.0.1:%d" % d.port]
    log = open(os.path.join(d.data, "wamd.log"), "ab")
    proc = subprocess.Popen(args, env=d.env, stdout=log, stderr=log)
    try:
        msg, _ = s.recvfrom(4096)
        # at the moment READY=1 arrives, both listeners must accept
        up_unix = up_tcp = False
        try:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(d.sock)
            c.close()
            up_unix = True
        except OSError:
            pass
        try:
            socket.create_connection(("127.0.0.1", d.port), timeout=1).close()
            up_tcp = True
        except OSError:
            pass
        check(b"READY=1" in msg.split(b"\n"), "%s: first notification is READY=1: %r" % (addr_name, msg))
        check(up_unix and up_tcp, "%s: listeners up at READY=1 (unix %s, tcp %s)" % (addr_name, up_unix, up_tcp))
        st, body = d.req("GET", "/health/ready")
        check(st == 200, "%s: ready after READY=1" % addr_name)
        proc.send_signal(signal.SIGTERM)
        msg2, _ = s.recvfrom(4096)
        check(b"STOPPING=1" in msg2.split(b"\n"), "%s: STOPPING=1 on SIGTERM: %r" % (addr_name, msg2))
        rc = proc.wait(timeout=20)
        check(rc == 0, "%s: exit 0 after SIGTERM" % addr_name)
    except socket.timeout:
        check(False, "%s: no notification within 20 s" % addr_name)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        s.close()


def test_notify():
    tmp = tempfile.mkdtemp(prefix="wamd-notify-")
    DIRS.append(tmp)
    path = os.path.join(tmp, "notify.sock")
    notify_run(path, path)
    name = "wamd-notify-test-%d" % os.getpid()
    notify_run("@" + name, "\0" + name)
    # without NOTIFY_SOCKET: starts and stops as before (nothing to send)
    d = Daemon(binary=os.environ["WAMD_BIN"], args=["--api-key", ADMIN])
    d.env.pop("NOTIFY_SOCKET", None)
    d.start()
    check(d.stop() == 0, "no NOTIFY_SOCKET: clean start and stop")


# ---------------------------------------------------------------- install

def test_install():
    wamd, wamctl = os.environ["WAMD_BIN"], os.environ["WAMCTL_BIN"]
    project_version = re.search(r"version:\s*'([^']+)'", open(os.path.join(ROOT, "meson.build")).read()).group(1)
    describe = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    for exe, name in ((wamd, "wamd"), (wamctl, "wamctl")):
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
        line = out.stdout.strip()
        check(out.returncode == 0 and line.startswith("%s %s" % (name, project_version)),
              "%s --version: %r" % (name, line))
        if describe.returncode == 0:
            # the describe of the tree it was built from (HEAD may have moved
            # since): it must name a commit of this repository
            m = re.search(r"\(git ([^)]+)\)$", line)
            ref = m.group(1).replace("-dirty", "") if m else ""
            ref = re.sub(r"^.*-g([0-9a-f]+)$", r"\1", ref)
            ok = m and subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "-q", ref + "^{commit}"],
                                      capture_output=True).returncode == 0
            check(ok, "%s --version has git describe of a commit here: %r" % (name, line))

    dest = tempfile.mkdtemp(prefix="wamd-install-")
    DIRS.append(dest)
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", dest],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "meson install --destdir: %s" % r.stderr[-2000:])
    prefix = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"], capture_output=True, text=True)
    import json
    opts = {o["name"]: o["value"] for o in json.loads(prefix.stdout)}
    pre = dest + opts["prefix"]
    files = sorted(os.path.relpath(os.path.join(dp, f), pre) for dp, _, fs in os.walk(dest) for f in fs)
    want = ["bin/wamctl", "bin/wamd", "lib/systemd/system/wamd.service", "lib/sysusers.d/wamd.conf",
            "share/doc/wamd/README.md", "share/doc/wamd/wamd.conf.example", "share/doc/wamd/wamd.md"]
    check(files == want, "installed files: %s" % files)
    for b in ("bin/wamd", "bin/wamctl"):
        check(os.access(os.path.join(pre, b), os.X_OK), b + " executable")
    unit = open(os.path.join(pre, "lib/systemd/system/wamd.service")).read()
    check("ExecStart=%s/bin/wamd " % opts["prefix"] in unit, "unit runs the installed wamd")
    for line in ("Type=notify", "User=wamd", "ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=wamd",
                 "RuntimeDirectory=wamd"):
        check(re.search("^" + re.escape(line) + "$", unit, re.M), "unit has " + line)
    check("@" not in re.sub(r"SystemCallFilter=.*|#.*", "", unit), "no unreplaced @VAR@ in the unit")
    sysusers = open(os.path.join(pre, "lib/sysusers.d/wamd.conf")).read()
    check(re.search(r"^u wamd ", sysusers, re.M), "sysusers declares the user wamd")

    # systemd-analyze verify: the unit as installed, ExecStart pointed at this build's wamd
    sa = shutil.which("systemd-analyze")
    check(sa is not None, "systemd-analyze is installed (scripts/install-deps --test)")
    if sa:
        vdir = tempfile.mkdtemp(prefix="wamd-unit-")
        DIRS.append(vdir)
        vunit = os.path.join(vdir, "wamd.service")
        open(vunit, "w").write(unit.replace("%s/bin/wamd" % opts["prefix"], wamd))
        r = subprocess.run([sa, "verify", "--man=no", vunit], capture_output=True, text=True, timeout=60)
        noise = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
        check(r.returncode == 0 and not noise, "systemd-analyze verify: rc %d %s" % (r.returncode, noise))
        # the check can fail: a misspelt directive is reported
        open(vunit, "w").write(unit.replace("%s/bin/wamd" % opts["prefix"], wamd).replace("NoNewPrivileges=",
                                                                                          "NoNewPrivilege="))
        r = subprocess.run([sa, "verify", "--man=no", vunit], capture_output=True, text=True, timeout=60)
        check("NoNewPrivilege" in r.stdout + r.stderr, "systemd-analyze reports a misspelt directive")

    # the example config: every setting of `wamd --help`, and it starts wamd
    example = open(os.path.join(ROOT, "dist", "wamd.conf.example")).read()
    helptext = subprocess.run([wamd, "--help"], capture_output=True, text=True).stdout
    settings = [f[2:].replace("-", "_") for f in re.findall(r"^\s+(--[a-z0-9-]+)", helptext, re.M)]
    check(len(settings) > 30, "settings listed by --help: %d" % len(settings))
    keys = re.findall(r"^#([a-z0-9_]+) =", example, re.M)
    check(sorted(keys) == sorted(settings), "example config names every setting once: missing %s extra %s" %
          (sorted(set(settings) - set(keys)), sorted(set(keys) - set(settings))))
    run = tempfile.mkdtemp(prefix="wamd-example-")
    DIRS.append(run)
    conf = os.path.join(run, "wamd.conf")
    # uncommented as it is; settings without a default stay unset
    lines = [re.sub(r"^#([a-z0-9_]+ = .+)$", r"\1", l) for l in example.splitlines()]
    open(conf, "w").write("\n".join(lines) + "\n")
    os.chmod(conf, 0o600)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("WAMD_") or k == "NOTIFY_SOCKET":
            del env[k]
    log = open(os.path.join(run, "log"), "wb")
    p = subprocess.Popen([wamd, "--config", conf], cwd=run, env=env, stdout=log, stderr=log)
    sockp = os.path.join(run, "wamd-data", "wamd.sock")
    up = wait_for(lambda: os.path.exists(sockp), timeout=10)
    st = None
    if up:
        c = UnixConn(sockp)
        c.request("GET", "/health/ready")
        st = c.getresponse().status
        c.close()
    check(up and st == 200, "wamd starts with the example config uncommented (%s)" % st)
    p.send_signal(signal.SIGTERM)
    check(p.wait(timeout=20) == 0, "and stops")
    log.close()
    if FAILS:
        sys.stderr.write(open(os.path.join(run, "log")).read()[-3000:])


def test_install_deps():
    """scripts/install-deps asks apt for run-time packages only; --test adds
    the test tools. dpkg-query and apt-get are stand-ins that record."""
    fake = tempfile.mkdtemp(prefix="wamd-deps-")
    DIRS.append(fake)
    rec = os.path.join(fake, "apt.log")
    for name, body in (("dpkg-query", "exit 1"),  # nothing is installed
                       ("apt-get", 'echo "$*" >> "%s"' % rec),
                       ("sudo", '"$@"'),
                       ("node", "exit 0"), ("npm", "exit 0")):
        path = os.path.join(fake, name)
        open(path, "w").write("#!/bin/sh\n%s\n" % body)
        os.chmod(path, 0o755)
    script = os.path.join(ROOT, "scripts", "install-deps")
    env = dict(os.environ, PATH=fake + ":/usr/bin:/bin")
    got = {}
    for flag in ([], ["--test"]):
        if os.path.exists(rec):
            os.unlink(rec)
        r = subprocess.run(["bash", script] + flag, env=env, capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "install-deps %s: %s" % (flag, r.stderr))
        lines = open(rec).read().split("\n") if os.path.exists(rec) else []
        inst = [l for l in lines if l.startswith("install")]
        got[bool(flag)] = set(inst[0].split()) if inst else set()
    run_only, with_test = got[False], got[True]
    for p in ("meson", "libwebsockets-dev", "libsqlite3-dev", "libjansson-dev", "libwebsockets-evlib-ev"):
        check(p in run_only, "run-time package %s without --test" % p)
    for p in ("clang", "llvm", "zbar-tools", "systemd", "sqlite3", "curl"):
        check(p not in run_only and p in with_test, "test package %s only with --test" % p)
    check(run_only < with_test, "--test installs a superset")
    r = subprocess.run(["bash", script, "--bogus"], env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 2, "an unknown option is refused")


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "metrics"
    if which == "install":
        test_install_deps()
    {"metrics": test_metrics, "notify": test_notify, "install": test_install}[which]()
    for d in DIRS:
        shutil.rmtree(d, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

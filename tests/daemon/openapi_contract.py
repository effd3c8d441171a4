#!/usr/bin/env python3
"""OpenAPI contract (suite e2e): GET /openapi.json against the route table
and against the answers wamd really gives. Runs the daemon e2e tests `api`
and `proxy` with their JSON answers recorded (WAMD_E2E_RECORD), adds the
answers of the routes those do not call, then hands everything to
openapi/contract.mjs (validators from npm, installed into the build tree).
Also: GET /openapi is an HTML page that loads nothing from elsewhere, and
its script, run against a DOM stand-in (openapi/page.mjs), renders every
operation of the document.
usage: openapi_contract.py NODE"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wamd_e2e  # noqa: E402
from wamd_e2e import ADMIN, Daemon, check, create, wait_open  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("WA_SOURCE_ROOT") or os.path.join(HERE, "..", "..")


def main():
    node = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="wamd-openapi-")
    rec = os.path.join(tmp, "records.jsonl")
    env = dict(os.environ, WAMD_E2E_RECORD=rec)
    for t in ("api", "proxy"):
        r = subprocess.run([sys.executable, os.path.join(HERE, "wamd_e2e.py"), t], env=env, capture_output=True,
                           text=True, timeout=300)
        check(r.returncode == 0, "wamd_e2e.py %s passes while recording: %s" % (t, r.stderr[-2000:]))
    os.environ["WAMD_E2E_RECORD"] = rec
    d = Daemon(args=["--api-key", ADMIN], env={"WAMD_FAKE_AUTOPAIR_MS": "100"})
    d.start()
    try:
        # routes the e2e tests above do not call
        d.req("POST", "/verify-creds", key=ADMIN)
        create(d, "c1", qrcode=True)
        check(wait_open(d, "c1"), "c1 open")
        d.req("GET", "/instance/fetchInstances", key=ADMIN)
        d.req("GET", "/instance/connect/c1", key=ADMIN)
        d.req("POST", "/instance/setPresence/c1", {"presence": "available"}, key=ADMIN)
        d.req("GET", "/settings/find/c1", key=ADMIN)
        d.req("POST", "/settings/set/c1", {"rejectCall": True, "msgCall": "busy", "groupsIgnore": False,
                                          "alwaysOnline": False, "readMessages": False, "readStatus": False,
                                          "syncFullHistory": False}, key=ADMIN)
        d.req("GET", "/settings/find/c1", key=ADMIN)
        d.req("GET", "/webhook/find/c1", key=ADMIN)
        d.req("GET", "/proxy/find/c1", key=ADMIN)
        st, tok = d.req("POST", "/wamd/token/c1", {"scopes": ["read"]}, key=ADMIN)
        d.req("DELETE", "/wamd/token/c1", {"token": tok["token"]}, key=ADMIN)
        d.req("POST", "/message/sendText/c1", {"number": "5511988887777", "text": "hi"}, key=ADMIN)
        d.req("GET", "/wamd/metrics", key=ADMIN)
        d.req("POST", "/wamd/metrics/reset", key=ADMIN)
        d.req("GET", "/health/live")
        d.req("GET", "/health/ready")
        d.req("DELETE", "/instance/logout/c1", key=ADMIN)
        d.req("DELETE", "/instance/delete/c1", key=ADMIN)
        st, routes = d.req("GET", "/docs")
        check(st == 200, "GET /docs")
        st, doc = d.req("GET", "/openapi.json")
        check(st == 200 and doc.get("openapi") == "3.1.0", "GET /openapi.json without a key")
        st, page = d.req("GET", "/openapi")
        page = page.decode() if isinstance(page, bytes) else str(page)
        check(st == 200 and "<html" in page and "fetch('openapi.json')" in page, "GET /openapi is the page")
        check(not re.search(r"(src|href)=\"(https?:)?//", page) and "import(" not in page,
              "the page loads nothing from another host")
    finally:
        d.stop()
    docf, routesf = os.path.join(tmp, "openapi.json"), os.path.join(tmp, "docs.json")
    json.dump(doc, open(docf, "w"))
    json.dump(routes, open(routesf, "w"))
    r = subprocess.run([node, os.path.join(HERE, "openapi", "contract.mjs"), docf, routesf,
                        os.path.join(ROOT, "daemon", "wamd_openapi.json"), rec], capture_output=True, text=True,
                       timeout=120)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr[-6000:])
    check(r.returncode == 0, "contract.mjs")
    pagef = os.path.join(tmp, "page.html")
    open(pagef, "w").write(page)
    r = subprocess.run([node, os.path.join(HERE, "openapi", "page.mjs"), pagef, docf], capture_output=True, text=True,
                       timeout=60)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr[-3000:])
    check(r.returncode == 0, "page.mjs: the page renders every operation")
    if wamd_e2e.FAILS:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

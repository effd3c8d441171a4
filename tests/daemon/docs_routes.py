#!/usr/bin/env python3
"""GET /docs (generated from the route table) and the route table of
docs/wamd.md list the same (method, path) pairs, so the documented API
cannot drift from what the daemon serves. Uses wamd_fakesession."""
import json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.environ.get('WA_SOURCE_ROOT') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def documented():
    text = open(os.path.join(ROOT, 'docs', 'wamd.md'), encoding='utf-8').read()
    table = text.split('| method | path | scope |', 1)[1].split('\n\n', 1)[0]
    out = set()
    for row in table.strip().split('\n')[1:]:
        cells = [c.strip() for c in row.strip('|').split('|')]
        methods = re.sub(r'\s*\(upgrade\)', '', cells[0])
        paths = []
        for path in re.findall(r'`([^`]+)`', cells[1]):
            path = path.split(' ')[0]  # "/wamd/token/{name}" before a body example
            if path.startswith('/'):
                path = re.sub(r'\{name\}|NAME', '{instance}', path)
                paths.append(re.sub(r'\[\?(?!instance=)[^\]]*\]', '', path))  # but the stream's
        ms = [m.strip() for m in re.split(r',\s*|\s+or\s+', methods)]
        if len(ms) > 1 and len(ms) == len(paths) and methods.count(',') == len(ms) - 1:
            out.update(zip(ms, paths))  # "POST, GET | /x/set, /x/find": one each
        else:
            out.update((m, path) for m in ms for path in paths)
    return out


def served(port):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/docs', timeout=10) as r:
        doc = json.load(r)
    out = set()
    for route in doc['routes']:
        methods = route['method'].replace(' (WebSocket upgrade)', '')
        for m in methods.split('|'):
            out.add((m, route['path']))
    return out


def main():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, WAMD_FAKE_DIR=data)
        p = subprocess.Popen([os.environ['WAMD_FAKE_BIN'], '--data', data, '--listen', f'127.0.0.1:{port}',
                              '--api-key', 'docs-routes-test-key-5d1e9a'],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    got = served(port)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                print('FAIL: wamd did not answer GET /docs')
                return 1
        finally:
            p.terminate()
            p.wait(timeout=10)
    want = documented()
    if got != want:
        for m, path in sorted(got - want):
            print(f'FAIL: served but not in docs/wamd.md: {m} {path}')
        for m, path in sorted(want - got):
            print(f'FAIL: in docs/wamd.md but not served: {m} {path}')
        return 1
    print(f'ok: {len(got)} routes, the same in GET /docs and docs/wamd.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""src/store/tools/sqlite_to_driver.py, the tool that converts SQLite-only
store code (other branches' table files and migrations) to the two-backend
form. Usage: store_convert.py TOOL FIXTURES_DIR MIGRATIONS_DIR

- old_style.c converts to converted.c (which the build compiles with
  -Werror), a second run changes nothing, and --check then passes;
- refused.c (a sqlite3_ call with no driver twin, INSERT OR IGNORE) is
  refused: exit 1, the file untouched, each problem named with its line;
- every SQLite migration whose PostgreSQL twin was written mechanically is
  reproduced byte for byte from a copy with its twin removed (the converted
  part, before the write fence some add: comments and fence triggers only,
  after it); a second run
  leaves the twin alone; 0002 (ids copied into an identity column) and
  0010-refused.sql (REAL, the same id copy, PRAGMA) are refused, no twin."""
import os
import shutil
import subprocess
import sys
import tempfile

tool, fixtures, migrations = sys.argv[1:4]
failed = 0


def fence_only(text):
    """text holds nothing but comments and CREATE TRIGGER ... wamd_fence() lines
    (the -cluster migrations add the function itself)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('--') and not (line.startswith('CREATE TRIGGER ') and
                                                        line.endswith('EXECUTE FUNCTION wamd_fence();')):
            return False
    return True


def check(cond, msg):
    global failed
    print(('ok - ' if cond else 'FAIL: ') + msg, flush=True)
    if not cond:
        failed += 1


def run(*args):
    p = subprocess.run([sys.executable, tool, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def body(path):
    with open(path, encoding='utf-8') as f:
        return f.read().split('\n', 1)[1]  # the first line is the file's own comment


tmp = tempfile.mkdtemp(prefix='wa_convert.')
try:
    c = os.path.join(tmp, 'widgets.c')
    shutil.copy(os.path.join(fixtures, 'old_style.c'), c)
    rc, out = run(c)
    check(rc == 0 and 'converted' in out, f'old_style.c converts ({rc}: {out.strip()})')
    check(body(c) == body(os.path.join(fixtures, 'converted.c')), 'the output is converted.c')
    with open(c, encoding='utf-8') as f:
        once = f.read()
    rc, out = run(c)
    with open(c, encoding='utf-8') as f:
        check(rc == 0 and f.read() == once, 'a second run changes nothing (idempotent)')
    rc, out = run('--check', c)
    check(rc == 0, f'--check passes on converted code ({out.strip()})')

    r = os.path.join(tmp, 'refused.c')
    shutil.copy(os.path.join(fixtures, 'refused.c'), r)
    with open(r, encoding='utf-8') as f:
        before = f.read()
    rc, out = run(r)
    with open(r, encoding='utf-8') as f:
        check(f.read() == before, 'refused.c is left untouched')
    check(rc == 1 and 'refused, nothing written' in out, f'refused.c is refused ({rc})')
    check('refused.c:16: sqlite3_bind_double has no mechanical driver equivalent' in out,
          'the unknown call is named with its line')
    check('refused.c:6: INSERT OR ...' in out, 'INSERT OR IGNORE is named with its line')

    m = os.path.join(tmp, 'migrations')
    os.makedirs(os.path.join(m, 'pg'))
    names = sorted(f for f in os.listdir(migrations) if f.endswith('.sql'))
    for n in names:
        shutil.copy(os.path.join(migrations, n), m)
    rc, out = run(*[os.path.join(m, n) for n in names])
    check(rc == 1 and 'rows copied with their ids into webhook_queue_v2' in out
          and not os.path.exists(os.path.join(m, 'pg', '0002-daemon.sql')),
          '0002-daemon.sql is refused (ids copied into an identity column), no twin')
    same = 0
    for n in names:
        twin = os.path.join(m, 'pg', n)
        if n.startswith(('0001', '0002')):
            continue  # written by hand (0001: comments reworded)
        with open(twin, encoding='utf-8') as a, open(os.path.join(migrations, 'pg', n), encoding='utf-8') as b:
            made, kept = a.read(), b.read()
            # the cluster twins add the write fence (a PostgreSQL function and
            # triggers) after the converted part; any other twin may add fence triggers
            ok = kept.startswith(made) and ('-cluster' in n or fence_only(kept[len(made):]))
        check(ok, f'pg/{n} is reproduced byte for byte')
        same += ok
    check(same >= 7, f'{same} twins reproduced')
    with open(os.path.join(m, 'pg', '0009-history.sql'), 'a', encoding='utf-8') as f:
        f.write('-- edited by hand\n')
    rc, out = run(os.path.join(m, '0009-history.sql'))
    with open(os.path.join(m, 'pg', '0009-history.sql'), encoding='utf-8') as f:
        check(rc == 0 and f.read().endswith('-- edited by hand\n'), 'an existing twin is never overwritten')

    bad = os.path.join(m, '0010-refused.sql')
    shutil.copy(os.path.join(fixtures, '0010-refused.sql'), bad)
    rc, out = run(bad)
    check(rc == 1 and not os.path.exists(os.path.join(m, 'pg', '0010-refused.sql')),
          f'0010-refused.sql is refused, no twin ({rc})')
    for what in ('0010-refused.sql:4: a type other than', '0010-refused.sql:6: rows copied with their ids',
                 '0010-refused.sql:7: PRAGMA'):
        check(what in out, f'names "{what}"')
    rc, out = run(os.path.join(m, 'pg', '0009-history.sql'))
    check(rc == 1 and 'not a pg/ twin' in out, 'a pg/ twin given as input is refused')
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)

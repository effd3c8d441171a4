#!/usr/bin/env python3
"""Runs store test programs against a private PostgreSQL server.

Usage: store_pg.py PROGRAM [ARGS...] [-- PROGRAM [ARGS...]]...

Starts one server for all of them: initdb in a fresh temp directory, postgres
listening on a unix socket there only (no TCP). Each program gets its own
database and finds it in WA_TEST_PG_URI (and the server's tools, psql, in
WA_TEST_PG_BINDIR). The e2e test wamd_pg runs under it too. Run as root (CI), initdb and postgres
run as the `postgres` system user of Debian's postgresql package, which owns
the temp directory; otherwise as the current user. A missing server is a
failure, not a skip: install it with scripts/install-deps --test.
The server runs with fsync=off (a test server's crash safety is not under
test; the store's own durability settings are checked in test_store)."""
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile


def pg_bindir():
    dirs = glob.glob('/usr/lib/postgresql/*/bin')
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, 'postgres'))]
    if not dirs:
        sys.exit('store_pg: no PostgreSQL server in /usr/lib/postgresql/*/bin'
                 ' (scripts/install-deps --test installs it)')
    return max(dirs, key=lambda d: [int(x) for x in d.split('/')[-2].split('.') if x.isdigit()])


def as_server_user(cmd):
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam('postgres')
    except KeyError:
        sys.exit('store_pg: running as root needs the postgres system user (Debian postgresql package)')
    return ['runuser', '-u', 'postgres', '--'] + cmd


def main():
    progs, cur = [], []
    for a in sys.argv[1:]:
        if a == '--':
            if cur:
                progs.append(cur)
            cur = []
        else:
            cur.append(a)
    if cur:
        progs.append(cur)
    if not progs:
        sys.exit(__doc__)
    bindir = pg_bindir()
    tmp = tempfile.mkdtemp(prefix='wa_pg.')
    data = os.path.join(tmp, 'data')
    if os.geteuid() == 0:
        pw = pwd.getpwnam('postgres')
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.chmod(tmp, 0o755)
    started = False
    failed = 0
    try:
        subprocess.run(as_server_user([os.path.join(bindir, 'initdb'), '-D', data, '--no-locale', '-E', 'UTF8',
                                       '-A', 'trust', '-U', 'postgres', '--no-sync']),
                       check=True, stdout=subprocess.DEVNULL, cwd='/')
        opts = f"-k {tmp} -c listen_addresses= -c fsync=off -c full_page_writes=off -c max_connections=40"
        subprocess.run(as_server_user([os.path.join(bindir, 'pg_ctl'), '-D', data, '-o', opts,
                                       '-l', os.path.join(tmp, 'log'), '-w', 'start']),
                       check=True, stdout=subprocess.DEVNULL, cwd='/')
        started = True
        base = f'postgresql:///{{db}}?host={tmp}&user=postgres'
        for i, prog in enumerate(progs):
            db = f'wa_test_{i}'
            subprocess.run([os.path.join(bindir, 'psql'), '-q', '-h', tmp, '-U', 'postgres', '-d', 'postgres',
                            '-c', f'CREATE DATABASE {db}'], check=True)
            env = dict(os.environ, WA_TEST_PG_URI=base.format(db=db), WA_TEST_PG_BINDIR=bindir)
            name = os.path.basename(prog[0])
            print(f'== {name} on PostgreSQL', flush=True)
            rc = subprocess.run(prog, env=env).returncode
            if rc != 0:
                print(f'== {name}: exit status {rc}', flush=True)
                failed += 1
    except subprocess.CalledProcessError as e:
        print(f'store_pg: {e}', flush=True)
        log = os.path.join(tmp, 'log')
        if os.path.exists(log):
            sys.stdout.write(open(log, encoding='utf-8', errors='replace').read()[-4000:])
        failed += 1
    finally:
        if started:
            subprocess.run(as_server_user([os.path.join(bindir, 'pg_ctl'), '-D', data, '-m', 'immediate',
                                           '-w', 'stop']), stdout=subprocess.DEVNULL, cwd='/')
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Converts src/store code written for SQLite alone to the two-backend form:
table code from sqlite3_* calls to the driver API of src/store/db_driver.h,
and a SQLite migration to its PostgreSQL twin under migrations/pg/.

Usage:
  sqlite_to_driver.py [--check] [--force] FILE.c...
  sqlite_to_driver.py [--check] FILE.sql...   (src/store/migrations/NNNN-name.sql)

FILE.c: rewrites the calls in place (sqlite3_stmt -> wa_stmt,
sqlite3_bind_* -> wa_stmt_bind_*, sqlite3_column_* -> wa_stmt_col_*,
SQLITE_ROW/DONE -> WA_DB_ROW/DONE, sqlite3_changes(st->db) ->
wa_store_changes(st), ...) and lints every string literal for SQL that
PostgreSQL refuses (INSERT OR REPLACE/IGNORE, rowid, SQLite-only functions,
two-argument max()...).
FILE.sql: writes migrations/pg/NNNN-name.sql next to it (INTEGER -> BIGINT,
BLOB -> BYTEA, an INTEGER PRIMARY KEY id -> an identity column, WITHOUT ROWID
dropped). A twin that already exists is left alone (never overwritten).

Idempotent: converted code has nothing left to rewrite, and a second run
writes the same twin. A file that needs a hand is REFUSED: nothing is written
for it, each problem is listed with its line and what to write instead
(src/store/README.md, "Writing store code for both backends"), and the exit
status is 1; fix those lines (in the old style is fine) and run again.
--force writes the partial conversion of a refused .c file anyway (exit 1).
--check writes nothing; exit 1 if a file would change or needs a hand.

Not caught here (PostgreSQL finds them when it prepares): a parameter whose
type it cannot infer (write CAST(?N AS BIGINT) or AS TEXT) and an unqualified
column next to excluded.* in ON CONFLICT DO UPDATE. After converting, run
tools/pg_prepare_all.py and the store_pg tests."""
import os
import re
import sys


def split_args(text, start):
    """text[start] is just after '('; returns (args, index after ')')."""
    depth, i, cur, args, quote = 0, start, [], [], None
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == '\\':
                cur.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in '"\'':
            quote = c
            cur.append(c)
        elif c == '(':
            depth += 1
            cur.append(c)
        elif c == ')':
            if depth == 0:
                args.append(''.join(cur).strip())
                return args, i + 1
            depth -= 1
            cur.append(c)
        elif c == ',' and depth == 0:
            args.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    raise ValueError('unbalanced parentheses')


def rewrite_calls(text, name, fn, keep_lines=False):
    """Replaces every call name(args) by fn(args) (a string, or None to keep);
    keep_lines: a call over several lines leaves its line breaks after it."""
    out, pos = [], 0
    pat = re.compile(r'\b' + re.escape(name) + r'\s*\(')
    while True:
        m = pat.search(text, pos)
        if not m:
            out.append(text[pos:])
            return ''.join(out)
        args, end = split_args(text, m.end())
        rep = fn(args)
        out.append(text[pos:m.start()])
        old = text[m.start():end]
        out.append(old if rep is None else rep + ('\n' * old.count('\n') if keep_lines else ''))
        pos = end


def strip_int_cast(expr):
    e = expr.strip()
    if e.startswith('(int)'):
        return e[len('(int)'):].strip()
    return e


def bind_text(a):
    if len(a) != 5 or a[4] not in ('SQLITE_STATIC', 'SQLITE_TRANSIENT'):
        return None
    copy = '_copy' if a[4] == 'SQLITE_TRANSIENT' else ''
    if a[3] == '-1':
        return f'wa_stmt_bind_text{copy}({a[0]}, {a[1]}, {a[2]})'
    n = a[3] if a[3].startswith('(int)') else f'(int)({a[3]})' if not re.fullmatch(r'[\w>.-]+', a[3]) else a[3]
    return f'wa_stmt_bind_text_n{copy}({a[0]}, {a[1]}, {a[2]}, {n})'


def bind_blob(a):
    if len(a) != 5 or a[4] not in ('SQLITE_STATIC', 'SQLITE_TRANSIENT'):
        return None
    fn = 'wa_stmt_bind_blob' if a[4] == 'SQLITE_STATIC' else 'wa_stmt_bind_blob_copy'
    n = strip_int_cast(a[3])
    return f'{fn}({a[0]}, {a[1]}, {a[2]}, (size_t)({n}))' if not re.fullmatch(r'[\w>.-]+', n) \
        else f'{fn}({a[0]}, {a[1]}, {a[2]}, {n})'


def db_of_store(arg, fn):
    m = re.fullmatch(r'(\w+)->db', arg)
    return f'{fn}({m.group(1)})' if m else None


SIMPLE = [
    (r'\bsqlite3_stmt\b', 'wa_stmt'),
    (r'\bsqlite3_bind_int64\s*\(', 'wa_stmt_bind_i64('),
    (r'\bsqlite3_bind_int\s*\(', 'wa_stmt_bind_i64('),
    (r'\bsqlite3_bind_null\s*\(', 'wa_stmt_bind_null('),
    (r'\bsqlite3_step\s*\(', 'wa_stmt_step('),
    (r'\bsqlite3_reset\s*\(', 'wa_stmt_reset('),
    (r'\bsqlite3_clear_bindings\s*\(', 'wa_stmt_reset('),
    (r'\bsqlite3_column_int64\s*\(', 'wa_stmt_col_i64('),
    (r'\bsqlite3_column_int\s*\(', 'wa_stmt_col_int('),
    (r'\bconst unsigned char \*(\s*\w+\s*=\s*)sqlite3_column_text\s*\(', r'const char *\1wa_stmt_col_text('),
    (r'\(const char \*\)\s*sqlite3_column_text\s*\(', 'wa_stmt_col_text('),
    (r'\(const unsigned char \*\)\s*sqlite3_column_text\s*\(', '(const unsigned char *)wa_stmt_col_text('),
    (r'\bsqlite3_column_text\s*\(', 'wa_stmt_col_text('),
    (r'\bsqlite3_column_blob\s*\(', 'wa_stmt_col_blob('),
    (r'\bsqlite3_column_bytes\s*\(', 'wa_stmt_col_bytes('),
    (r'\bSQLITE_ROW\b', 'WA_DB_ROW'),
    (r'\bSQLITE_DONE\b', 'WA_DB_DONE'),
    (r'\bSQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)\b', 'WA_DB_UNIQUE'),
    (r'\bSQLITE_OK\b', '0'),
    (r'^#include <sqlite3\.h>\n', ''),
]

# SQL only SQLite accepts (checked inside string literals).
SQL_LINT = [
    (r'\bINSERT\s+OR\s+(REPLACE|IGNORE)\b', 'INSERT OR ...: use INSERT ... ON CONFLICT (cols) DO UPDATE/NOTHING'),
    (r'\bREPLACE\s+INTO\b', 'REPLACE INTO: use INSERT ... ON CONFLICT (cols) DO UPDATE'),
    (r'\b(rowid|_rowid_|oid)\b', 'rowid: use the table\'s INTEGER PRIMARY KEY column'),
    (r'\blast_insert_rowid\s*\(|\bchanges\s*\(', 'SQL function: use wa_store_last_insert_id / wa_store_changes'),
    (r'\bLIMIT\s+-1\b', 'LIMIT -1: PostgreSQL refuses a negative limit'),
    (r"\b[xX]'[0-9a-fA-F]*'", "blob literal x'..': bind the bytes instead"),
    (r'\b(typeof|instr|ifnull|char|group_concat|printf|unixepoch|strftime|julianday|total)\s*\(',
     'SQLite-only function'),
    (r'\bmax\s*\([^()]*,|\bmin\s*\([^()]*,', 'two-argument max()/min(): use CASE WHEN (GREATEST/LEAST are PostgreSQL only)'),
    (r'\bCOLLATE\s+NOCASE\b|\bGLOB\b', 'SQLite-only collation/operator'),
    (r'\bPRAGMA\b', 'PRAGMA: backend-specific, belongs in a driver'),
    (r'\bWITHOUT\s+ROWID\b|\bAUTOINCREMENT\b', 'schema syntax belongs in migrations'),
]


def convert(text, keep_lines=False):
    """keep_lines: every line stays where it was (for lint's line numbers)."""
    text = rewrite_calls(text, 'sqlite3_bind_text', bind_text, keep_lines)
    text = rewrite_calls(text, 'sqlite3_bind_blob', bind_blob, keep_lines)
    text = rewrite_calls(text, 'sqlite3_changes', lambda a: db_of_store(a[0], 'wa_store_changes'), keep_lines)
    text = rewrite_calls(text, 'sqlite3_last_insert_rowid', lambda a: db_of_store(a[0], 'wa_store_last_insert_id'), keep_lines)
    text = rewrite_calls(text, 'sqlite3_errmsg', lambda a: db_of_store(a[0], 'wa_store_errmsg'), keep_lines)
    text = re.sub(r'\bsqlite3_column_type\s*\(([^()]*)\)\s*==\s*SQLITE_NULL', r'wa_stmt_col_null(\1)', text)
    text = re.sub(r'\bsqlite3_column_type\s*\(([^()]*)\)\s*!=\s*SQLITE_NULL', r'!wa_stmt_col_null(\1)', text)
    for pat, rep in SIMPLE:
        text = re.sub(pat, '\n' if keep_lines and rep == '' else rep, text, flags=re.M)
    return text


def string_literals(text):
    """Yields (line number, contents) of each C string literal."""
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        yield text.count('\n', 0, m.start()) + 1, m.group(1)


def lint(path, text):
    problems = []
    for i, line in enumerate(text.splitlines(), 1):
        code = line.split('//')[0]
        for m in re.finditer(r'\b(sqlite3_\w+|SQLITE_\w+)', code):
            problems.append(f'{path}:{i}: {m.group(1)} has no mechanical driver equivalent')
    for ln, s in string_literals(text):
        for pat, why in SQL_LINT:
            if re.search(pat, s, flags=re.I):
                problems.append(f'{path}:{ln}: {why}: "{s.strip()[:70]}"')
    return problems


# --- migrations ---

MIG_REFUSE = [
    (r'\bPRAGMA\b', 'PRAGMA: backend-specific; the PostgreSQL twin needs its own statement or none'),
    (r'\bINSERT\s+OR\s+(REPLACE|IGNORE)\b|\bREPLACE\s+INTO\b',
     'INSERT OR ...: use INSERT ... ON CONFLICT (cols) DO UPDATE/NOTHING in both files'),
    (r'\b(rowid|_rowid_|oid)\b', 'rowid: name the INTEGER PRIMARY KEY column'),
    (r'\b(typeof|instr|ifnull|char|group_concat|printf|unixepoch|strftime|julianday|total|'
     r'last_insert_rowid|changes)\s*\(', 'SQLite-only function'),
    (r'\bCOLLATE\s+NOCASE\b|\bGLOB\b', 'SQLite-only collation/operator'),
    (r'\bREAL\b|\bNUMERIC\b|\bDATETIME\b|\bBOOLEAN\b', 'a type other than INTEGER, TEXT, BLOB: choose its PostgreSQL type'),
    (r"\b[xX]'[0-9a-fA-F]*'", "blob literal x'..': write '\\x..'::bytea in the twin"),
    (r'\bCREATE\s+(TEMP|TEMPORARY|VIRTUAL)\b|\bCREATE\s+TRIGGER\b', 'temporary/virtual tables and triggers differ per backend'),
]


def strip_sql_comments(sql):
    """The SQL with -- comments blanked (string literals kept), same line numbers."""
    out, i, quote = [], 0, False
    while i < len(sql):
        c = sql[i]
        if quote:
            out.append(c)
            if c == "'":
                quote = False
        elif c == "'":
            quote = True
            out.append(c)
        elif sql.startswith('--', i):
            j = sql.find('\n', i)
            j = len(sql) if j < 0 else j
            out.append(' ' * (j - i))
            i = j
            continue
        else:
            out.append(c)
        i += 1
    return ''.join(out)


def migration_problems(path, sql):
    code = strip_sql_comments(sql)
    problems = []
    for i, line in enumerate(code.splitlines(), 1):
        line = re.sub(r'\)\s*WITHOUT\s+ROWID\b', ')', line, flags=re.I)  # the twin drops it
        for pat, why in MIG_REFUSE:
            if re.search(pat, line, flags=re.I):
                problems.append(f'{path}:{i}: {why}: "{line.strip()[:70]}"')
    # rows copied with their ids into a table whose id becomes an identity:
    # PostgreSQL's sequence would then hand out those ids again
    for m in re.finditer(r'\bINSERT\s+INTO\s+(\w+)\s*\(\s*id\b[^;]*?\bSELECT\b', code, flags=re.I | re.S):
        ln = code.count('\n', 0, m.start()) + 1
        problems.append(f'{path}:{ln}: rows copied with their ids into {m.group(1)}: the twin must also move'
                        f" its identity past them (SELECT setval(pg_get_serial_sequence('{m.group(1)}', 'id'),"
                        ' coalesce(max(id), 0) + 1, false) FROM ...)')
    return problems


def migration_twin(name, sql):
    t = sql
    # an INTEGER PRIMARY KEY that references another table is a key, not a generated id
    t = re.sub(r'\bINTEGER(\s+PRIMARY\s+KEY\s+REFERENCES)\b', r'BIGINT\1', t, flags=re.I)
    t = re.sub(r'\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b',
               'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY', t, flags=re.I)
    t = re.sub(r'\bINTEGER\b', 'BIGINT', t)
    t = re.sub(r'\bBLOB\b', 'BYTEA', t)
    t = re.sub(r'\)\s*WITHOUT\s+ROWID\b', ')', t, flags=re.I)
    return (f'-- PostgreSQL twin of {name} (same number and name; types: BIGINT, BYTEA,\n'
            '-- identity columns for the SQLite INTEGER PRIMARY KEY ids).\n' + t)


def convert_migration(path, check):
    """Returns True when all is well."""
    name = os.path.basename(path)
    if not re.fullmatch(r'\d{4}-[a-z0-9_-]+\.sql', name) or os.path.basename(os.path.dirname(os.path.abspath(path))) == 'pg':
        print(f'{path}: refused: give a SQLite migration, migrations/NNNN-name.sql (not a pg/ twin)')
        return False
    with open(path, encoding='utf-8') as f:
        sql = f.read()
    out = os.path.join(os.path.dirname(path), 'pg', name)
    if os.path.exists(out):
        # a twin written by hand (or by an earlier run) is never overwritten
        return True
    problems = migration_problems(path, sql)
    if problems:
        for p in problems:
            print(p)
        print(f'{path}: refused, no twin written: write {out} by hand (see above)')
        return False
    twin = migration_twin(name, sql)
    if check:
        print(f'{out}: missing')
        return False
    with open(out, 'w', encoding='utf-8') as f:
        f.write(twin)
    print(f'{out}: written')
    return True


def main():
    args = sys.argv[1:]
    check = '--check' in args
    force = '--force' in args
    args = [a for a in args if a not in ('--check', '--force')]
    if not args or any(a.startswith('-') for a in args):
        sys.exit(__doc__)
    bad = False
    for path in args:
        if path.endswith('.sql'):
            bad |= not convert_migration(path, check)
            continue
        if not path.endswith(('.c', '.h')):
            print(f'{path}: refused: only C table code (.c, .h) and SQLite migrations (.sql)')
            bad = True
            continue
        with open(path, encoding='utf-8') as f:
            old = f.read()
        new = convert(old)
        problems = lint(path, convert(old, keep_lines=True))  # line numbers of the file as it is
        for p in problems:
            print(p)
        if problems:
            bad = True
        if new != old:
            if check:
                print(f'{path}: not converted')
                bad = True
            elif problems and not force:
                print(f'{path}: refused, nothing written: fix the lines above by hand, then run again'
                      ' (--force writes the partial conversion)')
            else:
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(new)
                print(f'{path}: converted' + (' (partially: see above)' if problems else ''))
        elif problems:
            print(f'{path}: needs a hand (see above)')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()

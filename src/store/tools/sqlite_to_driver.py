#!/usr/bin/env python3
"""Converts src/store table code written against sqlite3_* to the driver API
of src/store/db_driver.h, and lints the SQL for what PostgreSQL refuses.

Usage: sqlite_to_driver.py [--check] FILE.c...

Rewrites each file in place (idempotent: converted code has nothing left to
rewrite). Exit status 1 when something needs a hand: a sqlite3_ call with no
driver equivalent, or SQL that only SQLite accepts (listed with line numbers;
see src/store/README.md, "SQL for both backends"). --check rewrites nothing
and exits 1 if a file would change or needs a hand."""
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


def rewrite_calls(text, name, fn):
    """Replaces every call name(args) by fn(args) (a string, or None to keep)."""
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
        out.append(text[m.start():end] if rep is None else rep)
        pos = end


def strip_int_cast(expr):
    e = expr.strip()
    if e.startswith('(int)'):
        return e[len('(int)'):].strip()
    return e


def bind_text(a):
    if len(a) != 5 or a[3] != '-1' or a[4] not in ('SQLITE_STATIC', 'SQLITE_TRANSIENT'):
        return None
    fn = 'wa_stmt_bind_text' if a[4] == 'SQLITE_STATIC' else 'wa_stmt_bind_text_copy'
    return f'{fn}({a[0]}, {a[1]}, {a[2]})'


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


def convert(text):
    text = rewrite_calls(text, 'sqlite3_bind_text', bind_text)
    text = rewrite_calls(text, 'sqlite3_bind_blob', bind_blob)
    text = rewrite_calls(text, 'sqlite3_changes', lambda a: db_of_store(a[0], 'wa_store_changes'))
    text = rewrite_calls(text, 'sqlite3_last_insert_rowid', lambda a: db_of_store(a[0], 'wa_store_last_insert_id'))
    text = rewrite_calls(text, 'sqlite3_errmsg', lambda a: db_of_store(a[0], 'wa_store_errmsg'))
    text = re.sub(r'\bsqlite3_column_type\s*\(([^()]*)\)\s*==\s*SQLITE_NULL', r'wa_stmt_col_null(\1)', text)
    text = re.sub(r'\bsqlite3_column_type\s*\(([^()]*)\)\s*!=\s*SQLITE_NULL', r'!wa_stmt_col_null(\1)', text)
    for pat, rep in SIMPLE:
        text = re.sub(pat, rep, text, flags=re.M)
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


def main():
    args = sys.argv[1:]
    check = bool(args) and args[0] == '--check'
    if check:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    bad = False
    for path in args:
        with open(path, encoding='utf-8') as f:
            old = f.read()
        new = convert(old)
        if new != old:
            if check:
                print(f'{path}: not converted')
                bad = True
            else:
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(new)
                print(f'{path}: converted')
        for p in lint(path, new):
            print(p)
            bad = True
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()

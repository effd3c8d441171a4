#!/usr/bin/env python3
"""Prints a PREPARE for every static SQL string of the given src/store files
(?N as $N, string macros expanded), for psql against a database migrated to
the current PostgreSQL schema: every statement must prepare, which catches
parameters whose type PostgreSQL cannot infer (write CAST(?N AS TEXT) or
BIGINT), parameters it types as 32-bit integer, and SQL it does not accept.

Usage: pg_prepare_all.py FILE.c... | psql -v ON_ERROR_STOP=0 -d DB 2>&1 | grep ERROR"""
import re
import sys

LIT = r'"(?:[^"\\]|\\.)*"'


def literals(text):
    return ''.join(m[1:-1] for m in re.findall(LIT, text))


def main():
    n = 0
    for path in sys.argv[1:]:
        src = open(path, encoding='utf-8').read()
        macros = {m.group(1): literals(m.group(2)) for m in
                  re.finditer(r'#define (\w+)\s*\\?\s*((?:' + LIT + r'\s*\\?\s*)+)', src)}
        for m in re.finditer(r'static const char (sql_\w+)\[\] =\s*((?:' + LIT + r'\s*|\w+\s*)+);', src):
            body = ''
            for tok in re.findall(LIT + r'|\w+', m.group(2)):
                body += tok[1:-1] if tok.startswith('"') else macros.get(tok, '')
            body = body.replace('\\n', '\n').replace('\\"', '"')
            n += 1
            body = re.sub(r'[?](\d+)', r'$\1', body)
            print(f'PREPARE p{n} AS {body}; -- {path} {m.group(1)}')
    # values are bound as 64-bit integers: a parameter PostgreSQL typed as
    # integer (it met only a literal, as in coalesce(?N, 0)) overflows
    print("SELECT 'ERROR: int4 parameter: ' || statement FROM pg_prepared_statements"
          " WHERE 'integer'::regtype = ANY(parameter_types) OR 'smallint'::regtype = ANY(parameter_types);")
    print(f'-- {n} statements', file=sys.stderr)


if __name__ == '__main__':
    main()

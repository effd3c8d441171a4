-- Cluster mode: the pacing tables (held and scheduled sends, bulk jobs)
-- join the fenced tables (the PostgreSQL twin's triggers; a SQLite store
-- is one process's file).
-- wamd_leases.conn_state: the owner's connection state of the instance as
-- the API names it ('open', 'connecting', 'close'), written by the owner
-- at each change, so that any node answers reads of it.
ALTER TABLE wamd_leases ADD COLUMN conn_state TEXT NOT NULL DEFAULT '';

-- PostgreSQL twin of 0013-cluster-pace.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- Cluster mode: the pacing tables (held and scheduled sends, bulk jobs)
-- join the fenced tables (the PostgreSQL twin's triggers; a SQLite store
-- is one process's file).
-- wamd_leases.conn_state: the owner's connection state of the instance as
-- the API names it ('open', 'connecting', 'close'), written by the owner
-- at each change, so that any node answers reads of it.
ALTER TABLE wamd_leases ADD COLUMN conn_state TEXT NOT NULL DEFAULT '';
-- The write fence (PostgreSQL only; a SQLite store is one process's file):
-- wamd_pace: every insert and update, and the delete of a held send (a
-- cancel); any node's prune removes the old rows of sends that left
-- (state 1) of every instance, as the expiry of message records does.
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON wamd_pace FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence_held BEFORE DELETE ON wamd_pace FOR EACH ROW WHEN (OLD.state = 0) EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON wamd_pace_jobs FOR EACH ROW EXECUTE FUNCTION wamd_fence();

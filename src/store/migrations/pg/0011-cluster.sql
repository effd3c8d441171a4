-- PostgreSQL twin of 0011-cluster.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- Cluster mode (several wamd nodes on one PostgreSQL store). The tables
-- exist on SQLite too so both schemas stay alike, but only PostgreSQL uses
-- them: a SQLite store is one process's file, and wamd refuses cluster
-- options with it.
-- wamd_leases: which node drives an instance. owner_token names one run of
-- one node (it changes at every start); epoch grows by one at every change
-- of owner and never goes down; expires_at is the database's clock in ms.
-- A row with expires_at in the past is free for any node to take.
CREATE TABLE wamd_leases (
	instance_id BIGINT PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
	owner_node TEXT NOT NULL DEFAULT '',
	owner_token TEXT NOT NULL DEFAULT '',
	epoch BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wamd_leases_owner ON wamd_leases (owner_token);
-- wamd_nodes: the live nodes (a heartbeat row per run), so each node takes
-- its fair share of the free leases.
CREATE TABLE wamd_nodes (
	token TEXT PRIMARY KEY,
	node_id TEXT NOT NULL,
	started_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- Fencing (PostgreSQL only). Every row written to the tables below names
-- its instance; when that instance has a lease row, the write is refused
-- (SQLSTATE WF001, the transaction aborts) unless this connection's
-- wamd.owner_token (set by a cluster node when it joins) holds the lease
-- and the lease has not expired by the database's clock. The lease row is
-- read FOR SHARE, so a takeover (an UPDATE of that row) waits for a write
-- in flight to commit, and a write after the takeover sees the new owner.
-- Instances without a lease row (a store never run in cluster mode) are
-- not affected. Any node's expiry removes the due message records of every
-- instance (wamd_messages and their messages copies): only inserts and
-- updates of those two tables are fenced.
CREATE FUNCTION wamd_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	iid BIGINT;
	tok TEXT;
	exp BIGINT;
BEGIN
	IF TG_OP = 'DELETE' THEN
		iid := OLD.instance_id;
	ELSE
		iid := NEW.instance_id;
	END IF;
	SELECT owner_token, expires_at INTO tok, exp FROM wamd_leases WHERE instance_id = iid FOR SHARE;
	IF FOUND AND (tok IS DISTINCT FROM current_setting('wamd.owner_token', true)
	    OR exp <= CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)) THEN
		RAISE EXCEPTION 'instance % is not leased to this node (fenced)', iid USING ERRCODE = 'WF001';
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON creds FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON identity_keys FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON prekeys FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON signed_prekeys FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON sender_keys FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON group_sk_holders FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON app_state_keys FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON app_state_versions FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON app_state_mutations FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON webhook_queue FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE OR DELETE ON history_pending FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION wamd_fence();
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON wamd_messages FOR EACH ROW EXECUTE FUNCTION wamd_fence();

-- Cluster mode (several wamd nodes on one PostgreSQL store). The tables
-- exist on SQLite too so both schemas stay alike, but only PostgreSQL uses
-- them: a SQLite store is one process's file, and wamd refuses cluster
-- options with it.
-- wamd_leases: which node drives an instance. owner_token names one run of
-- one node (it changes at every start); epoch grows by one at every change
-- of owner and never goes down; expires_at is the database's clock in ms.
-- A row with expires_at in the past is free for any node to take.
CREATE TABLE wamd_leases (
	instance_id INTEGER PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
	owner_node TEXT NOT NULL DEFAULT '',
	owner_token TEXT NOT NULL DEFAULT '',
	epoch INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX wamd_leases_owner ON wamd_leases (owner_token);
-- wamd_nodes: the live nodes (a heartbeat row per run), so each node takes
-- its fair share of the free leases.
CREATE TABLE wamd_nodes (
	token TEXT PRIMARY KEY,
	node_id TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);

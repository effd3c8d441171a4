-- Cluster mode: sends any node accepts for an instance another node drives.
-- The accepting node writes the send here (its message id chosen and
-- answered already) and wakes the nodes with NOTIFY; the instance's owner
-- moves the row into its own pacing queue and deletes it in one
-- transaction, so the send is queued exactly once, and a row the owner
-- did not move (it died) is moved by the next owner. Only PostgreSQL uses
-- it (a SQLite store is one process's file).
CREATE TABLE wamd_relay (
	seq INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	key_id TEXT NOT NULL,
	jid TEXT NOT NULL,
	send_at INTEGER NOT NULL DEFAULT 0,
	payload TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX wamd_relay_instance ON wamd_relay (instance_id, seq);

-- 0016: our own app-state mutations not yet confirmed by the server, kept
-- from the moment they are accepted until the server has applied them (or
-- refused them for good), so that a restart or a crash in between sends
-- each exactly once: the IV is kept with it, so a re-encoding carries the
-- same value MAC and one the server already took is recognised in the
-- fetched state instead of being sent again. id: queue order.
CREATE TABLE app_state_pending (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	index_json TEXT NOT NULL,
	value BLOB NOT NULL,
	api_version INTEGER NOT NULL,
	iv BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX app_state_pending_instance ON app_state_pending (instance_id, id);

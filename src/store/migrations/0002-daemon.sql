-- 0002: tables owned by wamd (the daemon), not by the session engine.
-- wamd_instance_meta: one sealed JSON document per instance (API token
-- hashes, webhook config and secret, settings, Evolution instance uuid).
CREATE TABLE wamd_instance_meta (
	instance_id INTEGER PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
	doc BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);

-- webhook_queue (0001) is rebuilt: ids become AUTOINCREMENT because they
-- are the X-Wamd-Event-Id receivers de-duplicate on, so they must never be
-- reused after the queue drains; and a delivery target is added: 0 = the
-- instance's own webhook, 1 = the global one. Each (instance, target) is a FIFO.
CREATE TABLE webhook_queue_v2 (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	target INTEGER NOT NULL DEFAULT 0,
	event TEXT NOT NULL,
	payload BLOB NOT NULL,
	state INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
INSERT INTO webhook_queue_v2 (id, instance_id, event, payload, state, attempts, next_attempt_at, created_at)
	SELECT id, instance_id, event, payload, state, attempts, next_attempt_at, created_at FROM webhook_queue;
DROP TABLE webhook_queue;
ALTER TABLE webhook_queue_v2 RENAME TO webhook_queue;
CREATE INDEX webhook_queue_due ON webhook_queue (state, next_attempt_at);
CREATE INDEX webhook_queue_instance ON webhook_queue (instance_id);
CREATE INDEX webhook_queue_head ON webhook_queue (instance_id, target, state, id);

-- wamd_messages: the Evolution-style message records the API searches
-- (findMessages / findChats). record is the sealed JSON record.
CREATE TABLE wamd_messages (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	key_id TEXT NOT NULL,
	remote_jid TEXT NOT NULL,
	remote_lid TEXT,
	from_me INTEGER NOT NULL,
	message_type TEXT NOT NULL,
	ts INTEGER NOT NULL,
	status INTEGER NOT NULL,
	record BLOB NOT NULL,
	UNIQUE (instance_id, key_id, from_me)
);
CREATE INDEX wamd_messages_chat ON wamd_messages (instance_id, remote_jid, ts);
CREATE INDEX wamd_messages_lid ON wamd_messages (instance_id, remote_lid, ts);

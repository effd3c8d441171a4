-- wamd_pace: wamd's paced sends. A row is a send the pacing limits held
-- back (state 0, with its sealed request payload) or one that has left
-- (state 1, payload dropped, kept a day so that the sliding windows are
-- rebuilt after a restart). key_id is the message id the API answered
-- with at enqueue time; first = 1 for a number the instance had never
-- talked to.
CREATE TABLE wamd_pace (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	key_id TEXT NOT NULL,
	jid TEXT NOT NULL,
	first INTEGER NOT NULL,
	state INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	not_before INTEGER NOT NULL,
	sent_at INTEGER NOT NULL DEFAULT 0,
	job TEXT,
	payload BLOB
);
CREATE INDEX wamd_pace_instance ON wamd_pace (instance_id, state, seq);
CREATE INDEX wamd_pace_jid ON wamd_pace (instance_id, jid);
CREATE INDEX wamd_pace_sent ON wamd_pace (state, sent_at);

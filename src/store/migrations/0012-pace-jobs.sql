-- wamd_pace by message id: a held send is cancelled by the id its answer
-- carried, and the start-up sweep of held media files asks whether a row
-- still names one (its file is named after that id).
CREATE INDEX wamd_pace_key ON wamd_pace (instance_id, key_id);
-- Bulk jobs: one template, a list of recipients with variables (spec:
-- sealed JSON), fed to the instance's pacing queue one message at a time.
-- state 0 running, 1 paused, 2 cancelled, 3 done; next_index: recipients
-- handed to the queue so far; inflight: the key_id of the job's message
-- waiting in wamd_pace ('' when none).
CREATE TABLE wamd_pace_jobs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	job_key TEXT NOT NULL,
	state INTEGER NOT NULL,
	total INTEGER NOT NULL,
	next_index INTEGER NOT NULL,
	sent INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	inflight TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	not_before INTEGER NOT NULL,
	spec BLOB NOT NULL
);
CREATE INDEX wamd_pace_jobs_instance ON wamd_pace_jobs (instance_id, id);

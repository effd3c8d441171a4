-- A bulk job's recipients, one row each (idx: its place in the list;
-- variables: sealed JSON), so that a running job reads them a page at a
-- time instead of holding its whole list in memory. Jobs stored before
-- this keep their recipients in the spec.
CREATE TABLE wamd_pace_job_rcpt (
	job_id INTEGER NOT NULL REFERENCES wamd_pace_jobs(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	jid TEXT NOT NULL,
	variables BLOB NOT NULL,
	PRIMARY KEY (job_id, idx)
);

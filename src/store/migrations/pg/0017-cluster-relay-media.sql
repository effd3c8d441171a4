-- PostgreSQL twin of 0017-cluster-relay-media.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- Cluster mode: the file of a media send a node accepted for an instance
-- another node drives, in parts of at most 1 MiB, written in the
-- transaction that writes its wamd_relay row. The owner copies the parts
-- to its own disk and deletes the row, which takes these with it. Only
-- PostgreSQL uses it.
CREATE TABLE wamd_relay_media (
	seq BIGINT NOT NULL REFERENCES wamd_relay(seq) ON DELETE CASCADE,
	part BIGINT NOT NULL,
	data BYTEA NOT NULL,
	PRIMARY KEY (seq, part)
);
